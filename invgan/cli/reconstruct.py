"""``invgan reconstruct``: apply a trained reconstructor to the user's images."""

from __future__ import annotations

import argparse
import json

import torch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="apply a trained reconstructor to images (simulated or given measurements)")
    p.add_argument("images", nargs="+", help="image files: clean images to measure, or measurements with --measured")
    p.add_argument("--checkpoint", required=True, metavar="CKPT|NAME",
                   help="checkpoint of a trained run (e.g. runs/demo/best.pt), or the name of a shipped reconstructor "
                        "(e.g. sr4; `invgan weights` lists them)")
    p.add_argument("--out", default="reconstructions",
                   help="output folder for the PNGs (default: reconstructions): grayscale for a 1-channel model, RGB for a "
                        "3-channel one; 16-bit for 16-bit (or float) inputs, 8-bit otherwise")
    p.add_argument("--measured", action="store_true", help="the images are measurements y, not clean images")
    p.add_argument("--mask", help="inpainting mask image (white = kept) for --measured inpainting data")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated noise and operator draws")
    p.add_argument("--samples", type=int, default=None, metavar="K",
                   help="K >= 2 posterior samples (draws of z; a model with latent channels, e.g. the rcgan presets): "
                        "NAME_reconstruction.png is their mean, NAME_samples.png a row of the K samples, NAME_std.png the "
                        "per-pixel standard deviation scaled to its maximum (the maximum is printed)")
    p.add_argument("--std-pool", type=int, default=1, metavar="k",
                   help="with --samples: the std map pooled over every k x k neighbourhood, k odd (the root of the mean "
                        "variance; less noisy from few samples: it ranks deblurring's error better, inpainting's worse; default 1: per pixel)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print per-image results as JSON on the last line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..builders import build_operator
    from ..data import open_image, read_image, write_image
    from ..physics import lift
    from ..precision import select_device
    from ..metrics import image_metrics
    from .common import check_named, check_writable_folder, load_reconstructor, unique_names

    check_named(args.checkpoint, "--checkpoint")
    if args.samples is not None and args.samples < 2:
        raise ValueError(f"invalid --samples {args.samples}: expected K >= 2 (a standard deviation needs two samples)")
    if args.std_pool != 1 and (args.samples is None or args.std_pool < 1 or args.std_pool % 2 == 0):
        raise ValueError(f"invalid --std-pool {args.std_pool}: expected an odd integer >= 1, with --samples"
                         + ("" if args.samples is not None else " (it pools the std map of the samples)"))
    out = check_writable_folder(args.out, "--out folder")
    device = select_device(args.device)
    model, cfg = load_reconstructor(args.checkpoint, device)
    if args.samples is not None and not getattr(model, "latent_channels", 0):
        raise ValueError(f"--samples needs a reconstructor with latent channels (model.latent_channels > 0), but {args.checkpoint} "
                         "is deterministic: every sample would be the same")
    p, c = cfg.physics, cfg.data.channels
    if args.measured and p.name == "cs":
        raise ValueError("--measured needs image-shaped measurements; compressed-sensing measurements are not images")
    inputs = [open_image(path, c) for path in args.images]  # every input is read (and checked) before any output
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path, stem, read in zip(args.images, unique_names(args.images), inputs):
        img = read.pixels.to(device)[None]
        bits = 16 if read.bits > 8 else 8  # a 16-bit (or float) input gives 16-bit outputs
        size = tuple(img.shape[-2:])
        if args.measured and p.name == "downsampling":
            size = (size[0] * p.factor, size[1] * p.factor)
        mask = None
        if p.name == "inpainting" and args.measured:
            if not args.mask:
                raise ValueError("--measured inpainting data needs --mask (white = kept pixels)")
            mask = (read_image(args.mask, 1) > 0.5).float().to(device)
        mm = build_operator(p, (c, *size), device, mask=mask, seed=args.seed, fresh_per_sample=False)
        torch.manual_seed(args.seed)
        with torch.no_grad():
            y = img if args.measured else mm.measure(img)
            post = model.sample(y, mm.physics, args.samples).pooled(args.std_pool) if args.samples is not None else None
            x_hat = (post.mean if post is not None else model(y, mm.physics)).clamp(0, 1)
            back = lift(mm.physics, y, "adjoint").clamp(0, 1)
        write_image(back.cpu(), out / f"{stem}_measurement.png", bits=bits)  # as many channels as the model's images
        write_image(x_hat.cpu(), out / f"{stem}_reconstruction.png", bits=bits)
        row = {"image": str(path), "reconstruction": str(out / f"{stem}_reconstruction.png")}
        if post is not None:
            row.update(write_samples(post, out, stem, bits))
        if not args.measured:
            row.update({k: float(v) for k, v in image_metrics(x_hat, img).items()})
            row.update({f"baseline_{k}": float(v) for k, v in image_metrics(back, img).items()})
        results.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if args.json:
        print(json.dumps(results))
    return 0


def write_samples(post, out, stem: str, bits: int) -> dict:
    """The row of samples and the std map of one image (``post``: its :class:`~invgan.nets.PosteriorSamples`)."""
    from ..data import write_image

    row = post.samples[0].clamp(0, 1).permute(1, 2, 0, 3).flatten(2)  # (C, H, K * W): the K samples side by side
    write_image(row.cpu(), out / f"{stem}_samples.png", bits=bits)
    std = post.std[0]
    top = float(std.max())
    write_image((std / top if top > 0 else std).cpu(), out / f"{stem}_std.png", bits=bits)
    return {"samples": str(out / f"{stem}_samples.png"), "std": str(out / f"{stem}_std.png"), "std_max": top, "std_mean": float(std.mean())}
