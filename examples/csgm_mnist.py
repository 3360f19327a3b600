r"""CSGM vs Lasso on MNIST (Bora et al. 2017, Fig. 1a).

Held-out MNIST digits :math:`x\in[0,1]^{784}` are measured as :math:`y = Ax + \eta` with
:math:`A_{ij}\sim\mathcal{N}(0, 1/m)` and :math:`\eta\sim\mathcal{N}(0, 0.1^2 I)`, for
:math:`m\in\{10, \dots, 750\}`, and recovered by

* CSGM: :math:`\hat x = G(\arg\min_z\|AG(z)-y\|^2 + \lambda\|z\|^2)` with the trained DCGAN;
* Lasso on pixels: :math:`\arg\min_x \tfrac1{2m}\|Ax-y\|^2 + \alpha\|x\|_1`;
* Lasso on the 2-D DCT: :math:`x = \Psi c`, :math:`\arg\min_c \tfrac1{2m}\|A\Psi c-y\|^2 + \alpha\|c\|_1`;
* Lasso on an orthonormal 2-D wavelet basis (PyWavelets, ``pip install invgan[examples]``; skipped
  when it is not installed), the same with :math:`\Psi` the wavelet synthesis matrix.

Every method gets the same tuning: Lasso's :math:`\alpha` and CSGM's :math:`\lambda` are chosen per
:math:`m` on separate validation digits (best mean MSE on a grid), then applied to the test digits.
Lasso's output is clipped to [0, 1] (the generator's output lies there already). Also draws the
first test digits recovered by each method for a few m (``csgm_vs_lasso_examples.png``);
``--reuse-choices`` redraws it (or any subset of m) with the parameters an earlier run picked. Writes a Markdown table, a JSON file and a PNG plot of the
per-pixel MSE (mean ± standard error over the test digits) against :math:`m`.

    python examples/csgm_mnist.py --generator runs/dcgan-mnist/best.pt --out docs/figures
    python examples/csgm_mnist.py --out docs/figures     # the shipped dcgan-mnist generator (invgan weights)
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
from invgan.physics import make_physics
from invgan.solvers import LatentSearchConfig, latent_search
from invgan.pretrained import load_checkpoint_or_weights
from invgan.training.checkpoint import load_generator

M_VALUES = (10, 25, 50, 100, 200, 300, 400, 500, 750)
ALPHAS = tuple(float(a) for a in np.logspace(-6, -1, 11))


def dct_basis(h: int, w: int) -> np.ndarray:
    r""":math:`\Psi` with columns the orthonormal 2-D DCT-II atoms (:math:`x = \Psi c`)."""
    eye = np.eye(h * w).reshape(h * w, h, w)
    return scipy.fft.idctn(eye, axes=(1, 2), norm="ortho").reshape(h * w, h * w).T


def wavelet_basis(h: int, w: int, wavelet: str) -> np.ndarray:
    r""":math:`\Psi` with columns the 2-D wavelet synthesis atoms: periodised, and only as many
    levels as keep every size even (28 → 14 → 7: two), so that :math:`\Psi` is orthonormal."""
    import pywt

    level = 0
    while (h >> level) % 2 == 0 and (w >> level) % 2 == 0 and level < pywt.dwtn_max_level((h, w), wavelet):
        level += 1
    _, slices = pywt.coeffs_to_array(pywt.wavedec2(np.zeros((h, w)), wavelet, mode="periodization", level=level))
    cols = []
    for k in range(h * w):
        coef = np.zeros(h * w)
        coef[k] = 1.0
        tree = pywt.array_to_coeffs(coef.reshape(h, w), slices, output_format="wavedec2")
        cols.append(pywt.waverec2(tree, wavelet, mode="periodization").ravel())
    return np.stack(cols, axis=1)


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
    ap.add_argument("--generator", default="dcgan-mnist", help="checkpoint, or a shipped generator's name (default: dcgan-mnist)")
    ap.add_argument("--out", default="docs/figures")
    ap.add_argument("--n-test", type=int, default=32)
    ap.add_argument("--n-val", type=int, default=8)
    ap.add_argument("--m", type=int, nargs="*", default=list(M_VALUES))
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--max-steps", type=int, default=500)
    ap.add_argument("--prior-weights", type=float, nargs="+", default=[0.01, 0.1, 1.0],
                    help="grid for CSGM's lambda, picked per m on the validation digits")
    ap.add_argument("--wavelet", default="db1", help="PyWavelets name of the Lasso wavelet basis")
    ap.add_argument("--show", type=int, default=8, help="test digits drawn per method in the example figure")
    ap.add_argument("--show-m", type=int, nargs="*", default=[10, 25, 50, 100], help="m values drawn in the example figure")
    ap.add_argument("--reuse-choices", default=None, metavar="JSON",
                    help="take lambda and alpha from an earlier run's csgm_vs_lasso.json instead of validating again")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state, where, _ = load_checkpoint_or_weights(args.generator)
    G = load_generator(state, name=where)
    held = load_digits("mnist", "heldout").x
    x_val, x_test = held[: args.n_val], held[args.n_val : args.n_val + args.n_test]
    n = x_test[0].numel()
    bases: dict[str, np.ndarray | None] = {"lasso_pixels": None, "lasso_dct": dct_basis(*x_test.shape[-2:])}
    try:
        bases["lasso_wavelet"] = wavelet_basis(*x_test.shape[-2:], args.wavelet)
    except ImportError:
        print("PyWavelets is not installed: no wavelet Lasso (pip install 'invgan[examples]')")
    results: dict[str, dict[int, list[float]]] = {"csgm": {}, **{k: {} for k in bases}}
    chosen: dict[str, dict[int, float]] = {k: {} for k in results}  # CSGM's lambda, Lasso's alpha
    earlier: dict[str, dict[int, float]] = {}
    if args.reuse_choices:
        earlier = {k: {int(m): v for m, v in d.items()} for k, d in json.loads(Path(args.reuse_choices).read_text())["chosen"].items()}
    shown: dict[int, list[torch.Tensor]] = {}  # m -> [truth, estimates of each method] for the figure
    for m in args.m:
        t0 = time.perf_counter()
        model = make_physics("cs", G.out_shape, m=m, noise_sigma=args.noise, seed=m)
        phys = model.physics
        y_test, y_val = phys(x_test), phys(x_val)

        def csgm(y: torch.Tensor, lam: float) -> torch.Tensor:
            cfg = LatentSearchConfig(restarts=args.restarts, max_steps=args.max_steps, prior_weight=lam, deviation="none")  # plain CSGM
            return latent_search(y, phys, G, cfg).x_hat

        if m in earlier.get("csgm", {}):
            lam = chosen["csgm"][m] = earlier["csgm"][m]
        else:
            val = {lam: float((csgm(y_val, lam) - x_val).pow(2).mean()) for lam in args.prior_weights}
            lam = chosen["csgm"][m] = min(val, key=val.get)
        est_csgm = csgm(y_test, lam)
        results["csgm"][m] = (est_csgm - x_test).flatten(1).pow(2).mean(1).tolist()
        shown[m] = [x_test[: args.show], est_csgm[: args.show]]
        A = phys.A(torch.eye(n).reshape(n, *G.out_shape)).T.double().numpy()  # (m, n)
        for key, basis in bases.items():
            if m in earlier.get(key, {}):
                alpha = chosen[key][m] = earlier[key][m]
            else:
                val = {a: float(((lasso(A, y_val.double().numpy(), a, basis) - x_val.flatten(1).numpy()) ** 2).mean()) for a in ALPHAS}
                alpha = chosen[key][m] = min(val, key=val.get)
            est = lasso(A, y_test.double().numpy(), alpha, basis)
            results[key][m] = ((est - x_test.flatten(1).numpy()) ** 2).mean(1).tolist()
            shown[m].append(torch.from_numpy(est[: args.show]).float().view(-1, *x_test.shape[1:]))
        print(f"m={m:4d}  " + "  ".join(f"{k} {np.mean(v[m]):.4f}" for k, v in results.items()) + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)

    def stat(v: list[float]) -> tuple[float, float]:
        return float(np.mean(v)), float(np.std(v) / np.sqrt(len(v)))

    labels = {"csgm": "CSGM (DCGAN)", "lasso_pixels": "Lasso, pixels", "lasso_dct": "Lasso, DCT",
              "lasso_wavelet": f"Lasso, wavelet ({args.wavelet})"}
    lines = ["| m | " + " | ".join(labels[k] for k in results) + " | CSGM λ |", "|---:|" + "---:|" * (len(results) + 1)]
    for m in args.m:
        cells = []
        for k in results:
            mean, err = stat(results[k][m])
            best = all(mean <= stat(results[o][m])[0] for o in results)
            cells.append(("**{:.4f}**" if best else "{:.4f}").format(mean) + f" ± {err:.4f}")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {chosen['csgm'][m]:g} |")
    table = "\n".join(lines)
    print(table)
    (out / "csgm_vs_lasso.md").write_text(table + "\n")
    (out / "csgm_vs_lasso.json").write_text(json.dumps({"per_image_mse": results, "chosen": chosen, "args": vars(args)}, indent=1))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key in results:
        label = labels[key]
        mean, err = zip(*(stat(results[key][m]) for m in args.m))
        ax.errorbar(args.m, mean, yerr=err, marker="o", capsize=3, label=label)
    ax.set_xlabel("number of measurements m")
    ax.set_ylabel("per-pixel MSE")
    ax.set_xscale("log")
    ax.set_title(f"MNIST, noise std {args.noise}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "csgm_vs_lasso.png", dpi=120)
    print(f"wrote {out}/csgm_vs_lasso.{{md,json,png}}")
    rows_m = [m for m in args.show_m if m in shown]
    if rows_m:
        from torchvision.utils import make_grid

        # one panel per m: rows truth, CSGM, then each Lasso; columns the first test digits
        names = ["truth"] + [labels[k] for k in results]
        fig, axes = plt.subplots(1, len(rows_m), figsize=(0.34 * args.show * len(rows_m) + 1.2, 0.34 * len(names) + 0.5), squeeze=False)
        for ax, m in zip(axes[0], rows_m):
            ax.imshow(make_grid(torch.cat(shown[m]), nrow=len(shown[m][0]), padding=1, pad_value=1.0)[0], cmap="gray", vmin=0, vmax=1)
            size = shown[m][0].shape[-1] + 1
            ax.set_yticks([1 + size * (i + 0.5) for i in range(len(names))], names if ax is axes[0][0] else [""] * len(names), fontsize=7)
            ax.set_xticks([])
            ax.set_title(f"m = {m}", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "csgm_vs_lasso_examples.png", dpi=150, bbox_inches="tight")
        print(f"wrote {out}/csgm_vs_lasso_examples.png (m = {rows_m})")


if __name__ == "__main__":
    main()
