"""Compare trained reconstructors with the classical baselines on one held-out set.

Every run folder is evaluated on the held-out crops that the first run's config describes (its
physics, ``data.eval_crop``, ``data.eval_crops``), through :func:`invgan.metrics.compare_estimators`:
PSNR/SSIM and, unless ``--no-fid``, patch FID/KID on the offline Inception features. The baselines
are the back-projection A^T y, the best-tuned Tikhonov solution (an oracle weight, tuned on this
set) and the classical method of the operator: bicubic interpolation on the operator's grid for
super-resolution, scikit-image's biharmonic inpainting for inpainting, Wiener deconvolution
(its balance tuned on this set too) for blur. ``--interpolate RUN
ALPHA...`` adds ESRGAN's network interpolation between ``RUN/pretrained.pt`` (the end of the
warm-up) and ``RUN/last.pt``; with ``--choose-alpha ALPHA...`` the weight among those with the
lowest patch KID on crops of the *training* photos (``held_out_set(..., split="train")``, never
the held-out ones) is picked first and then reported on the held-out set like any other row.

    python examples/compare_reconstructors.py runs/srgan-x4:pretrained=SRResNet runs/srgan-x4:last=SRGAN \\
        runs/esrgan-x4:last=ESRGAN --interpolate runs/esrgan-x4 0.8 --out docs/figures/sr4

A run is ``FOLDER[:CHECKPOINT][=LABEL]`` with CHECKPOINT one of best (default), last, pretrained.
Writes ``table.json``, ``table.md`` and ``crops.png`` (held-out crops side by side) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def parse_run(text: str) -> tuple[Path, str, str]:
    spec, _, label = text.partition("=")
    folder, _, ckpt = spec.partition(":")
    ckpt = ckpt or "best"
    return Path(folder), ckpt, label or f"{Path(folder).name}:{ckpt}"


def load_model(folder: Path, ckpt: str):
    from invgan.cli.common import load_reconstructor

    model, cfg = load_reconstructor(folder / f"{ckpt}.pt", torch.device("cpu"))
    return model.eval(), cfg


def interpolated(folder: Path, alpha: float):
    from invgan.nets.sr import interpolate_networks

    psnr, cfg = load_model(folder, "pretrained")
    gan, _ = load_model(folder, "last")
    psnr.load_state_dict(interpolate_networks(psnr, gan, alpha))
    return psnr, cfg


def choose_alpha(folder: Path, alphas: list[float], cfg, crops: int | None, patch: int, features) -> dict[float, float]:
    """Patch KID of each interpolation weight on crops of the training photos (a selection set:
    the held-out photos are not looked at); the caller keeps the lowest."""
    from invgan.metrics import compare_estimators
    from invgan.training.conditional import held_out_set

    measurement, data = held_out_set(cfg, "cpu", n=crops, split="train")
    table = compare_estimators({a: interpolated(folder, a)[0] for a in alphas}, data, measurement.physics, features, patch=patch)
    return {a: row["kid"] for a, row in table.items()}


def crops_figure(estimators: dict, data, physics, path: Path, n: int, zoom: int) -> None:
    """Rows: held-out crops (a zoomed centre region); columns: the measurement (nearest-neighbour
    upsampled when smaller), each estimator, the truth."""
    from torchvision.utils import save_image

    from invgan.metrics import set_operator

    x, y, params = next(data.batches(n))
    set_operator(physics, params)
    with torch.no_grad():
        columns = [F.interpolate(y, size=x.shape[-2:], mode="nearest") if y.shape[-1] != x.shape[-1] else y]
        columns += [est(y, physics).clamp(0, 1) for est in estimators.values()] + [x]
    h, w = x.shape[-2:]
    top, left = (h - zoom) // 2, (w - zoom) // 2
    tiles = torch.stack([c[..., top:top + zoom, left:left + zoom] for c in columns], 1).flatten(0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(tiles.clamp(0, 1), path, nrow=len(columns), padding=2, pad_value=1.0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="FOLDER[:best|last|pretrained][=LABEL]")
    p.add_argument("--interpolate", nargs="+", default=None, metavar="RUN ALPHA", help="a run folder, then alphas in [0, 1]")
    p.add_argument("--choose-alpha", nargs="+", type=float, default=None, metavar="ALPHA",
                   help="with --interpolate: also pick, among these, the alpha of lowest patch KID on training-photo crops")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--crops", type=int, default=None, help="held-out crops (default: the first run's data.eval_crops)")
    p.add_argument("--patch", type=int, default=64, help="patch size of patch FID/KID")
    p.add_argument("--no-fid", action="store_true", help="PSNR/SSIM only (no Inception features)")
    p.add_argument("--show", type=int, default=3, help="crops in the figure")
    p.add_argument("--zoom", type=int, default=96, help="side of the zoomed region in the figure")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.choose_alpha and not args.interpolate:
        p.error("--choose-alpha needs --interpolate RUN")
    if args.choose_alpha and args.no_fid:
        p.error("--choose-alpha picks by patch KID: it cannot be combined with --no-fid")
    if args.interpolate:
        if len(args.interpolate) < 2:
            p.error("--interpolate needs a run folder, then one or more alphas")
        try:
            weights = [float(a) for a in args.interpolate[1:]] + list(args.choose_alpha or [])
        except ValueError:
            p.error(f"--interpolate: expected alphas after the run folder, got {args.interpolate[1:]}")
        if any(not 0.0 <= a <= 1.0 for a in weights):
            p.error(f"interpolation weights must lie in [0, 1], got {weights}")
        if not (Path(args.interpolate[0]) / "pretrained.pt").is_file():
            p.error(f"{args.interpolate[0]} has no pretrained.pt: interpolation needs a run with loss.adv_start > 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    from invgan.metrics import InceptionFeatures, compare_estimators
    from invgan.metrics.images import baselines
    from invgan.classical import bicubic_upsample, biharmonic_inpaint, wiener_deconvolve
    from invgan.physics import lift

    models, cfg0 = {}, None
    for text in args.runs:
        folder, ckpt, label = parse_run(text)
        models[label], cfg = load_model(folder, ckpt)
        cfg0 = cfg0 or cfg
    from invgan.training.conditional import held_out_set

    selection = None
    if args.interpolate:
        folder, alphas = Path(args.interpolate[0]), [float(a) for a in args.interpolate[1:]]
        if args.choose_alpha:
            selection = choose_alpha(folder, args.choose_alpha, cfg0, args.crops, args.patch, InceptionFeatures())
            best = min(selection, key=selection.get)
            models[f"{folder.name} interpolated, alpha {best:g} (chosen on training crops)"], _ = interpolated(folder, best)
        for a in alphas:
            if not (selection and a == best):  # the chosen weight is already a row
                models[f"{folder.name} interpolated, alpha {a:g}"], _ = interpolated(folder, a)

    measurement, data = held_out_set(cfg0, "cpu", n=args.crops)
    physics = measurement.physics
    tuned = baselines(data, physics)  # Tikhonov's weight and Wiener's balance tuned on this set, as `invgan eval` does
    gamma = tuned["classical_gamma"]
    estimators = {"A^T y": lambda y, ph: lift(ph, y, "adjoint"), f"Tikhonov (best gamma {gamma:.2g})": lambda y, ph: lift(ph, y, "tikhonov", gamma)}
    classical = {"downsampling": ("bicubic", bicubic_upsample), "inpainting": ("biharmonic inpainting", biharmonic_inpaint)}
    if "wiener_balance" in tuned:
        balance = tuned["wiener_balance"]
        classical["blur"] = (f"Wiener (best balance {balance:.2g})", lambda y, ph: wiener_deconvolve(y, ph, balance))
    if cfg0.physics.name in classical:  # the operator's classical method, in the table and the figure
        name, method = classical[cfg0.physics.name]
        estimators[name] = method
    estimators.update(models)
    t0 = time.perf_counter()
    table = compare_estimators(estimators, data, physics, None if args.no_fid else InceptionFeatures(), patch=args.patch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"runs": args.runs, "interpolate": args.interpolate, "alpha_selection_kid": selection, "crops": len(data.x), "crop": int(data.x.shape[-1]),
            "patch": args.patch, "physics": cfg0.physics.name, "seconds": round(time.perf_counter() - t0, 1), "torch": torch.__version__}
    (out / "table.json").write_text(json.dumps({"meta": meta, "table": table}, indent=2) + "\n")
    fid = not args.no_fid
    lines = ["| method | PSNR (dB) | SSIM |" + (" patch FID | patch KID (x1000) |" if fid else ""),
             "|---|---:|---:|" + ("---:|---:|" if fid else "")]
    for name, r in table.items():
        row = f"| {name} | {r['psnr']:.2f} | {r['ssim']:.3f} |"
        if fid:
            row += f" {r['fid']:.1f} | {1000 * r['kid']:.2f} ± {1000 * r['kid_std']:.2f} |"
        lines.append(row)
    (out / "table.md").write_text("\n".join(lines) + "\n")
    figure = {k: v for k, v in estimators.items() if not k.startswith(("A^T", "Tikhonov"))}
    crops_figure(figure, data, physics, out / "crops.png", args.show, min(args.zoom, int(data.x.shape[-1])))
    print("\n".join(lines))
    print(f"columns of {out / 'crops.png'}: measurement | " + " | ".join(figure) + " | truth")


if __name__ == "__main__":
    main()
