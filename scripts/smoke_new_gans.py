"""Smoke figures of the new generation presets (StyleGAN2, SAGAN): a short run of each at a small
width, its wall time and the trainer's own final evaluation (one draw of ``data.eval_samples``
EMA samples against the held-out digits: FD on the digit classifier's features, precision,
recall; label accuracy for class-conditional runs). These are not the gallery's quality figures
(3 draws, full-length runs): they only show that the systems train.

    OMP_NUM_THREADS=1 python scripts/smoke_new_gans.py --steps 300 --width 8 stylegan2-mnist
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan


def run(preset: str, steps: int, width: int, out: Path) -> dict[str, float]:
    import torch

    from invgan.config import resolve
    from invgan.training import build_run

    torch.set_num_threads(1)
    overrides = [f"train.steps={steps}", f"model.width={width}", f"model.d_width={width}", f"train.eval_every={steps}",
                 "train.checkpoint_every=0", "train.progress=false", f"train.out_dir='{out}'"]
    cfg = resolve("unconditional", None, preset, overrides, None)
    r = build_run(cfg, out_dir=str(out), progress=False)
    t0 = time.perf_counter()
    metrics = r.fit()
    return {"seconds": time.perf_counter() - t0, **metrics}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("presets", nargs="+")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--width", type=int, default=8, help="model.width and model.d_width")
    args = p.parse_args(argv)
    print("| preset | steps | width | wall time (s) | FD | precision | recall | label accuracy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        with tempfile.TemporaryDirectory() as tmp:
            m = run(preset, args.steps, args.width, Path(tmp))
        acc = f"{m['label_accuracy']:.3f}" if "label_accuracy" in m else "—"
        print(f"| `{preset}` | {args.steps} | {args.width} | {m['seconds']:.0f} | {m.get('fd', float('nan')):.1f} | "
              f"{m.get('precision', float('nan')):.2f} | {m.get('recall', float('nan')):.2f} | {acc} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
