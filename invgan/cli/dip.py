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
import dataclasses
import json
import sys
from pathlib import Path

import torch
from torch import Tensor

from invgan.config import DIPConfig
from invgan.data.images import load_cameraman, write_image as save_png
from invgan.plotting import plot_convergence
from invgan.precision import describe_precision

from .common import add_config_arguments, add_physics_arguments, add_section_arguments, section_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dip", help="deep image prior on one degraded image (no training data)",
                              description=__doc__ + "\nOptions come from the 'dip' config (invgan/config.py: DIPJobConfig): defaults, "
                              "then --preset, --config, --set, then the flags. dip.precision=auto resolves here to "
                              f"{describe_precision('auto', 'cpu')}.",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", help="clean image to measure (default: built-in cameraman 256x256)")
    p.add_argument("--measured", action="store_true", help="IMAGE is already the measurement (same-size operators)")
    p.add_argument("--mask", help="inpainting: mask image (white = kept), for --measured")
    p.add_argument("--rgb", action="store_true", help="treat images as RGB (default grayscale)")
    p.add_argument("--reference", help="ground-truth image for PSNR/SSIM")
    p.add_argument("--out", default="result.png", help="output estimate (PNG); measurement and plot are written next to it")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_config_arguments(p, ("dip",))
    add_physics_arguments(p)
    add_section_arguments(p, DIPConfig, "dip", "deep image prior", rename={"noise_sigma": "stop-noise-sigma"}, skip=("seed", "progress"))
    p.add_argument("--no-bf16", dest="dip.precision", action="store_const", const="fp32", help="deprecated alias of --precision fp32")
    p.add_argument("--seed", type=int, default=None, help="seed of the operator, the noise, the weights and z (physics.seed and dip.seed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from invgan.config import resolve

    overrides = [*args.overrides, *section_overrides(args, "physics"), *section_overrides(args, "dip")]
    if args.seed is not None:
        overrides += [f"physics.seed={args.seed}", f"dip.seed={args.seed}"]
    if args.no_progress:
        overrides.append("dip.progress=false")
    return resolve("dip", args.config, args.preset, overrides)


def run(args: argparse.Namespace) -> int:
    from invgan.builders import build_operator
    from invgan.data.images import read_image
    from invgan.solvers.dip import deep_image_prior

    from .common import check_image_output

    channels = 3 if args.rgb else 1
    job = _config(args)
    check_image_output(args.out)
    check_outputs_are_not_inputs(args)
    cfg, phys = job.dip, job.physics
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

    if args.measured and phys.name == "inpainting" and not args.mask:
        raise ValueError("--measured inpainting needs --mask (white = kept pixels): without it the missing pixels are unknown "
                         "and a random mask would be used")
    img_size = tuple(x.shape)
    mask = (read_image(args.mask, 1)[0] > 0.5).float() if args.mask and phys.name == "inpainting" else None
    model = build_operator(phys, img_size, **({"mask": mask} if mask is not None else {}))
    if args.measured:
        if phys.name not in ("inpainting", "denoising", "blur"):
            raise ValueError(f"--measured works for same-size operators (inpainting, denoising, blur), not {phys.name!r}")
        y = x[None]
    else:
        torch.manual_seed(phys.seed)
        y = model.measure(x[None])

    result = deep_image_prior(y, model.physics, config=cfg, reference=None if reference is None else reference[None])
    x_hat = result.x_hat
    out, measurement_path, plot_path = output_paths(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(x_hat[0], out)
    shown = y if y.dim() == 4 else model.physics.A_dagger(y)  # CS: show the pseudo-inverse
    save_png(shown[0], measurement_path)
    psnr_curve = result.psnr_history[:, 0].numpy() if result.psnr_history is not None else None
    plot_convergence(result.loss_history[:, 0].numpy(), psnr_curve, result.stopped_at[0], plot_path)

    metrics: dict = {"physics": phys.name, "steps": result.steps, "stopped_at": result.stopped_at[0],
                     "seconds": round(result.seconds, 2), "backtracks": result.backtracks,
                     "precision": result.precision, "stop_rule": result.rules[0], "noise_sigma": result.noise_sigma[0],
                     "input_noise": result.config.input_noise, "tv_lambda": result.tv_weight[0], "consistency": result.consistency, "decided_at": result.decided_at[0],
                     "network": result.network[0],
                     # the rule never fired: the estimate is the averaged one at the step cap
                     "cap_reached": result.rules[0] != "none" and result.decided_at[0] >= result.config.max_steps}
    if result.network_scores:  # net="auto": each candidate's error on the withheld entries
        metrics["network_heldout_mse"] = {name: v[0] for name, v in result.network_scores.items()}
    if result.tiles:  # tile > 0: each tile's box, stop and blend (cap_reached: some tile's rule did not fire)
        metrics["tiles"] = result.tiles[0]
    if result.blend_weight:  # blend="classical": the weight of DIP against the classical estimate
        metrics["blend_weight"] = round(result.blend_weight[0], 4)
        metrics["classical"] = result.classical[0]
    if reference is not None:
        from invgan.metrics import image_metrics  # the PSNR/SSIM every invgan command reports

        m = image_metrics(x_hat, reference[None])
        metrics["psnr"] = round(float(m["psnr"][0]), 3)
        metrics["ssim"] = round(float(m["ssim"][0]), 4)
    elif y.shape == (1, *img_size):
        from invgan.metrics import image_metrics

        # no reference: SSIM against the measurement, as a consistency figure
        metrics["ssim_to_measurement"] = round(float(image_metrics(x_hat, y)["ssim"][0]), 4)
    metrics.update(out=str(out), measurement=str(measurement_path), plot=str(plot_path), config=dataclasses.asdict(job))
    if args.json:
        print(json.dumps(metrics))
    else:
        shown_metrics = {k: metrics[k] for k in ("psnr", "ssim", "steps", "stopped_at", "seconds") if k in metrics}
        print(" ".join(f"{k}={v}" for k, v in shown_metrics.items()) + f"  -> {out}", file=sys.stdout)
    return 0


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """The files ``dip`` writes: the estimate, the measurement and the convergence plot."""
    out = Path(out)
    stem = out.with_suffix("")
    return out, Path(f"{stem}_measurement.png"), Path(f"{stem}_convergence.png")


def check_outputs_are_not_inputs(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` whose files (the estimate, ``_measurement.png``, ``_convergence.png``)
    would replace one of the images read (IMAGE, ``--reference``, ``--mask``)."""
    inputs = [(flag, Path(v)) for flag, v in (("IMAGE", args.image), ("--reference", args.reference), ("--mask", args.mask)) if v]
    for written in output_paths(args.out):
        for flag, path in inputs:
            if written.resolve() == path.resolve():
                raise ValueError(f"--out {args.out} would overwrite the input {flag} {path} (as {written}): give another --out")
