"""``invgan eval RUN_DIR``: evaluate a trained run on its held-out data (reconstruction metrics
against the baselines, or generator metrics against held-out images)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import check_named, print_metrics


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a run folder on its held-out data")
    p.add_argument("run_dir", help="run folder written by `invgan train` or `invgan demo`")
    p.add_argument("--checkpoint", default="best", help="'best', 'last' or a path (default: best)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON on the last line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import resolve
    from ..training import build_run
    from ..training.checkpoint import load_trainer_state
    from ..training.runs import check_resume_config

    check_named(args.checkpoint, "--checkpoint", "best", expected="'best', 'last' or a checkpoint file")
    run_dir = Path(args.run_dir)
    if not (run_dir / "config.json").exists():
        raise FileNotFoundError(f"not a run folder (no config.json): {run_dir}")
    ckpt = Path(args.checkpoint) if args.checkpoint not in ("best", "last") else run_dir / f"{args.checkpoint}.pt"
    cfg = resolve(data=json.loads((run_dir / "config.json").read_text()))
    state = load_trainer_state(ckpt)
    check_resume_config(cfg, state.get("config"), f"checkpoint {ckpt}")  # a checkpoint of this run's problem
    r = build_run(cfg, out_dir=None, progress=False)
    r.trainer.resume(state, trim_log=False)
    metrics = r.trainer.evaluate(full=True, record=False)  # the run folder is left as it is
    print(f"{ckpt} (step {r.trainer.step})")
    print_metrics(metrics)
    if args.json:
        print(json.dumps(metrics))
    return 0
