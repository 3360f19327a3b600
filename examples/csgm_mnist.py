r"""CSGM vs Lasso on MNIST (Bora et al. 2017, Fig. 1a).

Held-out MNIST digits :math:`x\in[0,1]^{784}` are measured as :math:`y = Ax + \eta` with
:math:`A_{ij}\sim\mathcal{N}(0, 1/m)` and :math:`\eta\sim\mathcal{N}(0, 0.1^2 I)`, for
:math:`m\in\{10, \dots, 750\}`, and recovered by

* CSGM: :math:`\hat x = G(\arg\min_z\|AG(z)-y\|^2 + \lambda\|z\|^2)` with the trained DCGAN;
* Lasso on pixels: :math:`\arg\min_x \tfrac1{2m}\|Ax-y\|^2 + \alpha\|x\|_1`;
* Lasso on the 2-D DCT: :math:`x = \Psi c`, :math:`\arg\min_c \tfrac1{2m}\|A\Psi c-y\|^2 + \alpha\|c\|_1`.

Lasso's :math:`\alpha` is chosen per :math:`m` on separate validation digits (best MSE on a grid);
its output is clipped to [0, 1]. Writes a Markdown table, a JSON file and a PNG plot of the
per-pixel MSE (mean ± standard error over the test digits) against :math:`m`.

    python examples/csgm_mnist.py --generator runs/dcgan-mnist/best.pt --out docs/figures
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.fft
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from invgan.data.digits import load_digits
from invgan.nets.generators import load_generator
from invgan.physics import make_physics
from invgan.solvers import LatentSearchConfig, latent_search

M_VALUES = (10, 25, 50, 100, 200, 300, 400, 500, 750)
ALPHAS = tuple(float(a) for a in np.logspace(-6, -1, 11))


def dct_basis(h: int, w: int) -> np.ndarray:
    r""":math:`\Psi` with columns the orthonormal 2-D DCT-II atoms (:math:`x = \Psi c`)."""
    eye = np.eye(h * w).reshape(h * w, h, w)
    return scipy.fft.idctn(eye, axes=(1, 2), norm="ortho").reshape(h * w, h * w).T


def lasso(A: np.ndarray, y: np.ndarray, alpha: float, basis: np.ndarray | None) -> np.ndarray:
    """One Lasso solve per measurement row of ``y``; returns ``(N, n)`` pixel estimates in [0, 1]."""
    design = A @ basis if basis is not None else A
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for yi in y:
            c = Lasso(alpha=alpha, fit_intercept=False, max_iter=5000, tol=1e-4).fit(design, yi).coef_
            out.append(basis @ c if basis is not None else c)
    return np.clip(np.array(out), 0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default="runs/dcgan-mnist/best.pt")
    ap.add_argument("--out", default="docs/figures")
    ap.add_argument("--n-test", type=int, default=16)
    ap.add_argument("--n-val", type=int, default=8)
    ap.add_argument("--m", type=int, nargs="*", default=list(M_VALUES))
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--prior-weight", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    G = load_generator(args.generator)
    held = load_digits("mnist", "heldout").x
    x_val, x_test = held[: args.n_val], held[args.n_val : args.n_val + args.n_test]
    n = x_test[0].numel()
    psi = dct_basis(*x_test.shape[-2:])
    results: dict[str, dict[int, list[float]]] = {"csgm": {}, "lasso_pixels": {}, "lasso_dct": {}}
    alphas: dict[str, dict[int, float]] = {"lasso_pixels": {}, "lasso_dct": {}}
    for m in args.m:
        t0 = time.perf_counter()
        model = make_physics("cs", G.out_shape, m=m, noise_sigma=args.noise, seed=m)
        phys = model.physics
        y_test, y_val = phys(x_test), phys(x_val)
        res = latent_search(G, y_test, phys, LatentSearchConfig(restarts=args.restarts, steps=args.steps, prior_weight=args.prior_weight))
        results["csgm"][m] = (res.x_hat - x_test).flatten(1).pow(2).mean(1).tolist()
        A = phys.A(torch.eye(n).reshape(n, *G.out_shape)).T.double().numpy()  # (m, n)
        for key, basis in (("lasso_pixels", None), ("lasso_dct", psi)):
            val = {a: float(((lasso(A, y_val.double().numpy(), a, basis) - x_val.flatten(1).numpy()) ** 2).mean()) for a in ALPHAS}
            alpha = min(val, key=val.get)
            alphas[key][m] = alpha
            est = lasso(A, y_test.double().numpy(), alpha, basis)
            results[key][m] = ((est - x_test.flatten(1).numpy()) ** 2).mean(1).tolist()
        print(f"m={m:4d}  " + "  ".join(f"{k} {np.mean(v[m]):.4f}" for k, v in results.items()) + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)

    def stat(v: list[float]) -> tuple[float, float]:
        return float(np.mean(v)), float(np.std(v) / np.sqrt(len(v)))

    lines = ["| m | CSGM | Lasso (pixels) | Lasso (DCT) |", "|---:|---:|---:|---:|"]
    for m in args.m:
        lines.append(f"| {m} | " + " | ".join("{:.4f} ± {:.4f}".format(*stat(results[k][m])) for k in results) + " |")
    table = "\n".join(lines)
    print(table)
    (out / "csgm_vs_lasso.md").write_text(table + "\n")
    (out / "csgm_vs_lasso.json").write_text(json.dumps({"per_image_mse": results, "alpha": alphas, "args": vars(args)}, indent=1))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (("csgm", "CSGM (DCGAN)"), ("lasso_pixels", "Lasso, pixels"), ("lasso_dct", "Lasso, DCT")):
        mean, err = zip(*(stat(results[key][m]) for m in args.m))
        ax.errorbar(args.m, mean, yerr=err, marker="o", capsize=3, label=label)
    ax.set_xlabel("number of measurements m")
    ax.set_ylabel("per-pixel MSE")
    ax.set_title(f"MNIST, noise std {args.noise}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "csgm_vs_lasso.png", dpi=120)
    print(f"wrote {out}/csgm_vs_lasso.{{md,json,png}}")


if __name__ == "__main__":
    main()
