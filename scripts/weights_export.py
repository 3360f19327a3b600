r"""The export behind ``scripts/export_weights.py``: a trained run's network written in the shipped
format of :mod:`invgan.pretrained` (``NAME.pt``), with its provenance (``NAME.json``): the git
commit, the machine, the differences from the preset, the output difference the storage type
makes, and a small check figure (:func:`check_figure`) that ``tests/test_pretrained.py``
re-measures on every shipped file.

It lives beside the script, outside the package: loading shipped weights needs none of it (no git,
no training code). ``python scripts/export_weights.py`` finds it on its own folder's path; the
tests load it by file path.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch
from torch import nn

from invgan import pretrained

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


# ---------------------------------------------------------------------- the check figure
def _cs_check(G: nn.Module, config: dict[str, Any], p: dict[str, Any]) -> float:
    """Mean per-pixel MSE of latent search through ``G`` on held-out digits (``invgan invert``'s pipeline)."""
    from invgan.builders import build_operator
    from invgan.config import resolve
    from invgan.data import fixed_measurements
    from invgan.data.small_sets import load_small_set
    from invgan.solvers import latent_search

    cfg = resolve("invert", overrides=[f"physics.m={p['m']}", f"physics.noise_sigma={p['noise_sigma']}", f"physics.seed={p['seed']}",
                                       f"search.restarts={p['restarts']}", f"search.max_steps={p['max_steps']}",
                                       f"search.prior_weight={p['prior_weight']}", f"search.seed={p['seed']}", "search.progress=false",
                                       f"search.deviation={p.get('deviation', 'none')}"])
    x = load_small_set(config.get("data", {}).get("dataset", "mnist"), "heldout", limit=p["images"]).x
    model = build_operator(cfg.physics, G.out_shape)
    data = fixed_measurements(model, x, seed=cfg.physics.seed)
    res = latent_search(data.y, model.physics, G, cfg.search)
    return float((res.x_hat - x).flatten(1).pow(2).mean())


def _held_out_crops(config: dict[str, Any], n: int):
    r"""The operator and ``n`` measured held-out crops of run ``config`` at its *training* crop size:
    :func:`invgan.training.runs.held_out_set` (crops and measurements drawn with seed 1234) with
    ``data.eval_crop`` unset, so that a run evaluated on larger crops (sr4: 256) is checked on
    small ones (64)."""
    from invgan.config import resolve
    from invgan.training.runs import held_out_set

    cfg = resolve(data={**config, "data": {**config.get("data", {}), "eval_crop": None}})
    return held_out_set(cfg, "cpu", n=n)


def _sr_check(model: nn.Module, config: dict[str, Any], p: dict[str, Any]) -> float:
    """Mean PSNR of a reconstructor on a few fixed crops of its run's held-out images (seed ``p["seed"]``, 1234)."""
    from invgan.metrics import evaluate_estimator

    if p["seed"] != 1234:
        raise ValueError(f"the check crops are the run's held-out set, drawn with seed 1234, not {p['seed']}")
    measurement, data = _held_out_crops(config, p["crops"])
    return evaluate_estimator(model, data, measurement.physics)["psnr"]


def check_figure(network: nn.Module, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The small-size figure of :data:`CHECK_PROTOCOL` for a network of ``kind`` trained with run
    ``config``: ``{"protocol": ..., "value": ...}`` (seeded; seconds on one CPU thread)."""
    p = CHECK_PROTOCOL[kind]
    torch.manual_seed(0)
    value = _cs_check(network, config, p) if kind == "generator" else _sr_check(network, config, p)
    return {"protocol": p, "value": value}


# ---------------------------------------------------------------------- provenance
def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True, text=True, check=True).stdout.rstrip("\n")


def _machine() -> str:
    """CPU model, core count and GPU (if any) of this machine, in words."""
    from invgan.precision import cpu_name

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu_name()}, {os.cpu_count()} cores{gpu}, {platform.system()}"


def _preset_differences(config: dict[str, Any], preset: str) -> list[str]:
    """The entries of a run config that differ from ``preset``'s (``train.*`` apart from steps and seed ignored)."""
    from invgan.config import config_record, resolve
    from invgan.nested import flatten

    ours = flatten({k: v for k, v in config.items() if k != "generator"})
    theirs = flatten(config_record(resolve(config["kind"], preset=preset)))
    keep = ("train.steps", "train.seed")
    return [f"{k} = {ours.get(k)!r} (preset: {theirs.get(k)!r})" for k in sorted(set(ours) | set(theirs))
            if ours.get(k) != theirs.get(k) and (not k.startswith("train.") or k in keep)]


@torch.no_grad()
def _output_difference(network: nn.Module, reference: nn.Module, kind: str, config: dict[str, Any]) -> float:
    r"""Largest absolute output difference :math:`\max |f(u) - f_{\mathrm{ref}}(u)|` of two networks on
    a fixed input: 64 latents of seed 0, or the measurements of 4 held-out crops."""
    if kind == "generator":
        z = torch.randn(64, network.latent_dim, generator=torch.Generator().manual_seed(0))
        return float((network(z) - reference(z)).abs().max())
    measurement, data = _held_out_crops(config, 4)
    return float((network(data.y, measurement.physics) - reference(data.y, measurement.physics)).abs().max())


# ---------------------------------------------------------------------- export
def export_run(run_dir: str | Path, name: str, command: str, checkpoint: str = "best", dtype: str = "float32",
               metrics: dict[str, Any] | None = None, git_dir: str | Path | None = None, commit: str | None = None,
               notes: str | None = None, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``NAME.pt`` and ``NAME.json`` (into ``out_dir``, default the package's weights folder)
    from run folder ``run_dir``'s ``checkpoint`` (``best``, ``last`` or a file): the network's EMA
    weights when kept, stored as ``dtype``, and its provenance (``metrics`` as given, measured
    elsewhere; the check figure measured here on the written file). The code's commit and its
    uncommitted files are read from ``git_dir`` (default: this checkout) unless ``commit`` names
    the commit that trained the run (then its uncommitted files are not known). Returns the two paths."""
    from invgan.loading import ema_states, export_network
    from invgan.training.checkpoint import load_trainer_state, save_atomic

    entry = pretrained.registry_entry(name)
    if dtype not in pretrained.DTYPES:
        raise ValueError(f"invalid dtype {dtype!r}: expected one of {tuple(pretrained.DTYPES)}")
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
    full = pretrained.build_network({"network": entry.network, "config": config, "state_dict": weights}, str(ckpt))
    stored = {k: v.detach().to(pretrained.DTYPES[dtype]) if v.is_floating_point() else v.detach() for k, v in weights.items()}
    out = Path(out_dir) if out_dir is not None else pretrained.weights_dir()
    pt = save_atomic({"format": pretrained.FORMAT, "version": pretrained.VERSION, "name": name, "network": entry.network, "config": config,
                      "state_dict": stored, "dtype": dtype, "ema": ema, "step": int(state["step"])}, out / f"{name}.pt")
    shipped = pretrained.build_network(pretrained.read_weights(pt), str(pt))
    gd = Path(git_dir) if git_dir is not None else Path(__file__).resolve().parents[1]
    dirty: list[str] | None = None
    if commit is None:
        try:
            commit, dirty = _git(gd, "rev-parse", "HEAD"), [line[3:] for line in _git(gd, "status", "--porcelain", "--untracked-files=no").splitlines()]
        except (OSError, subprocess.CalledProcessError):
            commit = None
    record = {
        "name": name, "network": entry.network, "about": entry.about, "file": pt.name, "sha256": pretrained.sha256(pt),
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
