"""Data-parallel training on CPU: 2 processes with the gloo backend, launched by torchrun.

One torchrun launch (tests/training/distributed_worker.py) runs every scenario; this file checks its
outputs: identical weights on both ranks, an exact resume, and agreement with one process
trained on the same global batch.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("distributed_worker.py")


def _worker():
    """The worker module, imported by its path (tests/ is not on ``sys.path`` under importlib mode)."""
    if "distributed_worker" not in sys.modules:
        spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
        sys.modules["distributed_worker"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["distributed_worker"]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(WORKER.parent)]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def load(out: Path, name: str, rank: int) -> dict[str, dict[str, torch.Tensor]]:
    return torch.load(out / f"{name}_rank{rank}.pt", weights_only=True)


def flat(state: dict[str, dict[str, torch.Tensor]]) -> torch.Tensor:
    return torch.cat([v.flatten().float() for net in state.values() for v in net.values()])


def test_ranks_hold_identical_weights(ddp_runs):
    for name in ("full", "resumed", "clean"):
        assert torch.equal(flat(load(ddp_runs, name, 0)), flat(load(ddp_runs, name, 1))), name
    # and training changed them
    assert not torch.equal(flat(load(ddp_runs, "first", 0)), flat(load(ddp_runs, "full", 0)))


def test_resumed_ddp_run_continues_exactly(ddp_runs):
    state = torch.load(ddp_runs / "first" / "last.pt", weights_only=True)
    assert len(state["rank_rng"]) == 2  # every rank's random state is in the checkpoint
    for rank in (0, 1):
        assert torch.equal(flat(load(ddp_runs, "resumed", rank)), flat(load(ddp_runs, "full", rank)))


def test_matches_one_process_on_the_global_batch(ddp_runs):
    """2 processes x 2 crops = 1 process x the same 4 crops: the gradient of a mean loss is the mean
    of the per-process gradients, so the weights agree up to float rounding of the reduction order
    (no BatchNorm, no measurement noise: nothing else differs between the two runs)."""
    w = _worker()

    shards = [w.stream().shard(r, 2) for r in range(2)]
    batches = [torch.cat([s[t] for s in shards]) for t in range(w.STEPS)]
    trainer = w.make_trainer(w.STEPS, noise=False)
    assert not trainer.dist.enabled
    trainer.fit(batches)
    one = flat({k: v.state_dict() for k, v in trainer.networks.items()})
    two = flat(load(ddp_runs, "clean", 0))
    start = flat(load_initial(w))
    assert (one - start).abs().max() > 1e-3  # the weights moved
    torch.testing.assert_close(two, one, rtol=1e-4, atol=1e-5)


def test_adapted_std_reward_keeps_one_scale_from_the_errors_of_both_ranks(ddp_runs):
    """rcGAN's adapted weight sums the draws' errors over the processes, so the ranks never drift apart."""
    from invgan.losses import GANStep, StdReward

    w = _worker()
    scales = [torch.load(ddp_runs / f"std_scale_rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert torch.equal(scales[0], scales[1])
    draws = [w.rank_draws(r) for r in (0, 1)]
    samples, x = torch.cat([d[0] for d in draws]), torch.cat([d[1] for d in draws])  # one process, both batches
    one = StdReward(adapt=0.5)
    one(GANStep(x_hat=samples.flatten(0, 1), batch={"x": x}, extras={"samples": samples}, step=1))
    torch.testing.assert_close(scales[0], one.scale)
    alone = StdReward(adapt=0.5)
    alone(GANStep(x_hat=draws[0][0].flatten(0, 1), batch={"x": draws[0][1]}, extras={"samples": draws[0][0]}, step=1))
    assert not torch.allclose(alone.scale, one.scale)  # rank 0's own batch alone would give another scale


def load_initial(w) -> dict[str, dict[str, torch.Tensor]]:
    t = w.make_trainer(w.STEPS, noise=False)
    return {k: v.state_dict() for k, v in t.networks.items()}


def test_stream_shards_split_the_global_batch():
    from invgan.data import CropStream

    s = CropStream([torch.rand(1, 20, 20)], 8, 4, seed=1)
    a, b = s.shard(0, 2), s.shard(1, 2)
    assert a.batch_size == b.batch_size == 2 and a.seed == 1 and b.seed != 1
    assert not torch.equal(a[0], b[0])
    with pytest.raises(ValueError, match="not divisible"):
        s.shard(0, 3)


def test_rank_streams_differ_in_values():
    """Rank-offset seeds give other numbers (not only another saved seed: torch's CPU generator
    ignores the high 32 bits of a seed)."""
    from invgan.physics import make_physics
    from invgan.training.gan import LatentInput

    def draws(rank: int) -> tuple[torch.Tensor, torch.Tensor]:
        op = make_physics("inpainting", (1, 8, 8), keep=0.5, noise_sigma=0.1, fresh_per_sample=True)
        z = LatentInput(4, seed=0)
        op.shard_streams(rank)
        z.shard_streams(rank)
        return op.measure(torch.ones(2, 1, 8, 8)), z.latents(2, torch.device("cpu"))

    (y0, z0), (y1, z1), (y0b, z0b) = draws(0), draws(1), draws(0)
    assert torch.equal(y0, y0b) and torch.equal(z0, z0b)
    assert not torch.equal(y0, y1) and not torch.equal(z0, z1)


def test_nproc_relaunches_the_same_command_without_it():
    from invgan.cli import build_parser
    from invgan.cli.train import relaunch_arguments

    args = build_parser().parse_args(["train", "--nproc", "2", "--preset", "demo", "--set", "train.steps=3", "--out", "r"])
    assert args.nproc == 2
    assert relaunch_arguments(args) == ["train", "--preset", "demo", "--out", "r", "--set", "train.steps=3"]


def test_distributed_true_needs_a_process_group():
    w = _worker()

    with pytest.raises(ValueError, match="process group"):
        t = w.make_trainer(1, noise=False)
        type(t)(t.recipe, t.optimizers, 1, device="cpu", distributed=True)


# ---------------------------------------------------------------------- launch environment and --nproc
def test_launch_env_reads_a_torchrun_environment_and_refuses_a_stale_one(monkeypatch):
    from invgan.training.distributed import DistInfo, launch_env

    for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(v, raising=False)
    assert launch_env() == DistInfo()
    monkeypatch.setenv("MASTER_PORT", "29500")  # alone: not a launch
    assert launch_env() == DistInfo()
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ValueError, match=r"stale torchrun environment was found \(RANK=1, MASTER_PORT=29500 without WORLD_SIZE, MASTER_ADDR\)"
                                         r": run `unset RANK MASTER_PORT`"):
        launch_env()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launch_env() == DistInfo(1, 2, 1)
    monkeypatch.setenv("RANK", "2")  # rank outside the world
    with pytest.raises(ValueError, match="inconsistent values"):
        launch_env()


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found.update(kids)
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _nproc_cmd(tiny_overrides, *extra: str) -> list[str]:
    sets = [a for o in [*tiny_overrides, *extra] for a in ("--set", o)]
    return [sys.executable, "-m", "invgan", "train", "--nproc", "2", *sets]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("target", ["parent", "group"])
def test_ctrl_c_to_the_parent_of_nproc_stops_the_workers(tiny_overrides, tmp_path, target):
    """``kill -INT PARENT`` of ``invgan train --nproc 2``: the workers get the signal too, the
    parent waits for them and exits with 130. Ctrl-C in a terminal (the signal to the whole process
    group, then passed on by the parent again) ends the same way."""
    import signal
    import time

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "stderr.txt", "w+")  # a file, not a pipe: workers left running would hold a pipe open
    proc = subprocess.Popen(_nproc_cmd(tiny_overrides, "train.steps=1000000", "train.log_every=1"), env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and not ((run / "log.jsonl").is_file() and len(workers) >= 2):
            workers = {p for p in _children(proc.pid) if "invgan" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")} if (run / "log.jsonl").is_file() else set()
            time.sleep(0.2)
        assert proc.poll() is None and len(workers) >= 2, (tmp_path / "stderr.txt").read_text() or "training did not start"
        if target == "parent":
            proc.send_signal(signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=300)
        err = (tmp_path / "stderr.txt").read_text()
        assert proc.returncode == 130, err
        assert "Traceback" not in err and err.strip().splitlines()[-1] == "invgan train: interrupted", err
        assert not [p for p in workers if _alive(p)], "workers still running after the parent exited"
    finally:
        for p in workers | ({proc.pid} if proc.poll() is None else set()):
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        log.close()


def test_a_rank_failing_with_invgan_error_prints_one_line(tiny_overrides, tmp_path):
    """A check only the workers make (the data) fails on every rank: one line, the rank's status,
    no launcher traceback; the run that ``--overwrite`` would replace is left as it was."""
    empty = tmp_path / "empty"
    (empty / "train").mkdir(parents=True)
    (empty / "test").mkdir()
    old = tmp_path / "old"
    old.mkdir()
    for name in ("last.pt", "pretrained.pt", "log.jsonl"):
        (old / name).write_text("the old run")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [*_nproc_cmd(tiny_overrides, f"data.source='{empty}'"), "--overwrite", "--out", str(old)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "ChildFailedError" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("invgan train: error: ") and lines[0].endswith(" of 2)"), proc.stderr
    assert sorted(p.name for p in old.iterdir()) == ["last.pt", "log.jsonl", "pretrained.pt"]
    assert all(p.read_text() == "the old run" for p in old.iterdir())


def test_the_launcher_reports_the_first_rank_that_failed(tmp_path, capsys):
    from types import SimpleNamespace

    from invgan.training.distributed import _report_failure

    killed = SimpleNamespace(failures={1: SimpleNamespace(exitcode=-9)})
    assert _report_failure(killed, tmp_path, 2, "train") == 137
    assert capsys.readouterr().err.strip() == "invgan train: error: rank 1 of 2 was killed by signal 9 without a message (out of memory?)"
    (tmp_path / "rank1.txt").write_text("2\ninvgan train: error: first")
    (tmp_path / "rank0.txt").write_text("1\ninvgan train: error: second")
    os.utime(tmp_path / "rank0.txt", ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))  # written later
    assert _report_failure(killed, tmp_path, 2, "train") == 2
    assert capsys.readouterr().err.strip() == "invgan train: error: first (rank 1 of 2)"
