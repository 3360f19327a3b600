r"""Crash safety of ``invgan train``: kill it with SIGKILL at random moments, resume, and check.

For each kind of run (a conditional reconstructor, an unconditional GAN) at a tiny size with a
checkpoint every step, this script

1. runs ``python -m invgan train`` once without interruption (the reference);
2. starts the same run in another folder, kills it with SIGKILL at a random (seeded) moment,
   checks the folder, resumes from ``last.pt`` (``--overwrite`` when no checkpoint exists yet),
   and repeats ``--kills`` times; then lets the last resume finish;
3. checks, after every kill: every ``.pt`` in the folder loads (no checkpoint is ever
   unreadable); the resumed process reports the step of the last complete checkpoint; and at the
   end: no ``.tmp`` file is left, ``log.jsonl`` has every training step exactly once and each
   evaluation once, and the final checkpoint's networks, EMA copies and optimiser states are
   bit-identical to the reference's (CPU).

Each kill picks (seeded) one of the next two steps and a moment within it (up to one step's time of the
reference run after the log shows the previous step), or, one kill in four, a moment of the
start-up; so kills land in start-up, in steps and in checkpoint writes. A kill that left a
``.tmp`` file was during a checkpoint write; those are counted.

    python scripts/kill_resume.py --kills 20                  # both kinds
    python scripts/kill_resume.py --kind unconditional --kills 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

COMMON = ["train.checkpoint_every=1", "train.log_every=1", "train.progress=false", "train.tensorboard=false", "train.device='cpu'"]
#: tiny runs of each kind: a preset and --set overrides
RUNS = {
    "conditional": ("inpainting", ["data.crop=16", "data.batch_size=2", "data.eval_crops=4", "model.width=4", "model.depth=2",
                                   "model.d_width=4", "model.d_layers=1", "optim.ema=0.9", "train.eval_every=5"]),
    "unconditional": ("dcgan-digits8", ["data.batch_size=8", "data.eval_samples=64", "classifier_metrics=false", "train.eval_every=5"]),
}


def command(kind: str, out: Path, steps: int, extra: list[str]) -> list[str]:
    preset, sets = RUNS[kind]
    args = [sys.executable, "-m", "invgan", "train", "--preset", preset, "--out", str(out)]
    for s in [*sets, *COMMON, f"train.steps={steps}"]:
        args += ["--set", s]
    return args + extra


class Proc:
    """A training process whose output is read as it comes (the 'device:' line starts the clock)."""

    def __init__(self, args: list[str]):
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.started: float | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.p.stdout:  # type: ignore[union-attr]
            if line.startswith("device:") and self.started is None:
                self.started = time.perf_counter()
            self.lines.append(line.rstrip("\n"))

    def wait(self) -> int:
        rc = self.p.wait()
        self.reader.join()
        return rc

    def resumed_at(self) -> int | None:
        for line in self.lines:
            if line.startswith("resumed from "):
                return int(re.search(r"at step (\d+)", line).group(1))  # type: ignore[union-attr]
        return None


def logged_step(path: Path) -> int | None:
    """The step of the last complete training row of a log being written (``None``: none yet)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "eval" not in row:
            return int(row["step"])
    return None


def checkpoint_step(path: Path) -> int:
    """The step of a checkpoint; raises if it does not load (the one thing that must never happen)."""
    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])


def tensors_equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(tensors_equal(x, y) for x, y in zip(a, b))
    return a == b


def check_log(path: Path, steps: int, eval_every: int) -> list[str]:
    """Problems of a finished run's log: every training step once, every evaluation once."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    train = [r["step"] for r in rows if "eval" not in r and not r.get("done")]
    evals = [r["step"] for r in rows if "eval" in r]
    problems = []
    if train != list(range(1, steps + 1)):
        problems.append(f"training rows of steps {train}, expected 1..{steps} once each")
    expected_evals = sorted({s for s in range(eval_every, steps + 1, eval_every)} | {steps})
    if evals and evals != expected_evals:
        problems.append(f"evaluation rows at steps {evals}, expected {expected_evals}")
    return problems


def run_kind(kind: str, kills: int, steps: int, seed: int, work: Path, log=print) -> dict:
    rng = random.Random(f"{seed}-{kind}")
    eval_every = 5
    ref_dir, dir_ = work / f"{kind}-reference", work / f"{kind}-killed"
    for d in (ref_dir, dir_):
        shutil.rmtree(d, ignore_errors=True)
    ref = Proc(command(kind, ref_dir, steps, []))
    if ref.wait() != 0:
        raise SystemExit(f"{kind}: the reference run failed:\n" + "\n".join(ref.lines[-20:]))
    startup = (ref.started or ref.t0) - ref.t0
    train_time = time.perf_counter() - (ref.started or ref.t0)
    step_time = train_time / steps
    log(f"{kind}: reference run, {steps} steps: start-up {startup:.1f} s, training {train_time:.1f} s")
    reached = None

    done_kills = during_write = 0
    events = []
    problems: list[str] = []
    last_step = None  # step of the last complete checkpoint
    while True:
        extra = ["--resume", str(dir_ / "last.pt")] if (dir_ / "last.pt").exists() else ["--overwrite"]
        proc = Proc(command(kind, dir_, steps, extra))
        if done_kills < kills:
            in_startup = rng.random() < 0.25
            target = min(steps, (last_step or 0) + rng.randint(1, 2))  # kill while step `target` runs ...
            offset = rng.uniform(0.0, startup if in_startup else step_time)  # ... this far into it
            while proc.p.poll() is None:
                ready = False
                if in_startup:
                    ready = time.perf_counter() - proc.t0 >= offset
                elif proc.started is not None:  # the log is cut back to the checkpoint by then
                    at = logged_step(dir_ / "log.jsonl")
                    if reached is None and (target <= 1 or (at is not None and at >= target - 1)):
                        reached = time.perf_counter()
                    ready = reached is not None and time.perf_counter() - reached >= offset
                if ready:
                    proc.p.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.002)
            reached = None
        rc = proc.wait()
        resumed = proc.resumed_at()
        if "--resume" in extra and resumed is not None and resumed != last_step:
            problems.append(f"resume {len(events)}: started at step {resumed}, the last complete checkpoint is at {last_step}")
        if rc == -signal.SIGKILL:
            done_kills += 1
            tmp = sorted(p.name for p in dir_.glob(".*.tmp")) if dir_.exists() else []
            during_write += any(name.endswith(".tmp") and ".pt." in name for name in tmp)
            for ckpt in sorted(dir_.glob("*.pt")) if dir_.exists() else []:
                try:
                    step = checkpoint_step(ckpt)
                except Exception as e:  # noqa: BLE001 - any failure to load is the finding
                    problems.append(f"kill {done_kills}: {ckpt.name} does not load ({e})")
                    continue
                if ckpt.name == "last.pt":
                    last_step = step
            events.append({"kill": done_kills, "resumed_at": resumed, "last_checkpoint": last_step, "tmp_left": tmp})
            log(f"{kind}: kill {done_kills}: resumed at {resumed}, last.pt now at step {last_step}, tmp files left: {tmp or 'none'}")
            continue
        if rc != 0:
            problems.append(f"a resumed run failed (exit {rc}): " + " | ".join(proc.lines[-5:]))
        break

    leftovers = sorted(p.name for p in dir_.glob(".*tmp"))
    if leftovers:
        problems.append(f"temporary files left at the end: {leftovers}")
    problems += check_log(dir_ / "log.jsonl", steps, eval_every)
    a = torch.load(ref_dir / "last.pt", map_location="cpu", weights_only=True)
    b = torch.load(dir_ / "last.pt", map_location="cpu", weights_only=True)
    for part in ("step", "networks", "ema", "optimizers", "schedulers"):
        if not tensors_equal(a[part], b[part]):
            problems.append(f"final {part} differ from the uninterrupted run's")
    result = {"kind": kind, "kills": done_kills, "during_checkpoint_write": during_write, "steps": steps,
              "resumes_ok": done_kills - sum(p.startswith("resume ") for p in problems), "problems": problems, "events": events}
    verdict = "OK" if not problems else "FAILED"
    log(f"{kind}: {verdict}: {done_kills} kills ({during_write} during a checkpoint write), final weights "
        f"{'bit-identical' if not any('final' in p for p in problems) else 'DIFFERENT'}; problems: {problems or 'none'}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs per kind of run (default 20)")
    ap.add_argument("--kind", choices=["conditional", "unconditional", "both"], default="both")
    ap.add_argument("--steps", type=int, default=40, help="training steps of each run (default 40)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    ap.add_argument("--work", help="folder for the runs (default: a temporary folder, removed after)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kill_resume_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        kinds = ["conditional", "unconditional"] if args.kind == "both" else [args.kind]
        results = [run_kind(k, args.kills, args.steps, args.seed, work, log=lambda m: print(m, flush=True)) for k in kinds]
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
    return 0 if all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
