"""``invgan demo``: the main job on built-in data.

Trains a cGAN deblurring reconstructor (Gaussian blur sigma = 2, Gaussian noise 0.01, 64x64
grayscale crops of the built-in photos), evaluates it on the held-out photos against the
back-projection and the best-tuned Tikhonov deconvolution, and writes the run folder."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train and evaluate a cGAN deblurring reconstructor on built-in photos")
    p.add_argument("--steps", type=int, help="training steps (default: the demo preset's)")
    p.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--json", action="store_true", help="print the test-set means as JSON on the last line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import config_record, resolve
    from ..training import build_conditional
    from .common import results_table, write_json

    overrides = [f"train.device={json.dumps(args.device)}", f"train.out_dir={json.dumps(args.out)}"]
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    cfg = resolve("conditional", preset="demo", overrides=overrides)
    out = Path(cfg.train.out_dir)
    write_json(out / "config.json", config_record(cfg))
    print(f"invgan demo: deblurring (Gaussian blur sigma={cfg.physics.sigma}, noise {cfg.physics.noise_sigma}), "
          f"{cfg.data.crop}x{cfg.data.crop} crops of the built-in photos, {cfg.train.steps} steps")
    t0 = time.perf_counter()
    r = build_conditional(cfg, progress=not args.quiet)
    print(f"device: {r.trainer.device} ({r.trainer.precision}); train: {len(r.stream.images)} photos, test: {len(r.eval_data)} held-out crops")
    metrics = r.fit() or r.trainer.evaluate()
    r.trainer.save(out / "last.pt")
    seconds = time.perf_counter() - t0
    print()
    print(results_table(metrics))
    print(f"\nrun folder: {out}  (grid: {out / 'latest.png'}, log: {out / 'log.jsonl'}, checkpoints: best.pt, last.pt)")
    print(f"time: {seconds:.0f} s")
    summary = {**metrics, "steps": r.trainer.step, "seconds": round(seconds, 1), "run_dir": str(out)}
    write_json(out / "results.json", summary)
    if args.json:
        print(json.dumps(summary))
    return 0
