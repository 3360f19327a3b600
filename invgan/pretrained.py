r"""Trained weights that ship with invgan (``invgan/weights/``), with their provenance.

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
  machine, torch version, the ``.pt`` file's sha256, the measured metrics and a small
  :func:`check_figure` that ``tests/test_pretrained.py`` re-measures.

``scripts/export_weights.py RUN_DIR NAME --command "..."`` (:func:`export_run`) writes both.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import subprocess
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

#: the small-size figure :func:`check_figure` measures (and the tests re-measure), per network kind
CHECK_PROTOCOL: dict[str, dict[str, Any]] = {
    "generator": {"figure": "mean_mse", "images": 8, "physics": "cs", "m": 100, "noise_sigma": 0.1, "restarts": 2,
                  "max_steps": 150, "prior_weight": 0.1, "seed": 0,
                  "about": "latent search (invgan invert's defaults but 2 restarts x at most 150 Adam steps) on the first 8 "
                           "held-out digits, CS m = 100, noise 0.1, seed 0; per-pixel MSE"},
    "reconstructor": {"figure": "psnr", "crops": 2, "seed": 1234,
                      "about": "mean PSNR (dB) of the reconstructor on 2 crops of the run's held-out images (fixed_crops(images, "
                               "crop, 2), seed 1234), measured as the run's evaluation measures (seed 1234)"},
}


def weights_dir() -> Path:
    """The folder of the shipped files (package data)."""
    return Path(__file__).resolve().parent / "weights"


def list_pretrained(shipped_only: bool = False) -> list[str]:
    """The registered model names (with ``shipped_only``, those whose ``.pt`` file is present)."""
    return [n for n in REGISTRY if not shipped_only or (weights_dir() / f"{n}.pt").is_file()]


def _entry(name: str) -> Pretrained:
    if name not in REGISTRY:
        shipped = list_pretrained(shipped_only=True)
        raise ValueError(f"unknown pretrained model {name!r}: expected one of {', '.join(REGISTRY)} "
                         f"(shipped in this installation: {', '.join(shipped) or 'none'})")
    return REGISTRY[name]


def pretrained_path(name: str) -> Path:
    """The ``.pt`` file of shipped model ``name``; a clear error for an unknown name or a missing file."""
    _entry(name)
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


# ---------------------------------------------------------------------- the check figure
def _cs_check(G: nn.Module, config: dict[str, Any], p: dict[str, Any]) -> float:
    """Mean per-pixel MSE of latent search through ``G`` on held-out digits (``invgan invert``'s pipeline)."""
    from .config import resolve
    from .data import fixed_measurements
    from .data.small_sets import load_small_set
    from .solvers import latent_search

    cfg = resolve("invert", overrides=[f"physics.m={p['m']}", f"physics.noise_sigma={p['noise_sigma']}", f"physics.seed={p['seed']}",
                                       f"search.restarts={p['restarts']}", f"search.max_steps={p['max_steps']}",
                                       f"search.prior_weight={p['prior_weight']}", f"search.seed={p['seed']}", "search.progress=false"])
    x = load_small_set(config.get("data", {}).get("dataset", "mnist"), "heldout", limit=p["images"]).x
    model = cfg.physics.build(G.out_shape)
    data = fixed_measurements(model, x, seed=cfg.physics.seed)
    res = latent_search(data.y, model.physics, G, cfg.search)
    return float((res.x_hat - x).flatten(1).pow(2).mean())


def _sr_check(model: nn.Module, config: dict[str, Any], p: dict[str, Any]) -> float:
    """Mean PSNR of a reconstructor on a few fixed crops of its run's held-out images."""
    from .config import resolve
    from .data import fixed_crops, fixed_measurements, load_images
    from .metrics import evaluate_estimator
    from .builders import build_measurement

    cfg = resolve(data=config)
    d = cfg.data
    crops = fixed_crops(load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop), d.crop, p["crops"], seed=p["seed"])
    measurement = build_measurement(cfg)
    data = fixed_measurements(measurement, crops, seed=p["seed"])
    return evaluate_estimator(model, data, measurement.physics)["psnr"]


def check_figure(network: nn.Module, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The small-size figure of :data:`CHECK_PROTOCOL` for a network of ``kind`` trained with run
    ``config``: ``{"protocol": ..., "value": ...}`` (seeded; seconds on one CPU thread)."""
    p = CHECK_PROTOCOL[kind]
    torch.manual_seed(0)
    value = _cs_check(network, config, p) if kind == "generator" else _sr_check(network, config, p)
    return {"protocol": p, "value": value}


# ---------------------------------------------------------------------- export
def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True, text=True, check=True).stdout.rstrip("\n")


def _machine() -> str:
    """CPU model, core count and GPU (if any) of this machine, in words."""
    from .precision import cpu_name

    cpu = cpu_name()
    import os

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} cores{gpu}, {platform.system()}"


def _preset_differences(config: dict[str, Any], preset: str) -> list[str]:
    """The entries of a run config that differ from ``preset``'s (``train.*`` apart from steps and seed ignored)."""
    from .config import config_record, resolve
    from .nested import flatten

    ours = flatten({k: v for k, v in config.items() if k != "generator"})
    theirs = flatten(config_record(resolve(config["kind"], preset=preset)))
    keep = ("train.steps", "train.seed")
    return [f"{k} = {ours.get(k)!r} (preset: {theirs.get(k)!r})" for k in sorted(set(ours) | set(theirs))
            if ours.get(k) != theirs.get(k) and (not k.startswith("train.") or k in keep)]


@torch.no_grad()
def _output_difference(network: nn.Module, reference: nn.Module, kind: str, config: dict[str, Any]) -> float:
    """Largest absolute output difference of two networks on a fixed input (64 latents of seed 0,
    or the measurements of 4 held-out crops)."""
    if kind == "generator":
        z = torch.randn(64, network.latent_dim, generator=torch.Generator().manual_seed(0))
        return float((network(z) - reference(z)).abs().max())
    from .config import resolve
    from .data import fixed_crops, fixed_measurements, load_images
    from .builders import build_measurement

    cfg = resolve(data=config)
    d = cfg.data
    crops = fixed_crops(load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop), d.crop, 4)
    measurement = build_measurement(cfg)
    y = fixed_measurements(measurement, crops, seed=1234).y
    return float((network(y, measurement.physics) - reference(y, measurement.physics)).abs().max())


def export_run(run_dir: str | Path, name: str, command: str, checkpoint: str = "best", dtype: str = "float32",
               metrics: dict[str, Any] | None = None, git_dir: str | Path | None = None, commit: str | None = None,
               notes: str | None = None, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``NAME.pt`` and ``NAME.json`` (into ``out_dir``, default the package's weights folder)
    from run folder ``run_dir``'s ``checkpoint`` (``best``, ``last`` or a file): the network's EMA
    weights when kept, stored as ``dtype``, and its provenance (``metrics`` as given, measured
    elsewhere; the check figure measured here on the written file). The code's commit and its
    uncommitted files are read from ``git_dir`` (default: this checkout) unless ``commit`` names
    the commit that trained the run (then its uncommitted files are not known). Returns the two paths."""
    from .loading import ema_states, export_network
    from .training.checkpoint import load_trainer_state, save_atomic

    entry = _entry(name)
    if dtype not in DTYPES:
        raise ValueError(f"invalid dtype {dtype!r}: expected one of {tuple(DTYPES)}")
    run_dir = Path(run_dir)
    ckpt = run_dir / f"{checkpoint}.pt" if checkpoint in ("best", "last") else Path(checkpoint)
    state = load_trainer_state(ckpt)
    config = state.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"checkpoint {ckpt} has no config: the network cannot be rebuilt without it")
    run_network = "generator" if "generator" in config else "reconstructor" if config.get("kind") == "conditional" else None
    if run_network != entry.network:
        raise ValueError(f"{name!r} is a {entry.network}, but {ckpt} is a checkpoint of a {config.get('kind')} run")
    weights, _ = export_network(state, "G", ema=True)
    ema = "G" in ema_states(state)
    full = build_network({"network": entry.network, "config": config, "state_dict": weights}, str(ckpt))
    stored = {k: v.detach().to(DTYPES[dtype]) if v.is_floating_point() else v.detach() for k, v in weights.items()}
    out = Path(out_dir) if out_dir is not None else weights_dir()
    pt = save_atomic({"format": FORMAT, "version": VERSION, "name": name, "network": entry.network, "config": config,
                      "state_dict": stored, "dtype": dtype, "ema": ema, "step": int(state["step"])}, out / f"{name}.pt")
    shipped = build_network(read_weights(pt), str(pt))
    gd = Path(git_dir) if git_dir is not None else Path(__file__).resolve().parents[1]
    dirty: list[str] | None = None
    if commit is None:
        try:
            commit, dirty = _git(gd, "rev-parse", "HEAD"), [line[3:] for line in _git(gd, "status", "--porcelain", "--untracked-files=no").splitlines()]
        except (OSError, subprocess.CalledProcessError):
            commit = None
    record = {
        "name": name, "network": entry.network, "about": entry.about, "file": pt.name, "sha256": sha256(pt),
        "size_bytes": pt.stat().st_size, "dtype": dtype, "ema": ema,
        "command": command, "preset": entry.preset, "steps": config.get("train", {}).get("steps"),
        "seed": config.get("train", {}).get("seed"), "checkpoint": ckpt.name, "checkpoint_step": int(state["step"]),
        "differs_from_preset": _preset_differences(config, entry.preset),
        "git_commit": commit, "git_uncommitted": dirty,
        "trained": _dt.datetime.fromtimestamp(ckpt.stat().st_mtime, _dt.timezone.utc).isoformat(timespec="seconds"),
        "exported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(), "torch": torch.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        f"{dtype}_max_abs_output_difference": _output_difference(shipped, full, entry.network, config),
        "metrics": metrics or {},
        "check": check_figure(shipped, entry.network, config),
    }
    if notes:
        record["notes"] = notes
    js = out / f"{name}.json"
    js.write_text(json.dumps(record, indent=2) + "\n")
    return pt, js


def summary(name: str) -> str:
    """One line about shipped model ``name``: what it is, how it was trained, its headline figures."""
    entry = _entry(name)
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
