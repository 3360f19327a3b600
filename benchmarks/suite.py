"""Every benchmark of invgan in one run, printed as one markdown table of ratios.

    python -m benchmarks            # --quick (the default): under 10 minutes on 2 CPU cores
    python -m benchmarks --full     # more steps and rounds
    python -m benchmarks --only train_step,dip --rounds 5

Each row compares contenders measured side by side in this run: the repeats are interleaved
(A, B, A, B, ...) and the medians compared, so machine load affects every contender alike.
The rows:

* ``train_step``: invgan's trainer vs a hand-written loop (same layout), and deepinv's
  ``AdversarialTrainer`` vs invgan on the demo's networks (benchmarks/train_step.py);
* ``deepinv_nets``: the same on deepinv's own ``UNet`` (in ``ArtifactRemoval``) and ``PatchGANDiscriminator``;
* ``bf16``: invgan's train step with CPU bf16 autocast vs fp32;
* ``latent_search``: N measurements x R restarts as one batch vs a loop over them;
* ``dip``: invgan's deep image prior vs deepinv's ``DeepImagePrior``, same network, iterations/s;
* ``ddp``: per-process throughput of 2 data-parallel processes (torchrun, gloo) vs 1 process;
* ``demo_memory``: peak resident memory of ``invgan demo`` (reduced steps) in a subprocess;
* ``busy_threads``: ``invgan dip`` with its thread choice (:mod:`invgan.threads`) beside one busy
  process vs ``--threads 1``, and idle vs every core as before the choice;
* ``own_data``: ``invgan train --preset demo`` on folders of 200 and 800 RGB 1024x1024 PNGs (built
  from the shipped photos, benchmarks/data_loader.py) with 2 loader workers: peak memory (PSS of
  the process and its workers), the start of the first step, and the loader's samples/s against
  torchvision's ``ImageFolder`` + ``RandomCrop`` on the same files.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    benchmark: str
    measured: str  # the contenders' figures
    ratio: float | None  # the compared ratio (see ``meaning``)
    meaning: str  # what the ratio is, e.g. "invgan / raw loop time"
    target: str = ""
    met: bool | None = None


@dataclass
class Settings:
    steps: int  # train steps per timed round
    rounds: int  # interleaved rounds per contender
    latent_n: int
    latent_steps: int
    dip_steps: int
    ddp_steps: int
    demo_steps: int
    busy_steps: int  # DIP steps per run of the busy-machine row


QUICK = Settings(steps=12, rounds=3, latent_n=8, latent_steps=25, dip_steps=6, ddp_steps=15, demo_steps=20, busy_steps=60)
FULL = Settings(steps=40, rounds=5, latent_n=64, latent_steps=100, dip_steps=20, ddp_steps=60, demo_steps=200, busy_steps=60)


def interleaved(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each contender returns one measurement (seconds per unit); rounds run A, B, C, A, B, C, ..."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(fn())
    return times


def med(times: list[float]) -> float:
    return statistics.median(times)


# ---------------------------------------------------------------------- train step
def _demo_setup(s: Settings):
    from benchmarks import train_step as ts
    from invgan.config import resolve
    from invgan.data import CropStream, load_builtin
    from invgan.builders import build_measurement

    device = torch.device("cpu")
    cfg = resolve("conditional", preset="demo", overrides=["train.device='cpu'"])
    op = build_measurement(cfg, device)
    stream = CropStream(load_builtin("train", cfg.data.channels), cfg.data.crop, cfg.data.batch_size, seed=0)
    batches = [stream[t] for t in range(s.steps)]
    G, D = ts.make_parts(cfg, device)
    return ts, cfg, op, batches, G, D, device


def bench_train_step(s: Settings) -> list[Row]:
    ts, cfg, op, batches, G0, D0, device = _demo_setup(s)
    runners = {
        "raw": lambda b: ts.run_raw(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device, channels_last=True),
        "invgan": lambda b: ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device, channels_last=True),
        "deepinv": lambda b: ts.run_deepinv(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device),
    }
    for run in runners.values():  # warm-up
        run(batches[:3])
    t = interleaved({k: (lambda r=r: r(batches)) for k, r in runners.items()}, s.rounds)
    raw, inv, dpi = med(t["raw"]), med(t["invgan"]), med(t["deepinv"])
    return [
        Row("trainer step vs hand-written loop (demo nets, same layout)", f"{1e3 * inv:.1f} vs {1e3 * raw:.1f} ms/step",
            inv / raw, "invgan / raw time", "<= 1.05", inv / raw <= 1.05),
        Row("deepinv AdversarialTrainer vs invgan (demo nets)", f"{1e3 * dpi:.1f} vs {1e3 * inv:.1f} ms/step",
            dpi / inv, "deepinv / invgan time", ">= 1.3", dpi / inv >= 1.3),
    ]


def bench_deepinv_nets(s: Settings) -> list[Row]:
    """deepinv's UNet (as an ArtifactRemoval reconstructor of A^T y) and its PatchGAN discriminator."""
    from deepinv.models import ArtifactRemoval, PatchGANDiscriminator, UNet

    ts, cfg, op, batches, _, _, device = _demo_setup(s)
    torch.manual_seed(0)
    G0 = ArtifactRemoval(UNet(1, 1, scales=2, batch_norm=False), mode="adjoint", device=device)
    D0 = PatchGANDiscriminator(input_nc=1, ndf=16, n_layers=2)  # with its BatchNorm, deepinv's default
    runners = {
        "invgan": lambda b: ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device, channels_last=True),
        "deepinv": lambda b: ts.run_deepinv(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device),
    }
    for run in runners.values():
        run(batches[:3])
    t = interleaved({k: (lambda r=r: r(batches)) for k, r in runners.items()}, s.rounds)
    inv, dpi = med(t["invgan"]), med(t["deepinv"])
    return [Row("deepinv AdversarialTrainer vs invgan (deepinv UNet + PatchGAN)", f"{1e3 * dpi:.1f} vs {1e3 * inv:.1f} ms/step",
                dpi / inv, "deepinv / invgan time", ">= 1.3", dpi / inv >= 1.3)]


def bench_bf16(s: Settings) -> list[Row]:
    from invgan.precision import native_bf16

    ts, cfg, op, batches, G0, D0, device = _demo_setup(s)
    runners = {p: (lambda b, p=p: ts.run_invgan(copy.deepcopy(G0), copy.deepcopy(D0), op, b, device, precision=p)) for p in ("fp32", "bf16")}
    for run in runners.values():
        run(batches[:3])
    t = interleaved({k: (lambda r=r: r(batches)) for k, r in runners.items()}, s.rounds)
    f32, b16 = med(t["fp32"]), med(t["bf16"])
    return [Row(f"CPU bf16 autocast vs fp32, invgan train step (native bf16: {native_bf16('cpu')})",
                f"{1e3 * b16:.1f} vs {1e3 * f32:.1f} ms/step", f32 / b16, "fp32 / bf16 time (> 1: bf16 faster)")]


# ---------------------------------------------------------------------- latent search
def bench_latent_search(s: Settings) -> list[Row]:
    from invgan.data.digits import load_digits
    from invgan.nets.generators import make_generator
    from invgan.physics import make_physics
    from invgan.solvers import LatentSearchConfig, latent_search

    torch.manual_seed(0)
    G = make_generator("dcgan", 64, (1, 28, 28), output="sigmoid", width=32).eval()
    x = load_digits("mnist", "heldout", limit=s.latent_n).x
    phys = make_physics("cs", G.out_shape, m=100, noise_sigma=0.1).physics
    y = phys(x)
    restarts = 4
    cfg = LatentSearchConfig(max_steps=s.latent_steps, tolerance=0.0, lr=0.05, prior_weight=0.1, deviation="none")  # the plain search
    latent_search(y[:2], phys, G, cfg, restarts=1)  # warm-up

    def batched() -> float:
        t0 = time.perf_counter()
        latent_search(y, phys, G, cfg, restarts=restarts)
        return time.perf_counter() - t0

    def looped() -> float:
        t0 = time.perf_counter()
        for i in range(len(y)):
            for r in range(restarts):
                latent_search(y[i : i + 1], phys, G, cfg, restarts=1, seed=r)
        return time.perf_counter() - t0

    t = interleaved({"batched": batched, "looped": looped}, max(1, s.rounds - 1))
    b, lo = med(t["batched"]), med(t["looped"])
    return [Row(f"latent search, {s.latent_n} x {restarts} restarts x {s.latent_steps} steps: one batch vs a loop",
                f"{b:.2f} vs {lo:.2f} s", lo / b, "loop / batch time")]


# ---------------------------------------------------------------------- deep image prior
def bench_dip(s: Settings) -> list[Row]:
    from deepinv.models import DeepImagePrior

    from benchmarks.dip import problem
    from invgan.solvers.dip import DIPConfig, build_net, deep_image_prior

    _, y, physics = problem()
    cfg = DIPConfig()
    net = build_net(cfg, (1, 256, 256))
    theirs = DeepImagePrior(net, img_size=net.input_shape(), iterations=2, learning_rate=cfg.lr)
    theirs(y, physics)  # warm-up
    theirs.max_iter = s.dip_steps
    ours = DIPConfig.from_dict(dict(max_steps=s.dip_steps, stop="none", progress=False, blend="none"))  # the network's steps alone
    deep_image_prior(y, physics, net=net, config=ours, max_steps=2)  # warm-up

    def deepinv_run() -> float:
        t0 = time.perf_counter()
        theirs(y, physics)
        return (time.perf_counter() - t0) / s.dip_steps

    def invgan_run() -> float:
        return deep_image_prior(y, physics, net=net, config=ours).seconds / s.dip_steps

    t = interleaved({"deepinv": deepinv_run, "invgan": invgan_run}, s.rounds)
    d, i = med(t["deepinv"]), med(t["invgan"])
    return [Row("deep image prior vs deepinv DeepImagePrior (same net, 256x256 inpainting, invgan defaults)",
                f"{1 / i:.2f} vs {1 / d:.2f} it/s", d / i, "deepinv / invgan time per iteration")]


# ---------------------------------------------------------------------- data parallel
def _ddp_threads() -> int:
    """Threads per process of the DDP row: the machine's cores shared out between 2 processes."""
    return max(1, (os.cpu_count() or 1) // 2)


def _worker_throughput(nproc: int, steps: int, batch: int) -> float:
    worker = str(ROOT / "benchmarks" / "ddp_worker.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = str(_ddp_threads())  # the same threads per process in both runs
    if nproc == 1:
        cmd = [sys.executable, worker, str(steps), str(batch)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", worker, str(steps), str(batch)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    found = re.search(r"samples_per_s=([0-9.]+)", out.stdout)
    if out.returncode or not found:
        raise RuntimeError(f"ddp worker failed ({nproc} processes):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return 1.0 / float(found.group(1))  # seconds per sample, per process


def bench_ddp(s: Settings) -> list[Row]:
    batch = 8
    t = interleaved({"1 process": lambda: _worker_throughput(1, s.ddp_steps, batch),
                     "2 processes": lambda: _worker_throughput(2, s.ddp_steps, batch)}, max(1, s.rounds - 1))
    one, two = 1 / med(t["1 process"]), 1 / med(t["2 processes"])
    return [Row(f"DDP, 2 processes (gloo) vs 1 process, {_ddp_threads()} thread(s) and batch {batch} per process",
                f"{two:.1f} vs {one:.1f} samples/s per process ({2 * two:.1f} vs {one:.1f} in all)", two / one,
                "per-process throughput, 2 procs / 1 proc (1.0 = perfect scaling)")]


# ---------------------------------------------------------------------- memory
def bench_demo_memory(s: Settings) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "invgan", "demo", "--steps", str(s.demo_steps), "--quiet", "--device", "cpu", "--out", str(Path(tmp) / "demo")]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp)
        t0 = time.perf_counter()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"invgan demo failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    mib = usage.ru_maxrss / 1024  # KiB on Linux
    return [Row(f"peak memory of `invgan demo --steps {s.demo_steps}` (training + evaluation)", f"{mib:.0f} MiB max RSS ({seconds:.0f} s)",
                None, "")]


# ---------------------------------------------------------------------- threads on a busy machine
_TODAY = "import sys, torch; from invgan.cli import main; sys.exit(main(sys.argv[1:]))"  # torch first: no thread choice


def _dip_seconds(steps: int, mode: str, tmp: str) -> float:
    """Wall time of ``invgan dip`` (inpainting, ``steps`` steps, no stop) in a fresh process:
    ``mode`` "chosen" (the command's own thread choice), "threads1" (``--threads 1``) or "all"
    (torch's default of every core and OpenMP's default wait policy, as before the choice)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    args = ["dip", "--physics", "inpainting", "--keep", "0.5", "--stop", "none", "--blend", "none", "--max-steps", str(steps), "--no-progress",
            "--precision", "fp32", "--out", str(Path(tmp) / f"{mode}.png")] + (["--threads", "1"] if mode == "threads1" else [])
    cmd = [sys.executable, "-c", _TODAY, *args] if mode == "all" else [sys.executable, "-m", "invgan", *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    return time.perf_counter() - t0


def bench_busy_threads(s: Settings) -> list[Row]:
    """``invgan dip`` with one busy single-thread process beside it: the command's thread choice vs
    ``--threads 1`` (target: at most 1.5x), and idle: the choice vs every core as before (at most 1.05x)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        modes = ("chosen", "threads1", "all")
        idle = interleaved({m: (lambda m=m: _dip_seconds(s.busy_steps, m, tmp)) for m in modes}, s.rounds)
        busy_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            busy = interleaved({m: (lambda m=m: _dip_seconds(s.busy_steps, m, tmp)) for m in modes}, s.rounds)
        finally:
            busy_proc.kill()
            busy_proc.wait()
    fig = lambda t: ", ".join(f"{m} {med(t[m]):.1f} s" for m in modes)  # noqa: E731
    ratio = med(busy["chosen"]) / med(busy["threads1"])
    rows.append(Row(f"`invgan dip` {s.busy_steps} steps beside one busy process", fig(busy), ratio,
                    "chosen threads / --threads 1", "<= 1.5", ratio <= 1.5))
    ratio = med(idle["chosen"]) / med(idle["all"])
    rows.append(Row(f"`invgan dip` {s.busy_steps} steps, idle", fig(idle), ratio,
                    "chosen threads / every core (before)", "<= 1.05", ratio <= 1.05))
    return rows


# ---------------------------------------------------------------------- your own images at any size
def _first_step_builtin() -> float:
    """Seconds to the end of step 1 of ``invgan train --preset demo`` on the built-in photos (RGB)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "invgan", "train", "--preset", "demo", "--set", "data.channels=3", "--set", "train.steps=3",
               "--set", "train.log_every=1", "--set", "train.progress=false", "--set", "train.tensorboard=false", "--out", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        log = out / "log.jsonl"
        try:
            while proc.poll() is None:
                if log.exists() and '"step": 1' in log.read_text():
                    return time.perf_counter() - t0
                time.sleep(0.01)
        finally:
            proc.kill()
            proc.wait()
    return float("nan")


def bench_own_data(s: Settings) -> list[Row]:
    """Peak memory and start-up of a demo run on 200 and 800 large photos, and loader speed."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import data_loader as dl

    folders = {n: dl.make_photo_folder(Path(tempfile.gettempdir()) / "invgan-photos" / f"n{n}", n) for n in (200, 800)}
    mem = {n: dl.train_memory(folder, steps=s.demo_steps) for n, folder in folders.items()}
    fig = lambda n: f"{n} images: peak {mem[n]['pss_gib']:.2f} GiB (main process RSS {mem[n]['rss_gib']:.2f} GiB)"  # noqa: E731
    small, large = mem[200]["pss_gib"], mem[800]["pss_gib"]
    rows = [Row("`invgan train --preset demo` on 200 RGB 1024² PNGs, 2 loader workers: peak memory (PSS, workers included)", fig(200),
                small, "GiB", "<= 1.5", small <= 1.5),
            Row("the same on 800 PNGs (4x the data)", fig(800), large / small, "peak 800 / peak 200", "<= 1.10", large / small <= 1.10)]
    first = statistics.median(dl.train_memory(folders[200], steps=3, sample_memory=False)["first_step_s"] for _ in range(s.rounds))
    builtin = statistics.median(_first_step_builtin() for _ in range(s.rounds))
    rows.append(Row("start of the run to the end of its first step, 200 PNGs (built-in photos beside it)",
                    f"{first:.1f} s (built-in {builtin:.1f} s)", first, "seconds", "<= 5", first <= 5))
    speed = dl.loader_speed(folders[200], batches=20, rounds=s.rounds)
    ratio = speed["invgan"] / speed["torchvision"]
    rows.append(Row("64² crops, batch 8, 2 workers, 200 PNGs: invgan's loader vs torchvision ImageFolder + RandomCrop",
                    f"{speed['invgan']:.0f} vs {speed['torchvision']:.0f} samples/s", ratio, "invgan / torchvision samples/s", ">= 1.0", ratio >= 1.0))
    return rows


BENCHMARKS: dict[str, Callable[[Settings], list[Row]]] = {
    "train_step": bench_train_step,
    "deepinv_nets": bench_deepinv_nets,
    "bf16": bench_bf16,
    "latent_search": bench_latent_search,
    "dip": bench_dip,
    "ddp": bench_ddp,
    "demo_memory": bench_demo_memory,
    "busy_threads": bench_busy_threads,
    "own_data": bench_own_data,
}


# ---------------------------------------------------------------------- the table
def machine() -> str:
    from invgan.precision import cpu_name

    cpu = cpu_name()
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.2f} at the start"
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads{load}"


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | measured | ratio | ratio is | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "–"
        met = "–" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.benchmark} | {r.measured} | {ratio} | {r.meaning or '–'} | {r.target or '–'} | {met} |")
    return "\n".join(lines)


def run(names: list[str], settings: Settings, log=print) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        t0 = time.perf_counter()
        try:
            got = BENCHMARKS[name](settings)
        except Exception as e:  # one failing benchmark must not hide the others
            got = [Row(name, f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", None, "")]
        rows += got
        log(f"[{name}: {time.perf_counter() - t0:.0f} s]\n" + table(got).split("\n", 2)[2], file=sys.stderr)  # rows as they come
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: under 10 minutes on 2 CPU cores")
    mode.add_argument("--full", action="store_true", help="more steps and rounds")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per contender (default: 3 quick, 5 full)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    settings = copy.copy(FULL if args.full else QUICK)
    if args.rounds:
        settings.rounds = args.rounds
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}: expected {list(BENCHMARKS)}")
    header = f"machine: {machine()}; mode: {'full' if args.full else 'quick'}"
    print(header, file=sys.stderr)
    t0 = time.perf_counter()
    rows = run(names, settings)
    print(f"\n{header}; {time.perf_counter() - t0:.0f} s in all\n")
    print(table(rows))
    return 0
