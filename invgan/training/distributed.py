r"""Data-parallel training across processes (``torchrun``), for the :class:`~invgan.training.trainer.Trainer`.

One process per device (or per group of CPU cores); ``torchrun`` sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``, and :func:`init_from_env` joins the process
group (``nccl`` on CUDA, ``gloo`` on CPU). The trainer then

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

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..seeding import rank_seed

__all__ = ["DistInfo", "all_gather_objects", "current", "env_world_size", "init_from_env", "launch", "offset_generator",
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
