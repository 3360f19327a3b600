"""Helpers shared by the sub-commands: config arguments, result tables, loading a trained reconstructor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="run configuration (.toml, .yaml or .json)")
    p.add_argument("--preset", help="named starting configuration (see `invgan train --list-presets`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one entry, e.g. --set train.steps=500 (repeatable)")


def results_table(metrics: dict[str, float]) -> str:
    """Baselines vs reconstruction, PSNR (dB) and SSIM."""
    rows = [
        ("back-projection A^T y", metrics.get("baseline_psnr"), metrics.get("baseline_ssim")),
        (f"Tikhonov, best gamma={metrics.get('classical_gamma', float('nan')):.2g}", metrics.get("classical_psnr"), metrics.get("classical_ssim")),
        ("invgan reconstructor", metrics.get("psnr"), metrics.get("ssim")),
    ]
    lines = [f"{'method':<34} {'PSNR (dB)':>10} {'SSIM':>8}", "-" * 54]
    for name, psnr, ssim in rows:
        if psnr is not None:
            lines.append(f"{name:<34} {psnr:>10.2f} {ssim:>8.4f}")
    return "\n".join(lines)


def print_metrics(metrics: dict[str, float]) -> None:
    """The baselines table for a reconstructor, one metric a line otherwise."""
    if "baseline_psnr" in metrics:
        print(results_table(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:<16} {v:.4g}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def load_reconstructor(checkpoint: str | Path, device: torch.device) -> tuple[nn.Module, Any]:
    """The trained reconstructor of a checkpoint (its EMA copy when the run kept one) and the run config."""
    from ..config import ConditionalConfig, resolve
    from ..training.checkpoint import export_network
    from ..training.runs import build_reconstructor

    weights, config = export_network(checkpoint, "G", ema=True, map_location=device)
    cfg = resolve(data=config)
    if not isinstance(cfg, ConditionalConfig):
        raise ValueError(f"{checkpoint} is a checkpoint of a generator run, not of a reconstructor")
    model = build_reconstructor(cfg).to(device)
    model.load_state_dict(weights)
    return model.eval(), cfg
