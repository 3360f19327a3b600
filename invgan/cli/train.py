"""``invgan train``: train a conditional reconstructor or an unconditional generator from a config,
a preset and overrides."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_config_arguments, print_metrics, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a reconstructor or a generator (config file, preset and --set overrides)")
    add_config_arguments(p)
    p.add_argument("--out", help="run folder (default: train.out_dir of the config)")
    p.add_argument("--resume", metavar="CKPT", help="continue exactly from a checkpoint (e.g. RUN/last.pt)")
    p.add_argument("--list-presets", action="store_true", help="print the preset names and their kinds, and exit")
    p.add_argument("--nproc", type=int, default=1, metavar="K",
                   help="data-parallel training in K processes on this machine (runs torchrun; see docs/distributed.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import PRESETS, config_record, resolve
    from ..training import build_run
    from ..training.distributed import env_world_size, launch, shutdown

    if args.list_presets:
        print("\n".join(f"{name:<26} {p.kind:<14} {p.about}" for name, p in sorted(PRESETS.items())))
        return 0
    if args.nproc < 1:
        raise ValueError(f"invalid --nproc={args.nproc}: expected >= 1")
    if args.nproc > 1 and env_world_size() == 1:
        return launch(args.nproc, relaunch_arguments(args))
    cfg = resolve(None, args.config, args.preset, args.overrides)
    if args.out:
        cfg.train.out_dir = args.out
    out = Path(cfg.train.out_dir)
    r = build_run(cfg)  # joins torchrun's process group, if any
    main = r.trainer.is_main  # only rank 0 writes files and prints
    if main:
        write_json(out / "config.json", config_record(cfg))
        print(f"device: {r.trainer.device} ({r.trainer.precision})" + (f", {r.trainer.dist.world_size} processes" if r.trainer.dist.enabled else ""))
    if args.resume:
        r.trainer.resume(args.resume)
        if main:
            print(f"resumed from {args.resume} at step {r.trainer.step}")
    metrics = r.fit()
    if main:
        metrics = metrics or r.trainer.evaluate()
        r.trainer.save(out / "last.pt")
        print_metrics(metrics)
        print(f"run folder: {out}")
    shutdown()
    return 0


def relaunch_arguments(args: argparse.Namespace) -> list[str]:
    """The ``invgan`` arguments of this command without ``--nproc``, for each torchrun process."""
    argv = ["train"]
    for flag, value in (("--config", args.config), ("--preset", args.preset), ("--out", args.out), ("--resume", args.resume)):
        if value:
            argv += [flag, str(value)]
    for o in args.overrides:
        argv += ["--set", o]
    return argv
