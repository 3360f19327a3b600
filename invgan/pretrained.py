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

Loading a shipped model by name (or a file of ``invgan/weights/`` by its path) first checks the
``.pt`` file against the sha256 its provenance records (:func:`verify`): a changed or corrupted
file, even one flipped byte inside a tensor that ``torch.load`` reads without a word, is an error
naming the file and how to restore it (reinstall invgan). Each file content is hashed once: the
hash is remembered in the process and in ``~/.cache/invgan/weights-sha256.json``
(:func:`cached_sha256`), keyed by the file's path, size, times and inode. ``invgan weights``
shows ``ok`` or ``DAMAGED`` beside each recorded hash.

``scripts/export_weights.py RUN_DIR NAME --command "..."`` writes both; its export code (the
provenance, the check figure) is ``scripts/weights_export.py``, outside the package.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    Pretrained("stylegan2-mnist", "generator", "stylegan2-mnist",
               "28x28 MNIST StyleGAN2 generator, latent 64 (searchable in z, w, w+, noise and layer:l)"),
)}

#: the generator `invgan invert` and `invgan sample` use when none is given
DEFAULT_GENERATOR = "dcgan-mnist"
#: how to restore a damaged shipped file (every integrity message ends with it)
RESTORE = ("restore it by reinstalling invgan (`pip install --force-reinstall invgan`, or `git checkout -- invgan/weights/` "
           "in a source checkout)")
#: sha256 of the files hashed in this process, by :func:`_file_key`
_VERIFIED: dict[tuple, str] = {}

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
    """The provenance record (``NAME.json``) of shipped model ``name``; an unreadable record is an
    error naming its file."""
    path = pretrained_path(name).with_suffix(".json")
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} has weights but no provenance file {path}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"provenance file {path} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}): {RESTORE}") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"provenance file {path} is not valid JSON (not UTF-8 text): {RESTORE}") from e
    if not isinstance(record, dict):
        raise ValueError(f"provenance file {path} holds a JSON {type(record).__name__}, not a record: {RESTORE}")
    return record


def sha256(path: str | Path) -> str:
    """The hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """invgan's cache folder, as for the digit classifiers: ``$XDG_CACHE_HOME/invgan``, else
    ``~/.cache/invgan`` (never inside the installed package)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "invgan"


def _file_key(path: Path) -> tuple:
    """What identifies a file's content without reading it: path, size, times and inode."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def cached_sha256(path: str | Path) -> str:
    """:func:`sha256` of a file, hashed once per content: remembered in this process and in
    ``cache_dir()/weights-sha256.json`` by the file's path, size, modification and change times
    and inode, so a file that is rewritten is hashed again. A cache that cannot be read or written
    is ignored (the file is hashed)."""
    key = _file_key(Path(path))
    if key in _VERIFIED:
        return _VERIFIED[key]
    cache: Path | None = None
    entries: dict[str, Any] = {}
    try:
        cache = cache_dir() / "weights-sha256.json"
        loaded = json.loads(cache.read_text(encoding="utf-8"))
        entries = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError, RuntimeError):  # no cache yet, an unreadable one, no home folder
        pass
    entry = entries.get(key[0])
    if isinstance(entry, dict) and entry.get("stat") == list(key[1:]) and isinstance(entry.get("sha256"), str):
        digest = entry["sha256"]
    else:
        digest = sha256(path)
        entries[key[0]] = {"stat": list(key[1:]), "sha256": digest}
        if cache is not None:
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
                os.replace(tmp, cache)
            except OSError:  # a read-only home: hashed again next time
                pass
    _VERIFIED[key] = digest
    return digest


def integrity(name: str) -> tuple[bool, str, str]:
    """Whether the ``.pt`` file of shipped model ``name`` has the sha256 its provenance records:
    ``(ok, the file's sha256, the recorded one)`` (hashed once per content, :func:`cached_sha256`)."""
    path = pretrained_path(name)
    recorded = provenance(name).get("sha256")
    if not isinstance(recorded, str):
        raise ValueError(f"provenance file {path.with_suffix('.json')} records no sha256 of {path.name}: {RESTORE}")
    actual = cached_sha256(path)
    return actual == recorded, actual, recorded


def verify(name: str) -> Path:
    """The ``.pt`` file of shipped model ``name``, checked against the sha256 of its provenance;
    a changed or corrupted file (one flipped byte) is an error naming it and how to restore it."""
    ok, actual, recorded = integrity(name)
    path = pretrained_path(name)
    if not ok:
        raise ValueError(f"{path} is damaged (shipped model {name!r}): its sha256 is {actual[:12]}..., its provenance "
                         f"{path.with_suffix('.json').name} records {recorded[:12]}...; {RESTORE}")
    return path


def _shipped_name(path: Path) -> str | None:
    """The model name of a file of the shipped weights folder, ``None`` for any other file."""
    try:
        inside = path.resolve().parent == weights_dir().resolve()
    except OSError:
        return None
    return path.stem if inside and path.suffix == ".pt" and path.stem in REGISTRY else None


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
    """The weights file of shipped model ``name`` (float32), its sha256 checked first
    (:func:`verify`), see :func:`read_weights`."""
    return read_weights(verify(name), map_location)


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
    error: a missing file, or an unknown name listing the shipped ones (an empty name too: it
    would be the current folder)."""
    if not arg.strip():
        raise ValueError("the checkpoint argument is empty (an unset shell variable?): expected a checkpoint file or the name of "
                         f"a shipped model ({', '.join(list_pretrained(shipped_only=True)) or 'none'})")
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
        shipped = _shipped_name(path) if path.is_file() else None
        if shipped is not None:  # a shipped file given by its path: checked as by its name
            verify(shipped)
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
            + (f"; {figures}" if figures else "") + f"; sha256 {p['sha256'][:12]} {_state(name)}")


def _state(name: str) -> str:
    """``ok``, or ``DAMAGED`` with the file's own hash and what to do (for `invgan weights`)."""
    ok, actual, _ = integrity(name)
    return "ok" if ok else f"DAMAGED (the file's sha256 is {actual[:12]}; reinstall invgan)"


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
