r"""Reading trained networks back without the training code: checkpoint files loaded safely
(``weights_only=True``), one network's (EMA) weights picked from a checkpoint, and a latent
generator rebuilt from its config.

A trainer checkpoint holds ``networks`` (one state dict per network), ``ema`` (the
:class:`~torch.optim.swa_utils.AveragedModel` copies, keys prefixed ``module.``, or ``None``) and
``config`` (the run configuration); an exported network is ``{"config": ..., "state_dict": ...}``.
:mod:`invgan.pretrained` and the commands that only load a network use this module, so they never
import :mod:`invgan.training` (whose :mod:`~invgan.training.checkpoint` re-exports these names).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .nets.generators import LatentGenerator


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs on load).

    >>> import tempfile, torch
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     torch.save({"step": 3}, f"{tmp}/last.pt")
    ...     load(f"{tmp}/last.pt")
    {'step': 3}
    """
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


def ema_states(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The EMA copies a trainer checkpoint holds, by network key. Checkpoints written before EMA
    copies could be kept for any network hold one copy, of ``"G"``, directly under ``"ema"``.

    >>> ema_states({"ema": {"n_averaged": 5, "module.w": 1.0}})
    {'G': {'n_averaged': 5, 'module.w': 1.0}}
    >>> ema_states({"ema": None})
    {}
    """
    ema = state.get("ema")
    if not ema:
        return {}
    if "n_averaged" in ema:  # one AveragedModel state: the single-generator format
        return {"G": ema}
    return dict(ema)


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
    entries reads the file once; ``name`` is what errors call it then (its file).

    >>> ckpt = {"networks": {"G": {"w": 0.0}}, "ema": {"n_averaged": 9, "module.w": 0.5}, "config": {"kind": "x"}}
    >>> export_network(ckpt)
    ({'w': 0.5}, {'kind': 'x'})
    >>> export_network(ckpt, ema=False)[0]
    {'w': 0.0}
    """
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
    from .nets.generators import make_generator
    from .nets.spectral import power_iterate, spectral_vectors_are_unit

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
    if not spectral_vectors_are_unit(G):  # EMA copies saved before their spectral norms iterated
        power_iterate(G, rounds=50)
    return G.eval()
