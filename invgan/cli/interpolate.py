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
    p.add_argument("--out", required=True, help="output file (.pt) for invgan reconstruct --checkpoint (not one of the run's own files)")
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
    out = Path(args.out)
    if out.is_dir():
        raise IsADirectoryError(f"--out is a folder, expected a file: {out}")
    check_output_is_not_an_input(out, (psnr_path, gan_path))
    for path, what in ((psnr_path, "PSNR-oriented"), (gan_path, "GAN-trained")):
        if not path.is_file():
            hint = " (a run keeps pretrained.pt only when loss.adv_start > 0)" if path.name == "pretrained.pt" else ""
            raise FileNotFoundError(f"{what} checkpoint not found: {path}{hint}")
    check_writable_folder(out.parent if str(out.parent) else Path("."), "--out folder")
    a, config_a = export_network(psnr_path, "G", ema=True)
    b, config_b = export_network(gan_path, "G", ema=True)
    check_same_run(config_a, config_b, psnr_path, gan_path)
    state = interpolate_networks(a, b, args.alpha)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic({"config": config_b, "state_dict": state, "interpolation": {"alpha": args.alpha, "psnr": str(psnr_path), "gan": str(gan_path)}}, out)
    print(f"wrote {out}: {1 - args.alpha:g} x {psnr_path} + {args.alpha:g} x {gan_path} ({sum(v.numel() for v in state.values() if torch.is_tensor(v))} values)")
    return 0


def check_output_is_not_an_input(out: Path, inputs: tuple[Path, ...]) -> None:
    """Refuse an ``out`` that is one of the checkpoints read or one of a run's own files (its
    ``last.pt``, ``pretrained.pt``, log, ...: the files ``invgan train`` writes in a run folder)."""
    from ..training.runfolder import is_run_file

    if is_run_file(out):
        what = f"one of the files of the run in {out.parent} (resuming the run needs them)"
    elif any(out.resolve() == path.resolve() for path in inputs):
        what = "a checkpoint it reads"
    else:
        return
    raise ValueError(f"--out {out} would replace {what}: write the interpolated network to another file, "
                     f"e.g. {out.parent / 'interpolated.pt'}")


def check_same_run(config_a: dict, config_b: dict, path_a: Path, path_b: Path) -> None:
    """The two checkpoints must come from one run: the same config outside the ``train`` section
    (which a resumed run may change: steps, device, ...) and the same ``train.seed``, the seed of
    the initial weights both ends descend from."""
    def identity(config: dict) -> dict:
        return {**{k: v for k, v in config.items() if k != "train"}, "train": {"seed": (config.get("train") or {}).get("seed")}}

    a, b = identity(config_a), identity(config_b)
    if a == b:
        return
    diffs = sorted(_differences(a, b))
    shown = "; ".join(f"{key} = {va!r} there, {vb!r} here" for key, va, vb in diffs[:3]) + (" ..." if len(diffs) > 3 else "")
    raise ValueError(f"{path_a} and {path_b} come from different runs ({shown}): network interpolation blends the two "
                     "ends of one run (its pretrained.pt and last.pt); give checkpoints of the same run")


def _differences(a: object, b: object, key: str = "") -> list[tuple[str, object, object]]:
    """``(dotted key, value in a, value in b)`` for every setting that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{key}.{k}" if key else str(k))
        return out
    return [] if a == b else [(key, a, b)]
