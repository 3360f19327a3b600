r"""Atomic checkpoints, the random-number state needed to resume a run exactly, and the
export of one trained network (its EMA copy or its raw weights) from a checkpoint.

A trainer checkpoint holds ``networks`` (one state dict per network), ``ema`` (the
:class:`~torch.optim.swa_utils.AveragedModel` of the generator, keys prefixed ``module.``, or
``None``) and ``config`` (the run configuration). An exported network is
``{"config": ..., "state_dict": ...}``."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ..nets.generators import LatentGenerator


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


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs on load)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated or foreign file
        if path.is_dir():
            raise IsADirectoryError(f"expected a checkpoint file, got a folder: {path}") from e
        reason = str(e).strip().splitlines()[0].split(". ")[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"not a readable invgan checkpoint: {path} ({reason}; truncated or not a checkpoint)") from e


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


def _ema_weights(ema: dict[str, Any]) -> dict[str, Any]:
    """An EMA copy's weights with the ``module.`` prefix of ``AveragedModel`` removed."""
    return {k.removeprefix("module."): v for k, v in ema.items() if k.startswith("module.")}


def export_network(path_or_state: str | Path | dict[str, Any], key: str = "G", ema: bool = True,
                   map_location: str | torch.device = "cpu", name: str | Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    r"""The weights of network ``key`` of a checkpoint and the checkpoint's config.

    Returns the EMA weights :math:`\bar\theta` when ``ema`` and the checkpoint kept an EMA copy of
    that network, else its raw weights :math:`\theta`; an exported network
    (``{"config", "state_dict"}``) is returned as it is. ``path_or_state`` is a file (loaded with
    ``weights_only=True``) or an already loaded checkpoint, so a caller that also needs other
    entries reads the file once; ``name`` is what errors call it then (its file)."""
    where = str(path_or_state) if isinstance(path_or_state, (str, Path)) else str(name or "the given state")
    state = load(path_or_state, map_location) if isinstance(path_or_state, (str, Path)) else path_or_state
    if not isinstance(state, dict) or not ("networks" in state or "state_dict" in state):
        raise ValueError(f"not an invgan checkpoint: {where} holds a {type(state).__name__}, not a trainer checkpoint or an exported network")
    if state.get("config") is None:
        raise ValueError(f"checkpoint {where} has no config: the networks cannot be rebuilt without it")
    if "state_dict" in state and "networks" not in state:
        return state["state_dict"], state["config"]
    networks = state["networks"]
    if key not in networks:
        raise ValueError(f"checkpoint {where} has no network {key!r}: it holds {tuple(networks)}")
    copies = ema_states(state) if ema else {}
    return (_ema_weights(copies[key]) if key in copies else networks[key]), state["config"]


def load_generator(path_or_state: str | Path | dict[str, Any], use_ema: bool = True, map_location: str = "cpu",
                   name: str | Path | None = None) -> LatentGenerator:
    """Rebuild the generator ``G`` of an unconditional (or AmbientGAN) run from its checkpoint
    (``config["generator"]``; EMA weights when kept and ``use_ema``, see :func:`export_network`)
    or from an exported ``{"config", "state_dict"}``; returned in eval mode. ``name`` is what
    errors call an already loaded checkpoint (its file)."""
    from ..nets.generators import make_generator

    weights, config = export_network(path_or_state, "G", ema=use_ema, map_location=map_location, name=name)
    where = str(path_or_state) if isinstance(path_or_state, (str, Path)) else str(name or "the given checkpoint")
    run_kind = config.get("kind") if isinstance(config, dict) and "generator" not in config else None
    if run_kind in ("conditional", "invert", "dip"):
        raise ValueError(f"{where} is a checkpoint of a {run_kind} run (a reconstructor), not of a generator: "
                         "expected an unconditional or AmbientGAN run")
    config = config.get("generator", config) if isinstance(config, dict) else config
    if not isinstance(config, dict) or "kind" not in config:
        raise ValueError(f"{where} holds no generator config (expected a latent-generator run of invgan)")
    try:
        G = make_generator(**config)
        G.load_state_dict(weights)
    except (TypeError, RuntimeError) as e:
        raise ValueError(f"{where}: the generator cannot be rebuilt from its config ({' '.join(str(e).split())[:300]})") from e
    return G.eval()


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


def ema_states(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The EMA copies a trainer checkpoint holds, by network key. Checkpoints written before EMA
    copies could be kept for any network hold one copy, of ``"G"``, directly under ``"ema"``."""
    ema = state.get("ema")
    if not ema:
        return {}
    if "n_averaged" in ema:  # one AveragedModel state: the single-generator format
        return {"G": ema}
    return dict(ema)
