"""Generators trained on a folder of photos at equal wall time: patch KID of each folder preset.

    OMP_NUM_THREADS=1 python benchmarks/photo_folder_gans.py --out runs/photo-folder --minutes 30
    python benchmarks/photo_folder_gans.py --out runs/photo-folder --crops-only   # just write the folder

1. **The folder.** ``OUT/crops/train`` and ``OUT/crops/test`` hold 64×64 RGB PNG crops of the
   built-in photos (:data:`invgan.data.images.BUILTIN_SPLITS`, all fifteen), at seeded random
   positions: training crops from the top of each photo, held-out crops from its bottom
   ``max(64, H/4)`` rows, so that no held-out pixel is ever seen in training. The crops per photo
   are proportional to its region's area.
2. **Equal wall time.** Each preset (``--presets``, the ``*-folder64`` presets) is timed on
   ``--calibrate`` steps, then trained with ``train.steps`` chosen to fill ``--minutes`` (its
   cosine schedule then ends with the run). The wall time of each run is reported as measured.
3. **Patch KID.** ``--samples`` draws of the EMA generator of each run's final checkpoint against
   the held-out crops: KID (and FID) on the Inception-v3 pool features
   (:mod:`invgan.metrics.inception`, the ``fid`` extra), KID as mean ± std over subsets.

Writes a Markdown table (stdout) and ``OUT/photo_folder.json``; state the CPU next to its figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = ("dcgan-folder64", "stylegan2-folder64")


def write_crops(out: Path, size: int = 64, n_train: int = 4000, n_test: int = 1000, seed: int = 0) -> tuple[int, int]:
    """Write ``out/train`` and ``out/test`` crops of every built-in photo (see the module's notes)."""
    from invgan.data.images import BUILTIN_SPLITS, load_builtin, write_image

    photos = load_builtin(names=BUILTIN_SPLITS["all"], channels=3)
    rng = np.random.default_rng(seed)
    regions = []
    for im in photos:
        h, w = im.shape[-2:]
        cut = h - max(size, h // 4)
        regions.append((im[..., :cut, :], im[..., cut:, :]))
    written = []
    for split, part, total in (("train", 0, n_train), ("test", 1, n_test)):
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        areas = np.array([(r[part].shape[-2] - size + 1) * (r[part].shape[-1] - size + 1) for r in regions], dtype=float)
        counts = np.floor(total * areas / areas.sum()).astype(int)
        counts[np.argsort(-areas)[: total - counts.sum()]] += 1
        k = 0
        for name, region, n in zip(BUILTIN_SPLITS["all"], regions, counts):
            img = region[part]
            for _ in range(n):
                i = int(rng.integers(0, img.shape[-2] - size + 1))
                j = int(rng.integers(0, img.shape[-1] - size + 1))
                write_image(img[:, i:i + size, j:j + size], folder / f"{name}_{k:05d}.png")
                k += 1
        written.append(k)
    return written[0], written[1]


def train(preset: str, crops: Path, run: Path, steps: int, extra: list[str]) -> float:
    """``invgan train --preset PRESET`` on the crops for ``steps`` steps; the run's own seconds."""
    cmd = [sys.executable, "-m", "invgan", "train", "--preset", preset, "--out", str(run), "--overwrite",
           "--set", f"data.source={crops}", "--set", f"train.steps={steps}", "--set", "train.progress=false", *extra]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return float(next(r["seconds"] for r in reversed(rows) if r.get("done")))


@torch.no_grad()
def score(checkpoint: Path, crops: Path, n: int, features) -> dict[str, float]:
    """KID and FID of ``n`` EMA samples against every held-out crop."""
    from invgan.data.images import read_image
    from invgan.metrics.distances import frechet_distance
    from invgan.metrics.inception import kernel_distance
    from invgan.training.checkpoint import load_generator

    G = load_generator(checkpoint).eval()
    real = torch.stack([read_image(p, channels=3) for p in sorted((crops / "test").glob("*.png"))])
    fake = G.sample(n, seed=1)
    fr, ff = features(real), features(fake)
    kid, kid_std = kernel_distance(fr, ff, subset_size=min(len(fr), len(ff), 1000) // 2)
    return {"kid": kid, "kid_std": kid_std, "fid": frechet_distance(fr, ff)}


@torch.no_grad()
def reference(crops: Path, n: int, features) -> dict[str, float]:
    """KID and FID of ``n`` training crops (seeded draw) against the held-out crops: the floor a
    generator that reproduced its training images would reach."""
    from invgan.data.images import read_image
    from invgan.metrics.distances import frechet_distance
    from invgan.metrics.inception import kernel_distance

    train = sorted((crops / "train").glob("*.png"))
    pick = np.random.default_rng(0).choice(len(train), size=min(n, len(train)), replace=False)
    real = torch.stack([read_image(p, channels=3) for p in sorted((crops / "test").glob("*.png"))])
    seen = torch.stack([read_image(train[i], channels=3) for i in pick])
    fr, fs = features(real), features(seen)
    kid, kid_std = kernel_distance(fr, fs, subset_size=min(len(fr), len(fs)) // 2)
    return {"kid": kid, "kid_std": kid_std, "fid": frechet_distance(fr, fs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--presets", nargs="*", default=list(PRESETS), help="none with --reference: the floor only")
    ap.add_argument("--minutes", type=float, default=30.0, help="wall time of each training run")
    ap.add_argument("--calibrate", type=int, default=40, help="steps timed to plan each run's length")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--crops-only", action="store_true")
    ap.add_argument("--reference", action="store_true", help="also score --samples training crops against the held-out ones")
    ap.add_argument("--set", action="append", default=[], help="extra KEY=VALUE for every run")
    args = ap.parse_args()
    if not (args.presets or args.reference or args.crops_only):
        ap.error("nothing to do: name --presets, or ask for --reference or --crops-only")
    crops = args.out / "crops"
    if not (crops / "test").is_dir():
        n_train, n_test = write_crops(crops)
        print(f"wrote {n_train} training and {n_test} held-out 64x64 crops under {crops}")
    if args.crops_only:
        return
    from invgan.metrics.inception import InceptionFeatures

    extra = [a for kv in args.set for a in ("--set", kv)]
    rows = {}
    for preset in args.presets:
        t = train(preset, crops, args.out / f"{preset}-calibrate", args.calibrate,
                  extra + ["--set", "train.eval_every=0", "--set", "train.checkpoint_every=0", "--set", "data.eval_samples=16"])
        steps = max(args.calibrate, int(args.minutes * 60 / (t / args.calibrate)))
        print(f"{preset}: {t / args.calibrate:.3f} s/step -> {steps} steps", flush=True)
        t0 = time.perf_counter()
        seconds = train(preset, crops, args.out / preset, steps, extra + ["--set", f"train.eval_every={steps}"])
        rows[preset] = {"steps": steps, "train_seconds": seconds, "wall_seconds": time.perf_counter() - t0}
    features = InceptionFeatures()
    for preset, row in rows.items():
        row.update(score(args.out / preset / "last.pt", crops, args.samples, features))
    print("| preset | steps | wall time (min) | KID ×10³ (± std) | FID |\n|---|---:|---:|---:|---:|")
    for preset, r in rows.items():
        print(f"| `{preset}` | {r['steps']} | {r['wall_seconds'] / 60:.1f} | {1e3 * r['kid']:.1f} ± {1e3 * r['kid_std']:.1f} | {r['fid']:.1f} |")
    if args.reference:
        r = rows["training crops"] = reference(crops, args.samples, features)
        print(f"| training crops (the floor) | | | {1e3 * r['kid']:.1f} ± {1e3 * r['kid_std']:.1f} | {r['fid']:.1f} |")
    (args.out / "photo_folder.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
