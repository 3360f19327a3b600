r"""Deep image prior on the 256x256 cameraman: inpainting (50 % missing), denoising
(:math:`\sigma = 25/255`) and x4 super-resolution, with a total-variation baseline and the classical
estimate of each operator (scikit-image's biharmonic inpainting, bicubic interpolation; for denoising
the noisy image itself).

Every DIP run uses invgan's default :class:`~invgan.config.DIPConfig` and its
automatic stop (``stop="auto"``: discrepancy principle for the noisy denoising problem,
convergence of the averaged output for the noiseless ones); the reference image is used
for the PSNR only.  ``benchmarks/dip_suite.py`` runs the same problems on eight images.
The TV baseline solves :math:`\min_x \tfrac12\|Ax-y\|^2 + \lambda\,\mathrm{TV}(x)`
with deepinv's FISTA and TV prior, with :math:`\lambda` picked by the best PSNR
(an oracle choice that favours the baseline).

    PYTHONPATH=. python examples/dip_cameraman.py [--tasks inpainting denoising sr] [--threads 1]

Prints a markdown table and writes PNGs to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from invgan.classical import choose_denoiser, classical_estimate
from invgan.data.images import load_cameraman, write_image as save_png
from invgan.physics import default_noise_sigma, make_physics
from invgan.plotting import plot_convergence
from invgan.solvers.dip import DIPConfig, deep_image_prior

TASKS = {
    "inpainting": ("inpainting", dict(keep=0.5)),
    "denoising": ("denoising", dict()),
    "sr": ("downsampling", dict(factor=4)),
}
CLASSICAL = {"inpainting": "biharmonic inpainting", "denoising": "TV or non-local means, chosen by SURE", "downsampling": "bicubic interpolation"}


def metrics(x: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    """PSNR and SSIM as every invgan command reports them (deepinv's metrics, range [0, 1])."""
    from invgan.metrics import image_metrics

    m = image_metrics(x[:1], ref[:1])
    return float(m["psnr"][0]), float(m["ssim"][0])


def tv_baseline(y, physics, ref, lambdas=(0.005, 0.01, 0.02), iters=300):
    """FISTA on :math:`\\tfrac12\\|Ax-y\\|^2 + \\lambda\\,\\mathrm{TV}(x)`; best :math:`\\lambda` by PSNR."""
    from deepinv.optim import FISTA
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior

    best = None
    start = time.perf_counter()
    for lam in lambdas:
        solver = FISTA(data_fidelity=L2(), prior=TVPrior(n_it_max=30), lambda_reg=lam, stepsize=1.0, max_iter=iters)
        with torch.no_grad():
            x = solver(y, physics).clamp(0, 1)
        p, s = metrics(x, ref)
        if best is None or p > best[1]:
            best = (x, p, s, lam)
    return best, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=[*TASKS, "tv"], choices=[*TASKS, "tv"],
                        help="'tv' is the TV baseline of the inpainting problem")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="dip_cameraman_out")
    parser.add_argument("--config", default="{}", help="JSON DIPConfig overrides (default: none)")
    parser.add_argument("--tv-iters", type=int, default=300, help="FISTA iterations of the TV baseline")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x = load_cameraman()[None]
    cfg = DIPConfig.from_dict(json.loads(args.config))
    rows = []
    for task in args.tasks:
        name, kwargs = TASKS["inpainting" if task == "tv" else task]
        sigma = default_noise_sigma(name)
        model = make_physics(name, (1, 256, 256), noise="gaussian" if sigma > 0 else "none", noise_sigma=sigma, seed=0, **kwargs)
        torch.manual_seed(0)
        y = model.measure(x)
        if task == "tv":
            (xt, pt, st, lam), sec = tv_baseline(y, model.physics, x, iters=args.tv_iters)
            rows.append(dict(task="inpainting", method=f"TV (FISTA {args.tv_iters} it., best of 3 lambda: {lam})", psnr=pt, ssim=st,
                             steps=args.tv_iters, stopped_at=args.tv_iters, seconds=sec))
            print(json.dumps(rows[-1]), flush=True)
            save_png(xt[0], out / "inpainting_tv.png")
            continue
        res = deep_image_prior(y, model.physics, config=cfg, reference=x, progress=False)
        p, s = metrics(res.x_hat, x)
        blend = f", blended with {res.classical[0]}, w = {res.blend_weight[0]:.2f}" if res.blend_weight else ""
        rows.append(dict(task=task, method=f"invgan DIP (auto stop{blend})", psnr=p, ssim=s, steps=res.steps,
                         stopped_at=res.stopped_at[0], seconds=res.seconds,
                         peak_psnr_seen=float(res.psnr_history[:, 0].max())))
        print(json.dumps(rows[-1]), flush=True)
        start = time.perf_counter()
        # biharmonic inpainting, bicubic; for denoising the denoiser of least SURE
        classical = (choose_denoiser(y, torch.tensor([sigma]))[0] if name == "denoising" else classical_estimate(y, model.physics)).clamp(0, 1)
        seconds = time.perf_counter() - start
        p, s = metrics(classical, x)
        rows.append(dict(task=task, method=f"classical ({CLASSICAL[name]})", psnr=p, ssim=s, steps=0, stopped_at=0, seconds=seconds))
        print(json.dumps(rows[-1]), flush=True)
        save_png(res.x_hat[0], out / f"{task}_dip.png")
        save_png(y[0] if y.shape[-1] == 256 else torch.nn.functional.interpolate(y, size=(256, 256), mode='nearest')[0], out / f"{task}_measurement.png")
        plot_convergence(res.loss_history[:, 0].numpy(), res.psnr_history[:, 0].numpy(), res.stopped_at[0], out / f"{task}_convergence.png")
    print("\n| task | method | PSNR (dB) | SSIM | steps (stop) | wall time (s) |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['steps']} ({r['stopped_at']}) | {r['seconds']:.0f} |")


if __name__ == "__main__":
    main()
