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
import subprocess
import sys
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from ..seeding import rank_seed
from . import checkpoint as ckpt

if TYPE_CHECKING:
    from .recipe import Recipe

__all__ = ["DataParallel", "DistInfo", "all_gather_objects", "current", "env_world_size", "init_from_env", "launch", "offset_generator",
           "rank_seed", "shutdown"]


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


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


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


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_gather_objects(obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (a collective: every rank must call it)."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def launch(nproc: int, module_args: list[str]) -> int:
    """Run ``python -m invgan <module_args>`` in ``nproc`` processes on this machine through
    ``torch.distributed.run`` (torchrun) and return its exit status."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "invgan", *module_args]
    return subprocess.call(cmd)


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
