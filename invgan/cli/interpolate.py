r"""``invgan interpolate RUN_DIR --alpha 0.8 --out model.pt``: ESRGAN's network interpolation
:math:`\theta_\alpha = (1-\alpha)\,\theta_\text{PSNR} + \alpha\,\theta_\text{GAN}` between a run's
``pretrained.pt`` (the end of its warm-up on the reconstruction terms) and its ``last.pt``
(or two given checkpoints), written as a network that ``invgan reconstruct --checkpoint`` takes."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interpolate", help="blend the PSNR-oriented and the GAN-trained weights of a run (ESRGAN)",
                       description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("run_dir", nargs="?", default=None, help="run folder with pretrained.pt and last.pt (a run with loss.adv_start > 0)")
    p.add_argument("--alpha", type=float, required=True, help="weight of the GAN-trained network, in [0, 1] (ESRGAN uses 0.8)")
    p.add_argument("--psnr", default=None, help="checkpoint of the PSNR-oriented network (default: RUN_DIR/pretrained.pt)")
    p.add_argument("--gan", default=None, help="checkpoint of the GAN-trained network (default: RUN_DIR/last.pt)")
    p.add_argument("--out", required=True, help="output file (.pt) for invgan reconstruct --checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..nets.sr import interpolate_networks
    from ..loading import export_network
    from ..training.checkpoint import save_atomic
    from .common import check_writable_folder

    if args.run_dir is None and (args.psnr is None or args.gan is None):
        raise ValueError("give a run folder, or both --psnr and --gan")
    root = Path(args.run_dir) if args.run_dir else None
    psnr_path = Path(args.psnr) if args.psnr else root / "pretrained.pt"  # type: ignore[operator]
    gan_path = Path(args.gan) if args.gan else root / "last.pt"  # type: ignore[operator]
    for path, what in ((psnr_path, "PSNR-oriented"), (gan_path, "GAN-trained")):
        if not path.is_file():
            hint = " (a run keeps pretrained.pt only when loss.adv_start > 0)" if path.name == "pretrained.pt" else ""
            raise FileNotFoundError(f"{what} checkpoint not found: {path}{hint}")
    out = Path(args.out)
    if out.is_dir():
        raise IsADirectoryError(f"--out is a folder, expected a file: {out}")
    check_writable_folder(out.parent if str(out.parent) else Path("."), "--out folder")
    a, config_a = export_network(psnr_path, "G", ema=True)
    b, config_b = export_network(gan_path, "G", ema=True)
    if {k: v for k, v in config_a.items() if k != "train"} != {k: v for k, v in config_b.items() if k != "train"}:
        raise ValueError(f"{psnr_path} and {gan_path} come from runs of different configs: their networks cannot be interpolated")
    state = interpolate_networks(a, b, args.alpha)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic({"config": config_b, "state_dict": state, "interpolation": {"alpha": args.alpha, "psnr": str(psnr_path), "gan": str(gan_path)}}, out)
    print(f"wrote {out}: {1 - args.alpha:g} x {psnr_path} + {args.alpha:g} x {gan_path} ({sum(v.numel() for v in state.values() if torch.is_tensor(v))} values)")
    return 0
