r"""Trained weights that ship with invgan (``invgan/weights/``), with their provenance: finding
them, reading them and rebuilding their networks. Loading needs no training code: this module
imports :mod:`invgan.loading` and :mod:`invgan.builders`, never :mod:`invgan.training`.

Each shipped model ``NAME`` is two files of package data:

* ``NAME.pt``: a weights-only file (``torch.load(..., weights_only=True)``),
  ``{"format": "invgan-weights", "version", "name", "network", "config", "state_dict", "dtype",
  "ema", "step"}``. ``network`` is ``"generator"`` (an unconditional or AmbientGAN run's ``G``,
  rebuilt from ``config["generator"]``) or ``"reconstructor"`` (a conditional run's ``G``, rebuilt
  from the run config by :func:`invgan.builders.build_reconstructor`); ``config`` is the
  run's whole config (``config.json``). Floating tensors are stored as ``dtype`` (float32 by
  default; float16 halves the size) and cast back to float32 on load; ``state_dict`` holds the EMA weights when the run
  kept an EMA copy (``ema``). As ``{"config", "state_dict"}`` it is also an exported network
  that :func:`invgan.loading.load_generator` accepts.
* ``NAME.json``: provenance: the training command, preset, steps, seed, git commit, dates,
  machine, torch version, the ``.pt`` file's sha256, the measured metrics and a small check
  figure that ``tests/test_pretrained.py`` re-measures.

``scripts/export_weights.py RUN_DIR NAME --command "..."`` writes both; its export code (the
provenance, the check figure) is ``scripts/weights_export.py``, outside the package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .loading import load, load_generator

FORMAT = "invgan-weights"
VERSION = 1
NETWORKS = ("generator", "reconstructor")
DTYPES = {"float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class Pretrained:
    """A shipped model: its name, what network it is, the preset that trains it, one line about it."""

    name: str
    network: str
    preset: str
    about: str


#: every model name invgan knows; a name whose files are not in ``invgan/weights/`` is not shipped yet
REGISTRY: dict[str, Pretrained] = {p.name: p for p in (
    Pretrained("dcgan-mnist", "generator", "dcgan-mnist", "28x28 MNIST DCGAN generator, latent 64 (the prior of `invgan invert`)"),
    Pretrained("ambientgan-mnist", "generator", "ambientgan-mnist",
               "28x28 MNIST generator learnt from digits with half the pixels missing (AmbientGAN, no clean digit seen)"),
    Pretrained("sr4", "reconstructor", "sr4", "x4 super-resolution conditional reconstructor (bicubic downsampling, grayscale)"),
)}

#: the generator `invgan invert` and `invgan sample` use when none is given
DEFAULT_GENERATOR = "dcgan-mnist"

def weights_dir() -> Path:
    """The folder of the shipped files (package data)."""
    return Path(__file__).resolve().parent / "weights"


def list_pretrained(shipped_only: bool = False) -> list[str]:
    """The registered model names (with ``shipped_only``, those whose ``.pt`` file is present)."""
    return [n for n in REGISTRY if not shipped_only or (weights_dir() / f"{n}.pt").is_file()]


def registry_entry(name: str) -> Pretrained:
    """The registry entry of model ``name``; a clear error for an unknown name.

    >>> registry_entry("sr4").network
    'reconstructor'
    """
    if name not in REGISTRY:
        shipped = list_pretrained(shipped_only=True)
        raise ValueError(f"unknown pretrained model {name!r}: expected one of {', '.join(REGISTRY)} "
                         f"(shipped in this installation: {', '.join(shipped) or 'none'})")
    return REGISTRY[name]


def pretrained_path(name: str) -> Path:
    """The ``.pt`` file of shipped model ``name``; a clear error for an unknown name or a missing file."""
    registry_entry(name)
    path = weights_dir() / f"{name}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} is registered but its weights are not in this installation "
                                f"(expected {path}; write them with scripts/export_weights.py RUN_DIR {name} --command ...)")
    return path


def provenance(name: str) -> dict[str, Any]:
    """The provenance record (``NAME.json``) of shipped model ``name``."""
    path = pretrained_path(name).with_suffix(".json")
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} has weights but no provenance file {path}")
    return json.loads(path.read_text())


def sha256(path: str | Path) -> str:
    """The hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_weights(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A weights file (``weights_only=True``), checked, with its floating tensors cast to float32."""
    return checked_weights(load(path, map_location), str(path))


def checked_weights(state: Any, where: str) -> dict[str, Any]:
    """A loaded weights file checked to be one of this version, floating tensors cast to float32."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"not an invgan weights file: {where} (expected a file written by scripts/export_weights.py)")
    if state.get("version") != VERSION or state.get("network") not in NETWORKS:
        raise ValueError(f"{where}: unsupported weights file (version {state.get('version')!r}, network {state.get('network')!r}); "
                         f"expected version {VERSION}, network one of {NETWORKS}")
    state["state_dict"] = {k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()}
    return state


def load_weights(name: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checked weights file of shipped model ``name`` (float32), see :func:`read_weights`."""
    return read_weights(pretrained_path(name), map_location)


def build_network(state: dict[str, Any], where: str = "the weights") -> nn.Module:
    """The network of a weights state (``{"network", "config", "state_dict"}``), in eval mode."""
    if state["network"] == "generator":
        return load_generator({"config": state["config"], "state_dict": state["state_dict"]}, name=where)
    from .config import ConditionalConfig, resolve
    from .builders import build_reconstructor

    cfg = resolve(data=state["config"])
    if not isinstance(cfg, ConditionalConfig):
        raise ValueError(f"{where}: a reconstructor needs a conditional run config, got a {state['config'].get('kind')} one")
    model = build_reconstructor(cfg)
    model.load_state_dict(state["state_dict"])
    return model.eval()


def load_pretrained(name: str, device: str | torch.device = "cpu") -> nn.Module:
    """Shipped model ``name`` rebuilt with its weights (float32), in eval mode on ``device``."""
    return build_network(load_weights(name), f"pretrained model {name!r}").to(device)


def resolve_checkpoint(arg: str) -> tuple[Path, str | None]:
    """What a ``--generator``/``--checkpoint`` argument names: an existing file (returned as it is,
    name ``None``) or a shipped model name (its ``.pt`` file and the name). Anything else is an
    error: a missing file, or an unknown name listing the shipped ones."""
    path = Path(arg)
    if path.is_file():
        return path, None
    if arg in REGISTRY:
        return pretrained_path(arg), arg
    shipped = ", ".join(list_pretrained(shipped_only=True)) or "none"
    if path.exists():  # a folder: the checkpoint loader says what is wrong with it
        return path, None
    if "/" in arg or "\\" in arg or path.suffix:
        raise FileNotFoundError(f"checkpoint not found: {path} (expected a checkpoint file or a shipped model: {shipped})")
    raise ValueError(f"{arg!r} is neither a checkpoint file nor a shipped model: expected a checkpoint path or the name of "
                     f"a shipped model ({shipped})")


def load_checkpoint_or_weights(arg: str, map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], str, Path]:
    """A trainer checkpoint or an exported network, or a shipped model by name (then a
    ``{"config", "state_dict", ...}`` that the loaders of :mod:`invgan.loading`
    accept), what messages call it (the path, or ``shipped model 'NAME'``) and its file."""
    path, name = resolve_checkpoint(arg)
    if name is None:
        state = load(path, map_location)
        if isinstance(state, dict) and "format" in state:  # a weights file given by its path
            state = checked_weights(state, str(path))
        return state, str(path), path
    return load_weights(name, map_location), f"shipped model {name!r}", path


def summary(name: str) -> str:
    """One line about shipped model ``name``: what it is, how it was trained, its headline figures."""
    entry = registry_entry(name)
    path = weights_dir() / f"{name}.pt"
    if not path.is_file():
        return f"{name:<17} {entry.network:<13} not shipped in this installation ({entry.about})"
    p = provenance(name)
    figures = ", ".join(f"{k} {v:.4g}" for k, v in _headline(p.get("metrics", {})).items())
    return (f"{name:<17} {entry.network:<13} {p['size_bytes'] / 1e6:.2f} MB {p['dtype']}, `{p['command']}`, "
            f"step {p['checkpoint_step']}/{p['steps']}, {p['exported'][:10]}"
            + (f"; {figures}" if figures else "") + f"; sha256 {p['sha256'][:12]}")


#: the figures of a provenance's metrics that `invgan weights` shows (``section.key``)
HEADLINE = ("eval.fd", "eval.precision", "eval.recall", "eval.psnr", "eval.ssim", "cs_m100.mean_mse", "cs_m100.mean_psnr")


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The :data:`HEADLINE` figures a metrics record holds."""
    out: dict[str, float] = {}
    for key in HEADLINE:
        section, name = key.split(".")
        value = metrics.get(section, {}).get(name) if isinstance(metrics.get(section), dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out
