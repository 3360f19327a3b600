r"""``invgan dip``: deep image prior on one image.

::

    invgan dip [IMAGE] --physics inpainting --keep 0.5 --out result.png [--reference REF] [--json]

Without ``IMAGE`` the built-in cameraman (``skimage.data.camera`` resized to
256x256) is measured and used as the reference.  With ``IMAGE`` the file is the
*clean* image that is measured through the operator, unless ``--measured`` says
it already is the degraded image (same-size operators only: inpainting needs
``--mask``, denoising and blur work directly).  Writes ``OUT`` (the estimate),
``OUT_measurement.png`` and ``OUT_convergence.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from invgan.physics import PHYSICS_NAMES
from invgan.precision import describe_precision

CAMERAMAN_SIZE = 256


def load_cameraman(size: int = CAMERAMAN_SIZE) -> Tensor:
    """``skimage.data.camera`` resized (anti-aliased) to ``size x size``, shape ``(1, size, size)`` in [0, 1]."""
    from skimage.transform import resize

    from invgan.data.images import load_builtin

    img = load_builtin(names=["camera"], channels=1)[0][0].numpy()
    small = resize(img, (size, size), anti_aliasing=True, preserve_range=True)
    return torch.from_numpy(np.clip(small, 0, 1).astype(np.float32))[None]


def default_noise_sigma(physics: str) -> float:
    """25/255 for denoising (an identity operator needs noise to be a problem), 0 otherwise."""
    return 25.0 / 255.0 if physics == "denoising" else 0.0


def save_png(x: Tensor, path: str | Path) -> None:
    """Save a ``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] as an 8-bit PNG."""
    from PIL import Image

    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    arr = (x.clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    Image.fromarray(arr).save(path)


def plot_convergence(loss: np.ndarray, psnr: np.ndarray | None, stopped_at: int, path: str | Path) -> None:
    """Loss (log scale) and, when known, PSNR against the step, with the chosen stop marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(1, len(loss) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(steps, loss, color="tab:blue", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel(r"loss $\|A R_\theta(z) - y\|^2 / m$", color="tab:blue")
    ax.axvline(stopped_at, color="k", ls="--", lw=1, label=f"stop {stopped_at}")
    if psnr is not None:
        ax2 = ax.twinx()
        ax2.plot(steps, psnr, color="tab:red", lw=1)
        ax2.set_ylabel("PSNR (dB)", color="tab:red")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dip", help="deep image prior on one degraded image (no training data)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", help="clean image to measure (default: built-in cameraman 256x256)")
    p.add_argument("--measured", action="store_true", help="IMAGE is already the measurement (same-size operators)")
    p.add_argument("--physics", default="inpainting", choices=PHYSICS_NAMES)
    p.add_argument("--keep", type=float, default=0.5, help="inpainting: fraction of pixels kept")
    p.add_argument("--mask", help="inpainting: mask image (white = kept), for --measured")
    p.add_argument("--noise-sigma", type=float, default=None, help="Gaussian noise std (default: 25/255 for denoising, else 0)")
    p.add_argument("--sigma", type=float, default=2.0, help="blur: Gaussian kernel std")
    p.add_argument("--factor", type=int, default=4, help="downsampling: factor 2 or 4")
    p.add_argument("--m", type=int, default=None, help="cs: number of measurements (default: n/4)")
    p.add_argument("--rgb", action="store_true", help="treat images as RGB (default grayscale)")
    p.add_argument("--reference", help="ground-truth image for PSNR/SSIM")
    p.add_argument("--out", default="result.png", help="output estimate (PNG); measurement and plot are written next to it")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--config", help="JSON object (or path to a JSON file) of DIPConfig fields")
    p.add_argument("--net", choices=("convdecoder", "skip"), default=None)
    p.add_argument("--channels", type=int, default=None, help="network width")
    p.add_argument("--depth", type=int, default=None, help="network depth")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                   help=f"network precision; auto = bf16 only where the CPU/GPU runs it natively, else fp32 "
                        f"(here: {describe_precision('auto', 'cpu')})")
    p.add_argument("--no-bf16", dest="precision", action="store_const", const="fp32", help="deprecated alias of --precision fp32")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from invgan.solvers.dip import DIPConfig

    values: dict = {}
    if args.config:
        text = Path(args.config).read_text() if Path(args.config).is_file() else args.config
        try:
            values = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"--config is neither a JSON object nor a JSON file: {e}") from e
        if not isinstance(values, dict):
            raise ValueError("--config must be a JSON object of DIPConfig fields")
    for key in ("net", "channels", "depth", "lr", "max_steps", "precision", "threads"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    values["seed"] = args.seed
    return DIPConfig.from_dict(values)


def run(args: argparse.Namespace) -> int:
    from invgan.data.images import read_image
    from invgan.physics import make_physics
    from invgan.solvers.dip import deep_image_prior

    channels = 3 if args.rgb else 1
    cfg = _config(args)
    noise_sigma = default_noise_sigma(args.physics) if args.noise_sigma is None else args.noise_sigma
    reference: Tensor | None = None
    if args.image is None:
        if args.measured:
            raise ValueError("--measured needs an IMAGE")
        x = load_cameraman()
        x = x.expand(3, -1, -1).contiguous() if channels == 3 else x
        reference = x
    else:
        x = read_image(args.image, channels)
        if not args.measured:
            reference = x
    if args.reference:
        reference = read_image(args.reference, channels)
        if reference.shape != x.shape:
            raise ValueError(f"reference size {tuple(reference.shape)} does not match the image size {tuple(x.shape)}")

    img_size = tuple(x.shape)
    kwargs: dict = dict(noise="gaussian" if noise_sigma > 0 else "none", noise_sigma=noise_sigma, seed=args.seed)
    if args.physics == "inpainting":
        if args.mask:
            kwargs["mask"] = (read_image(args.mask, 1)[0] > 0.5).float()
        else:
            kwargs["keep"] = args.keep
    elif args.physics == "blur":
        kwargs["sigma"] = args.sigma
    elif args.physics == "downsampling":
        kwargs["factor"] = args.factor
    elif args.physics == "cs":
        kwargs["m"] = args.m if args.m is not None else max(1, x.numel() // 4)
    model = make_physics(args.physics, img_size, **kwargs)
    if args.measured:
        if args.physics not in ("inpainting", "denoising", "blur"):
            raise ValueError(f"--measured works for same-size operators (inpainting, denoising, blur), not {args.physics!r}")
        y = x[None]
    else:
        torch.manual_seed(args.seed)
        y = model.measure(x[None])

    result = deep_image_prior(y, model.physics, config=cfg,
                              reference=None if reference is None else reference[None],
                              progress=not args.no_progress)
    x_hat = result.x_hat
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    measurement_path = Path(f"{stem}_measurement.png")
    plot_path = Path(f"{stem}_convergence.png")
    save_png(x_hat[0], out)
    shown = y if y.dim() == 4 else model.physics.A_dagger(y)  # CS: show the pseudo-inverse
    save_png(shown[0], measurement_path)
    psnr_curve = result.psnr_history[:, 0].numpy() if result.psnr_history is not None else None
    plot_convergence(result.loss_history[:, 0].numpy(), psnr_curve, result.stopped_at[0], plot_path)

    metrics: dict = {"physics": args.physics, "steps": result.steps, "stopped_at": result.stopped_at[0],
                     "seconds": round(result.seconds, 2), "backtracks": result.backtracks,
                     "precision": result.precision, "stop_rule": result.rules[0], "noise_sigma": result.noise_sigma[0]}
    if reference is not None:
        from invgan.training.evaluation import image_metrics  # the PSNR/SSIM every invgan command reports

        m = image_metrics(x_hat, reference[None])
        metrics["psnr"] = round(float(m["psnr"][0]), 3)
        metrics["ssim"] = round(float(m["ssim"][0]), 4)
    elif y.shape == (1, *img_size):
        from invgan.training.evaluation import image_metrics

        # no reference: SSIM against the measurement, as a consistency figure
        metrics["ssim_to_measurement"] = round(float(image_metrics(x_hat, y)["ssim"][0]), 4)
    metrics.update(out=str(out), measurement=str(measurement_path), plot=str(plot_path), config=cfg.to_dict())
    if args.json:
        print(json.dumps(metrics))
    else:
        shown_metrics = {k: metrics[k] for k in ("psnr", "ssim", "steps", "stopped_at", "seconds") if k in metrics}
        print(" ".join(f"{k}={v}" for k, v in shown_metrics.items()) + f"  -> {out}", file=sys.stdout)
    return 0
