"""One entry point for every kind of run: a config (file, preset, overrides) to a built run.

A config file may name its ``kind``: ``"conditional"`` (the default: a reconstructor
:math:`R(y, A)`) or ``"unconditional"`` (a generator :math:`G(z)`, AmbientGAN when ``ambient``);
presets know their kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from .conditional import ConditionalRun, build_conditional
from .config import PRESETS, RunConfig, load_config_file, resolve_config
from .unconditional import UNCONDITIONAL_PRESETS, UnconditionalConfig, UnconditionalRun, build_unconditional, resolve_unconditional

KINDS = ("conditional", "unconditional")
AnyConfig = Union[RunConfig, UnconditionalConfig]
AnyRun = Union[ConditionalRun, UnconditionalRun]


def all_presets() -> dict[str, str]:
    """Preset name -> kind."""
    return {**{k: "conditional" for k in PRESETS}, **{k: "unconditional" for k in UNCONDITIONAL_PRESETS}}


def resolve_any(file: str | Path | None = None, preset: str | None = None, overrides: list[str] | None = None,
                data: dict[str, Any] | None = None) -> AnyConfig:
    """The validated config of a run of either kind."""
    data = dict(data if data is not None else (load_config_file(file) if file is not None else {}))
    data.pop("generator", None)  # recorded architecture of a saved unconditional run, rebuilt from the rest
    presets = all_presets()
    if preset is not None and preset not in presets:
        raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(presets)}")
    kind = data.pop("kind", None) or (presets[preset] if preset else "conditional")
    if kind not in KINDS:
        raise ValueError(f"invalid kind={kind!r}: expected one of {KINDS}")
    if preset is not None and presets[preset] != kind:
        raise ValueError(f"preset {preset!r} is a {presets[preset]} run, but the config says kind={kind!r}")
    if kind == "unconditional":
        return resolve_unconditional(preset, data, overrides)
    return resolve_config(preset=preset, overrides=overrides, data=data)


def kind_of(cfg: AnyConfig) -> str:
    return "unconditional" if isinstance(cfg, UnconditionalConfig) else "conditional"


def config_record(cfg: AnyConfig) -> dict[str, Any]:
    """What a run folder's ``config.json`` holds: the config with its kind."""
    return {"kind": kind_of(cfg), **cfg.to_dict()}


def build_any(cfg: AnyConfig, out_dir: str | None = None, progress: bool | None = None) -> AnyRun:
    if isinstance(cfg, UnconditionalConfig):
        return build_unconditional(cfg, out_dir=out_dir, progress=progress)
    return build_conditional(cfg, out_dir=out_dir, progress=progress)
