"""The GPU check of ``scripts/gpu_check.sh``: one markdown table of what a lent CUDA machine shows.

    python -m benchmarks.gpu_check [--steps 40] [--rounds 3] [--only precision]

Rows, each measured side by side in this run (rounds interleaved, medians):

* the train step of the demo's networks (batch 32 of 64x64 crops): invgan's ``Trainer`` against
  the hand-written loop of :mod:`benchmarks.train_step`, in fp32, bf16 and fp16 with its scaler;
* the precision of larger steps: invgan's step on batch 16 of RGB 256x256 crops in strict fp32,
  fp32 with TF32 and bf16 (``--only precision`` runs these rows alone);
* the deep image prior (256x256 inpainting, invgan's defaults, fixed steps): seconds per step;
* latent search (64 measurements x 4 restarts of a 28x28 DCGAN, CS m = 100): seconds per step;
* the loader feeding the GPU: the fp32 train step with batches read from a folder of 64 RGB
  1024x1024 PNGs (built from the shipped photos, :mod:`benchmarks.data_loader`) by the lazy data
  layer's workers (pinned memory, non-blocking copies) against the same step on batches already
  on the GPU; then the same with ``data.cache_mb`` (decoded images kept by each worker).

Without CUDA it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median(fn, rounds: int) -> float:
    return statistics.median(fn() for _ in range(rounds))


def train_step_rows(steps: int, rounds: int, device: torch.device) -> list[str]:
    from benchmarks import train_step as ts
    from invgan.builders import build_measurement
    from invgan.config import resolve
    from invgan.data import CropStream, load_builtin
    from invgan.precision import native_bf16

    cfg = resolve("conditional", preset="demo", overrides=[f"train.device='{device}'", "data.batch_size=32"])
    op = build_measurement(cfg, device)
    stream = CropStream(load_builtin("train", cfg.data.channels), cfg.data.crop, cfg.data.batch_size, seed=0)
    batches = [stream[t].to(device) for t in range(steps)]
    G0, D0 = ts.make_parts(cfg, device)
    rows = []
    for precision in ("fp32", "bf16", "fp16"):
        if precision == "fp16" and device.type != "cuda":
            rows.append(f"| train step, {precision} | not run: fp16 needs CUDA | – | – |")
            continue
        if precision == "bf16" and not native_bf16(device):
            rows.append(f"| train step, {precision} | not run: no native bf16 on this GPU | – | – |")
            continue
        times = {"raw": [], "invgan": []}
        for _ in range(rounds):  # interleaved
            times["raw"].append(ts.run_raw(copy.deepcopy(G0), copy.deepcopy(D0), op, batches, device, channels_last=True,
                                           precision=precision))
            times["invgan"].append(ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, batches, device, channels_last=True,
                                                 precision=precision))
        raw, ours = statistics.median(times["raw"]) * 1e3, statistics.median(times["invgan"]) * 1e3
        rows.append(f"| train step, {precision}, demo nets, batch 32 | raw loop {raw:.2f} ms, invgan {ours:.2f} ms | "
                    f"{ours / raw:.2f} | invgan / raw time |")
    return rows


def precision_rows(steps: int, rounds: int, device: torch.device, crop: int = 256, channels: int = 3, batch: int = 16) -> list[str]:
    """invgan's train step of the demo networks on larger images (``batch`` RGB crops of ``crop``²) in
    fp32, fp32 with TF32 matrix products and convolutions, and bf16 (interleaved rounds): what the
    ``"auto"`` precision of a CUDA run should be beyond the launch-bound demo size."""
    from benchmarks import train_step as ts
    from invgan.builders import build_measurement
    from invgan.config import resolve
    from invgan.data import CropStream, load_builtin

    cfg = resolve("conditional", preset="demo", overrides=[f"train.device='{device}'", f"data.batch_size={batch}",
                                                             f"data.crop={crop}", f"data.channels={channels}"])
    op = build_measurement(cfg, device)
    stream = CropStream(load_builtin("train", channels), crop, batch, seed=0)
    batches = [stream[t].to(device) for t in range(steps)]
    G0, D0 = ts.make_parts(cfg, device)
    cuda = device.type == "cuda"
    modes = {"fp32": ("fp32", False), "fp32 + TF32": ("fp32", True), "bf16": ("bf16", False)}
    times: dict[str, list[float]] = {m: [] for m in modes}
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    for _ in range(rounds):
        for mode, (precision, tf32) in modes.items():
            if cuda:
                torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
            times[mode].append(ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, batches, device, channels_last=True,
                                             precision=precision))
    if cuda:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    base = statistics.median(times["fp32"])
    return [f"| train step, {mode}, demo nets, batch {batch} of {channels}x{crop}x{crop} | {statistics.median(t) * 1e3:.2f} ms | "
            f"{statistics.median(t) / base:.2f} | time / fp32 time |" for mode, t in times.items()]


def dip_row(steps: int, rounds: int, device: torch.device) -> str:
    from skimage.data import camera
    from skimage.transform import resize

    from invgan.physics import make_physics
    from invgan.solvers import deep_image_prior

    x = torch.from_numpy(resize(camera(), (256, 256), anti_aliasing=True)).float()[None, None].to(device)
    model = make_physics("inpainting", (1, 256, 256), keep=0.5, noise="none", device=device)
    y = model.physics(x)

    def timed() -> float:
        _sync(device)
        t0 = time.perf_counter()
        deep_image_prior(y, model.physics, max_steps=steps, stop="none", progress=False, blend="none")  # the steps alone
        _sync(device)
        return (time.perf_counter() - t0) / steps

    timed()  # warm-up (cuDNN autotuning, allocator)
    return f"| deep image prior, 256x256 inpainting, defaults (no blend) | {_median(timed, rounds) * 1e3:.2f} ms per step | – | – |"


def latent_row(steps: int, rounds: int, device: torch.device) -> str:
    from invgan.nets.generators import make_generator
    from invgan.physics import make_physics
    from invgan.solvers import latent_search

    torch.manual_seed(0)
    G = make_generator("dcgan", 64, (1, 28, 28), output="sigmoid", width=32).to(device).eval()
    model = make_physics("cs", (1, 28, 28), m=100, noise_sigma=0.1, device=device)
    with torch.no_grad():
        y = model.physics(G(torch.randn(64, 64, device=device)))

    def timed() -> float:
        _sync(device)
        t0 = time.perf_counter()
        latent_search(y, model.physics, G, restarts=4, max_steps=steps, tolerance=0.0, prior_weight=0.1, deviation="none")
        _sync(device)
        return (time.perf_counter() - t0) / steps

    timed()
    return f"| latent search, 64 x 4 restarts, DCGAN 28x28, CS m=100 | {_median(timed, rounds) * 1e3:.2f} ms per step | – | – |"


def loader_row(steps: int, rounds: int, device: torch.device, workers: int = 4, images: int = 64, side: int = 1024,
               cache_mb: float = 0.0) -> str:
    import tempfile
    from pathlib import Path

    from benchmarks import data_loader as dl
    from benchmarks import train_step as ts
    from invgan.builders import build_measurement
    from invgan.config import resolve
    from invgan.data import CropStream
    from invgan.data.sources import open_source

    folder = dl.make_photo_folder(Path(tempfile.gettempdir()) / "invgan-photos" / f"n{images}-{side}", images, side=side)
    cfg = resolve("conditional", preset="demo", overrides=[f"train.device='{device}'", "data.batch_size=32", "data.channels=3"])
    op = build_measurement(cfg, device)
    source = open_source(str(folder), "train", channels=3, min_size=cfg.data.crop, cache_mb=cache_mb)
    stream = CropStream(source, cfg.data.crop, cfg.data.batch_size, seed=0, workers=workers, length=steps)
    on_device = [stream[t].to(device) for t in range(steps)]
    G0, D0 = ts.make_parts(cfg, device)  # RGB networks (cfg.data.channels = 3)
    times = {"resident": [], "loader": []}
    for _ in range(rounds):
        times["resident"].append(ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, on_device, device))
        times["loader"].append(ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, stream, device))
    resident, loader = statistics.median(times["resident"]) * 1e3, statistics.median(times["loader"]) * 1e3
    cached = f", data.cache_mb={cache_mb:g}" if cache_mb else ""
    return (f"| loader feeding the GPU: train step, RGB 64x64 crops of {side}² PNGs, batch 32, {workers} workers{cached} | batches on the GPU "
            f"{resident:.2f} ms, from the folder {loader:.2f} ms | {loader / resident:.2f} | loader / resident time |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=40, help="steps per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--device", default="cuda", help="cuda (the check), or cpu for a smoke run of the script itself")
    ap.add_argument("--loader-images", type=int, default=64, help="PNGs in the loader row's folder")
    ap.add_argument("--loader-side", type=int, default=1024, help="their side")
    ap.add_argument("--loader-workers", type=int, default=4, help="loader processes of the loader row")
    ap.add_argument("--loader-cache-mb", type=float, default=512.0,
                    help="data.cache_mb of the second loader row (decoded images kept per worker; 0: that row is not run)")
    ap.add_argument("--precision-crop", type=int, default=256, help="crop side of the precision rows")
    ap.add_argument("--precision-batch", type=int, default=16, help="batch of the precision rows")
    ap.add_argument("--only", choices=("all", "precision"), default="all",
                    help="precision: only the rows of fp32, TF32 and bf16 on 256² RGB crops")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu check: no CUDA device here: skipped")
        return 0
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"{device} (smoke run)"
    rows = precision_rows(args.steps, args.rounds, device, crop=args.precision_crop, batch=args.precision_batch)
    if args.only == "all":
        rows = [*train_step_rows(args.steps, args.rounds, device), *rows, dip_row(args.steps, args.rounds, device),
                latent_row(args.steps, args.rounds, device), loader_row(args.steps, args.rounds, device, args.loader_workers,
                                                                       args.loader_images, args.loader_side)]
        if args.loader_cache_mb > 0:
            rows.append(loader_row(args.steps, args.rounds, device, args.loader_workers, args.loader_images, args.loader_side,
                                   cache_mb=args.loader_cache_mb))
    print(f"device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}; {time.perf_counter() - t0:.0f} s\n")
    print("| row | measured | ratio | ratio is |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
