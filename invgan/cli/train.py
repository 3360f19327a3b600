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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import PRESETS, config_record, resolve
    from ..training import build_run

    if args.list_presets:
        print("\n".join(f"{name:<26} {p.kind:<14} {p.about}" + (f" [{p.paper}]" if p.paper else "") for name, p in sorted(PRESETS.items())))
        return 0
    cfg = resolve(None, args.config, args.preset, args.overrides)
    if args.out:
        cfg.train.out_dir = args.out
    out = Path(cfg.train.out_dir)
    write_json(out / "config.json", config_record(cfg))
    r = build_run(cfg)
    print(f"device: {r.trainer.device} ({r.trainer.precision})")
    if args.resume:
        r.trainer.resume(args.resume)
        print(f"resumed from {args.resume} at step {r.trainer.step}")
    metrics = r.fit() or r.trainer.evaluate()
    r.trainer.save(out / "last.pt")
    print_metrics(metrics)
    print(f"run folder: {out}")
    return 0
