r"""Atomic checkpoints and the random-number state needed to resume a run exactly.

A trainer checkpoint holds ``networks`` (one state dict per network), ``ema`` (the
:class:`~torch.optim.swa_utils.AveragedModel` of the generator, keys prefixed ``module.``, or
``None``) and ``config`` (the run configuration). Reading a trained network back (:func:`load`,
:func:`export_network`, :func:`load_generator`, :func:`ema_states`) needs no training code: it
lives in :mod:`invgan.loading`, and is re-exported here for the callers that import it from here."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..loading import ema_states, export_network, load, load_generator

__all__ = ["TRAINER_KEYS", "ema_states", "export_network", "load", "load_generator", "load_trainer_state",
           "remove_stale_tmp", "rng_state", "save_atomic", "set_rng_state"]


def save_atomic(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` to a temporary file in the same folder, fsync it, then rename it over ``path``:
    a crash mid-write never leaves a half-written file in place of a good checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make checkpoints the only private outputs
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


#: what every trainer checkpoint holds
TRAINER_KEYS = ("step", "networks", "optimizers", "schedulers", "scaler", "rng", "recipe_rng", "best")


def load_trainer_state(path_or_state: str | Path | dict[str, Any], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A trainer checkpoint (``last.pt``/``best.pt``), loaded and checked to be one: a file holding
    anything else (a bare tensor, an exported network) is a one-line error naming what it holds."""
    where = str(path_or_state) if isinstance(path_or_state, (str, Path)) else "the given state"
    state = load(path_or_state, map_location) if isinstance(path_or_state, (str, Path)) else path_or_state
    if not isinstance(state, dict):
        raise ValueError(f"not an invgan trainer checkpoint: {where} holds a {type(state).__name__}")
    missing = [k for k in TRAINER_KEYS if k not in state]
    if missing:
        what = "an exported network" if "state_dict" in state else f"a dict without {', '.join(repr(k) for k in missing)}"
        raise ValueError(f"not an invgan trainer checkpoint: {where} holds {what}")
    return state


def remove_stale_tmp(folder: str | Path) -> list[Path]:
    """Delete the temporary files :func:`save_atomic` leaves when it is killed mid-write
    (``.NAME.*.tmp``, as large as a checkpoint); returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.glob(".*.pt.*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def rng_state() -> dict[str, Any]:
    """Global random streams (torch CPU/CUDA, numpy, random) in a ``weights_only``-safe form."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
