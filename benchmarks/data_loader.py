"""Training on a folder of large photos: peak memory, start-up and loader speed.

    python benchmarks/data_loader.py --images 200 --folder /tmp/photos200     # memory + start-up
    python benchmarks/data_loader.py --loader-only --images 200                # loader speed only

The folders are built from the photos that scikit-image and scikit-learn ship (no download):
each of ``--images`` 1024x1024 RGB PNGs is one of them resized, flipped or rotated, shifted and
given a little noise (so the PNGs do not compress like flat colour), ``train/`` plus 16 in
``test/``. They are kept between runs (``.complete`` marks a finished folder).

* memory: the peak, over the run, of the summed proportional set size (PSS: shared pages counted
  once) of ``invgan train --preset demo`` and its loader workers, sampled every 50 ms, with the
  main process's own peak RSS beside it;
* start-up: seconds from the command's start to the end of its first training step (the first
  row of ``log.jsonl`` with ``train.log_every=1``), in a run of its own with no memory sampling;
* loader: samples per second of 64x64 crops, batch 8, 2 workers: invgan's ``CropStream`` over a
  :class:`~invgan.data.sources.FileSource` against torchvision's ``ImageFolder`` + ``RandomCrop``
  ``DataLoader`` on the same files, interleaved rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIDE = 1024
TEST_IMAGES = 16


def make_photo_folder(root: Path, n: int, side: int = SIDE, seed: int = 0) -> Path:
    """``root/train`` with ``n`` and ``root/test`` with 16 RGB ``side`` x ``side`` PNGs made from the
    built-in photos; an existing complete folder is reused."""
    root = Path(root)
    if (root / ".complete").exists() and json.loads((root / ".complete").read_text()) == {"n": n, "side": side, "seed": seed}:
        return root
    from PIL import Image
    from skimage.transform import resize

    from invgan.data.images import BUILTIN_SPLITS, _builtin_array

    rng = np.random.default_rng(seed)
    bases = []
    for name in BUILTIN_SPLITS["all"]:
        a = _builtin_array(name)
        a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
        bases.append((resize(a, (side, side), order=1, preserve_range=True)).astype(np.float32))
    noise = rng.normal(0, 3, (4, side, side, 3)).astype(np.float32)
    for split, count in (("train", n), ("test", TEST_IMAGES)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            a = bases[int(rng.integers(len(bases)))]
            a = np.rot90(a, int(rng.integers(4)))
            a = a[:, ::-1] if rng.integers(2) else a
            a = np.roll(a, tuple(int(v) for v in rng.integers(0, side, 2)), (0, 1))
            img = np.clip(a + noise[i % 4], 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / split / f"{i:04d}.png", compress_level=1)
    (root / ".complete").write_text(json.dumps({"n": n, "side": side, "seed": seed}))
    return root


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _kib(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def train_memory(folder: Path, steps: int = 20, workers: int = 2, threads: int | None = None, sample_memory: bool = True) -> dict[str, float]:
    """Peak PSS of the process tree, peak RSS of the main process and the start-up time of
    ``invgan train --preset demo`` on ``folder`` (RGB, ``workers`` loader processes).
    ``sample_memory=False`` only times the start: reading every process's page map costs the
    measured run CPU time on a small machine, so start-up is measured in a run of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        cmd = [sys.executable, "-m", "invgan", "train", "--preset", "demo", "--set", f"data.source={folder}", "--set", "data.channels=3",
               "--set", f"data.workers={workers}", "--set", f"train.steps={steps}", "--set", "train.log_every=1",
               "--set", "train.progress=false", "--set", "train.tensorboard=false", "--out", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp)
        peak_pss = peak_rss = 0
        first_step = None
        log = out / "log.jsonl"
        while proc.poll() is None:
            if sample_memory:
                tree = _tree(proc.pid)
                peak_pss = max(peak_pss, sum(_kib(p, "smaps_rollup", "Pss:") for p in tree))
                peak_rss = max(peak_rss, _kib(proc.pid, "status", "VmRSS:"))
            if first_step is None and log.exists() and '"step": 1' in log.read_text():
                first_step = time.perf_counter() - t0
            time.sleep(0.05 if sample_memory else 0.01)
        seconds = time.perf_counter() - t0
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode:
            raise RuntimeError(f"invgan train failed: {err[-2000:]}")
        if first_step is None and log.exists() and '"step": 1' in log.read_text():
            first_step = seconds
    return {"pss_gib": peak_pss / 2**20, "rss_gib": peak_rss / 2**20, "first_step_s": first_step or float("nan"), "seconds": seconds}


def loader_speed(folder: Path, batches: int = 30, rounds: int = 3, workers: int = 2, crop: int = 64, batch: int = 8) -> dict[str, float]:
    """Samples per second of ``crop`` crops (``batch`` per batch, ``workers`` workers): invgan's
    stream vs torchvision's ``ImageFolder`` + ``RandomCrop``, interleaved ``rounds``."""
    import torch
    from torchvision import datasets, transforms

    from invgan.data import CropStream
    from invgan.data.sources import open_source

    source = open_source(str(folder), "train", channels=3, min_size=crop)
    ours = CropStream(source, crop, batch, augment=True, seed=0, workers=workers)
    tv = datasets.ImageFolder(str(folder), transform=transforms.Compose([transforms.RandomCrop(crop), transforms.ToTensor()]),
                              is_valid_file=lambda p: "/train/" in p, allow_empty=True)

    def time_ours(r: int) -> float:
        t0 = time.perf_counter()
        for _ in ours.loader(start=r * batches, stop=(r + 1) * batches):
            pass
        return batches * batch / (time.perf_counter() - t0)

    def time_tv(r: int) -> float:
        g = torch.Generator().manual_seed(r)
        sampler = torch.utils.data.RandomSampler(tv, replacement=True, num_samples=batches * batch, generator=g)
        loader = torch.utils.data.DataLoader(tv, batch_size=batch, sampler=sampler, num_workers=workers)
        t0 = time.perf_counter()
        for _ in loader:
            pass
        return batches * batch / (time.perf_counter() - t0)

    got: dict[str, list[float]] = {"invgan": [], "torchvision": []}
    for r in range(rounds):
        got["invgan"].append(time_ours(r))
        got["torchvision"].append(time_tv(r))
    return {k: statistics.median(v) for k, v in got.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, nargs="+", default=[200, 800], help="training images per folder (default: 200 800)")
    ap.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "invgan-photos"), help="where the folders are built (reused)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--loader-only", action="store_true")
    args = ap.parse_args(argv)
    for n in args.images:
        folder = make_photo_folder(Path(args.folder) / f"n{n}", n)
        if not args.loader_only:
            m = train_memory(folder, args.steps)
            start = train_memory(folder, args.steps, sample_memory=False)["first_step_s"]
            print(f"{n} images: peak PSS {m['pss_gib']:.2f} GiB (main RSS {m['rss_gib']:.2f} GiB), first step after {start:.1f} s, "
                  f"{m['seconds']:.0f} s in all")
        s = loader_speed(folder)
        print(f"{n} images: loader {s['invgan']:.0f} vs torchvision {s['torchvision']:.0f} samples/s ({s['invgan'] / s['torchvision']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
