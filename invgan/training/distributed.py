r"""Data-parallel training across processes (``torchrun``), for the :class:`~invgan.training.trainer.Trainer`.

One process per device (or per group of CPU cores); ``torchrun`` sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``, and :func:`init_from_env` joins the process
group (``nccl`` on CUDA, ``gloo`` on CPU). The trainer then, through its :class:`DataParallel`,

* wraps each trained network in its own :class:`~torch.nn.parallel.DistributedDataParallel` for
  the duration of a step (the recipe sees the wrappers, everything else the plain networks), and
  runs every network a phase does not train under that wrapper's ``no_sync()`` (see
  :meth:`Trainer.train_step`);
* gives each rank its own data, latent and operator streams from rank-offset seeds
  (:func:`rank_seed`; rank 0 keeps the single-process seeds);
* writes logs, checkpoints, previews and evaluations on rank 0 only, with every rank's random
  state gathered into the checkpoint, so a resumed run continues exactly.

See docs/distributed.md.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from ..seeding import rank_seed
from . import checkpoint as ckpt

if TYPE_CHECKING:
    from .recipe import Recipe

__all__ = ["DataParallel", "DistInfo", "all_gather_objects", "barrier", "current", "env_world_size", "init_from_env", "launch", "launch_env",
           "offset_generator", "rank_seed", "report_rank_error", "shutdown"]


def offset_generator(g: torch.Generator | None, rank: int) -> None:
    """Re-seed ``g`` (any device) for ``rank``, from the seed it was created with."""
    if g is not None and rank:
        g.manual_seed(rank_seed(g.initial_seed(), rank))


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


#: what torchrun (or another launcher of ``env://`` process groups) sets in every process
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
#: the variables whose presence says "launched by torchrun"
RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launch_env() -> DistInfo:
    """This process's rank and world size from the environment a launcher (torchrun) sets: one
    process when none of ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` is set. A partial or inconsistent
    set (e.g. ``RANK=1`` left in a shell, without ``MASTER_ADDR``/``MASTER_PORT``) is a stale
    torchrun environment: :class:`ValueError` naming what to unset."""
    env = os.environ
    present = [v for v in (*RANK_VARIABLES, "MASTER_ADDR", "MASTER_PORT") if v in env]
    if not any(v in env for v in RANK_VARIABLES):
        return DistInfo()
    missing = [v for v in LAUNCH_VARIABLES if not env.get(v)]
    if not missing:
        try:
            rank, world, local = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", env["RANK"]))
        except ValueError:
            rank, world, local = -1, 0, -1
        if 0 <= rank < world and local >= 0:
            return DistInfo(rank, world, local)
    found = ", ".join(f"{v}={env[v]}" for v in present)
    lacking = f" without {', '.join(missing)}" if missing else " with inconsistent values"
    raise ValueError(f"a stale torchrun environment was found ({found}{lacking}): "
                     f"run `unset {' '.join(present)}`, or launch with torchrun or --nproc")


def env_world_size() -> int:
    """The number of processes the environment describes (1 without a launcher; a stale torchrun
    environment raises, see :func:`launch_env`)."""
    return launch_env().world_size


def current() -> DistInfo:
    """Rank and world size of the running process group (one process when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def init_from_env(device: str = "auto") -> DistInfo:
    """Join the process group ``torchrun`` describes in the environment (no-op for one process or
    when already joined). The backend is ``nccl`` when the run is on CUDA, else ``gloo``."""
    if env_world_size() <= 1 or not dist.is_available():
        return current()
    if not dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available() and str(device) in ("auto", "cuda") or str(device).startswith("cuda")
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    return current()


def barrier() -> None:
    """Wait for every process of the joined group (no-op without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_gather_objects(obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (a collective: every rank must call it)."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


#: the folder where each rank of a :func:`launch` writes its one-line error (set by :func:`launch`)
ERROR_DIR_VARIABLE = "INVGAN_RANK_ERRORS"


def report_rank_error(line: str, status: int) -> bool:
    """In a process started by :func:`launch`, hand ``line`` (this rank's error or interruption)
    and its exit ``status`` to the launching process, which prints one line for the run; ``False``
    elsewhere (the caller prints it)."""
    folder = os.environ.get(ERROR_DIR_VARIABLE)
    if not folder or "RANK" not in os.environ:
        return False
    try:
        with open(os.path.join(folder, f"rank{int(os.environ['RANK'])}.txt"), "w") as f:
            f.write(f"{status}\n{line}")
    except (OSError, ValueError):
        return False
    return True


def launch(nproc: int, module_args: list[str]) -> int:
    """Run ``python -m invgan <module_args>`` in ``nproc`` processes on this machine and return the
    exit status: torchrun's elastic agent runs here, in this process, so that

    * a SIGINT or SIGTERM sent to this process alone reaches the workers, and it waits for them
      (:class:`KeyboardInterrupt` is raised once they are gone);
    * a rank failing with invgan's own error prints its one line here, once (the first rank that
      failed), with its exit status, and no launcher traceback.
    """
    import logging
    import signal
    import tempfile
    import threading

    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    quiet = [logging.getLogger(name) for name in ("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")]
    levels = [q.level for q in quiet]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None),
                                                       getattr(signal, "SIGQUIT", None)) if sig is not None}
    environ = dict(os.environ)  # torchrun's set-up writes to it (OMP_NUM_THREADS)
    with tempfile.TemporaryDirectory(prefix="invgan-ranks-") as errors:
        os.environ[ERROR_DIR_VARIABLE] = errors
        try:
            for q in quiet:
                q.setLevel(logging.CRITICAL)
            run(parse_args(["--standalone", f"--nproc_per_node={nproc}", "-m", "invgan", *module_args]))
            return 0
        except SignalException as e:
            if e.sigval == signal.SIGINT:
                raise KeyboardInterrupt from None
            raise SystemExit(128 + int(e.sigval)) from None
        except ChildFailedError as e:
            return _report_failure(e, Path(errors), nproc, module_args[0] if module_args else "")
        finally:
            for q, level in zip(quiet, levels):
                q.setLevel(level)
            for sig, handler in handlers.items():
                if handler is not None and threading.current_thread() is threading.main_thread():
                    signal.signal(sig, handler)
            os.environ.clear()
            os.environ.update(environ)


def _report_failure(error: Any, folder: Path, nproc: int, command: str) -> int:
    """Print the line of the rank that failed first (the earliest it wrote) and return its status."""
    lines = sorted(folder.glob("rank*.txt"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    failures = getattr(error, "failures", {}) or {}
    if lines:
        rank = int(lines[0].stem[4:])
        status, _, text = lines[0].read_text().partition("\n")
        print(f"{text.strip()} (rank {rank} of {nproc})", file=sys.stderr)
        return int(status) if status.strip().isdigit() else 1
    rank, failure = min(failures.items()) if failures else (0, None)
    code = getattr(failure, "exitcode", 1)
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    print(f"invgan {command}: error: rank {rank} of {nproc} {how} without a message (out of memory?)".replace("  ", " "), file=sys.stderr)
    return 128 - code if code < 0 else code or 1


class DataParallel:
    r"""The trainer's data parallelism over the joined process group (inert in one process).

    Building it (every rank does) converts BatchNorm to SyncBatchNorm where asked and possible,
    makes one :class:`~torch.nn.parallel.DistributedDataParallel` wrapper per network in ``trained``
    and offsets this rank's random streams (:func:`rank_seed`; rank 0 keeps its seeds). It also
    carries every rank's random state into and out of checkpoints (:meth:`gather`, :meth:`restore`).

    :param recipe: the recipe whose ``networks`` are wrapped (``shard_streams`` re-seeds its streams).
    :param trained: the keys of the networks some phase trains.
    :param device: the device of this process.
    :param distributed: ``None``: data-parallel when a group of several processes is joined;
        ``True``: such a group is required; ``False``: one process whatever is joined.
    :param find_unused_parameters: DDP's option (a phase leaves parameters of a network it trains
        without a gradient).
    :param sync_batchnorm: SyncBatchNorm on CUDA (plain BatchNorm, with a warning, elsewhere).
    """

    def __init__(self, recipe: Recipe, trained: Iterable[str], device: torch.device, distributed: bool | None = None,
                 find_unused_parameters: bool = False, sync_batchnorm: bool = False):
        self.info = current() if distributed is not False else DistInfo()
        if distributed and not self.info.enabled:
            raise ValueError("distributed=True needs a joined torch.distributed process group with several processes (torchrun)")
        self.recipe = recipe
        self.wrappers: dict[str, nn.Module] = {}
        self._states: tuple[int, list[dict[str, Any]]] | None = None  # (step, every rank's random state)
        if not self.info.enabled:
            return
        from torch.nn.parallel import DistributedDataParallel as DDP

        networks = recipe.networks
        if sync_batchnorm:
            if device.type == "cuda":
                for key in list(networks):
                    # the same Parameter objects: the optimisers need no rebuilding
                    networks[key] = nn.SyncBatchNorm.convert_sync_batchnorm(networks[key])
            else:
                warnings.warn("sync_batchnorm needs CUDA: plain BatchNorm (per-process statistics) is used on "
                              f"{device.type}", stacklevel=3)
        ids = [device.index] if device.type == "cuda" else None
        # buffers are synced once, at construction, and not before every forward
        no_buffer_sync = {"forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DDP).parameters else "broadcast_buffers": False}
        for key in sorted(set(trained)):
            # broadcast_buffers=False: parameters stay identical through the averaged gradients;
            # buffers (BatchNorm statistics) are per process, rank 0's are the ones saved.
            self.wrappers[key] = DDP(networks[key], device_ids=ids, find_unused_parameters=find_unused_parameters, **no_buffer_sync)
        self._offset_streams()

    def _offset_streams(self) -> None:
        if self.info.rank:
            torch.manual_seed(rank_seed(torch.initial_seed(), self.info.rank))
            self.recipe.shard_streams(self.info.rank)

    @contextmanager
    def wrapped(self) -> Iterator[None]:
        """During a step the recipe sees each trained network's DDP wrapper (no-op in one process)."""
        if not self.wrappers:
            yield
            return
        networks = self.recipe.networks
        raw = {k: networks[k] for k in self.wrappers}
        try:
            for k, wrapper in self.wrappers.items():
                networks[k] = wrapper
            yield
        finally:
            for k, net in raw.items():
                networks[k] = net

    def shard(self, stream: Any) -> Any:
        """This process's part of ``stream`` (one with ``shard(rank, world_size)``), else ``stream``."""
        if self.info.enabled and hasattr(stream, "shard"):
            return stream.shard(self.info.rank, self.info.world_size)
        return stream

    def average(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over every process (``values`` itself in one process)."""
        if not self.info.enabled:
            return values
        dist.all_reduce(values)  # a NaN anywhere makes the mean NaN on every rank
        return values / self.info.world_size

    def only_syncing(self, keys: tuple[str, ...]) -> ExitStack:
        """Every DDP wrapper outside ``keys`` runs under ``no_sync()``: a network a phase calls but
        does not train (D in G's phase) gets no reducer state, so no reduction is left pending."""
        stack = ExitStack()
        for k, wrapper in self.wrappers.items():
            if k not in keys:
                stack.enter_context(wrapper.no_sync())
        return stack

    # ------------------------------------------------------------------ random states in checkpoints
    def gather(self, step: int) -> None:
        """Collect every process's random state at ``step`` (a collective: every rank calls it)."""
        if self.info.enabled:
            mine = {"rng": ckpt.rng_state(), "recipe_rng": self.recipe.rng_state()}
            self._states = (step, all_gather_objects(mine))

    def gathered(self, step: int) -> bool:
        """Whether :meth:`gather` ran at ``step``."""
        return self._states is not None and self._states[0] == step

    def checkpoint_entries(self, step: int) -> dict[str, Any]:
        """``{"rank_rng": [every rank's random state]}`` for a checkpoint at ``step`` (``{}`` in one
        process); gathers them first when :meth:`gather` has not run at ``step`` (then a collective)."""
        if not self.info.enabled:
            return {}
        if not self.gathered(step):
            self.gather(step)
        return {"rank_rng": self._states[1]}  # type: ignore[index]

    def restore(self, state: dict[str, Any]) -> None:
        """Restore this process's random streams from a checkpoint: its own rank's state when the
        checkpoint has one per rank of this run, else rank 0's (``rng``), re-seeded per process with
        a warning when the number of processes changed."""
        ranks = state.get("rank_rng")
        if self.info.enabled and ranks is not None and len(ranks) == self.info.world_size:
            mine = ranks[self.info.rank]
            ckpt.set_rng_state(mine["rng"])
            self.recipe.set_rng_state(mine["recipe_rng"])
            return
        ckpt.set_rng_state(state["rng"])  # rank 0's in a data-parallel checkpoint
        self.recipe.set_rng_state(state["recipe_rng"])
        if self.info.enabled or ranks is not None:
            warnings.warn(f"checkpoint of {len(ranks) if ranks else 1} process(es) resumed with {self.info.world_size}: "
                          "the random streams are re-seeded per process, not an exact continuation", stacklevel=3)
            self._offset_streams()
