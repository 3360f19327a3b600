"""Explicit run configuration: nested dataclasses that reject unknown keys, with defaults that work.

A run is described by TOML or YAML with the sections below; ``--set section.key=value`` overrides
one entry and ``--preset NAME`` starts from a named preset.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

if TYPE_CHECKING:
    from ..physics import MeasurementModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class PhysicsConfig:
    """Forward operator; see :func:`invgan.physics.make_physics` for each parameter."""

    name: str = "blur"
    sigma: float = 2.0
    kernel: str = "gaussian"
    kernel_size: int | None = None
    padding: str = "circular"
    keep: float = 0.5
    fresh_per_sample: bool = False
    factor: int = 2
    filter: str = "bicubic"
    m: int = 100
    noise: str = "gaussian"
    noise_sigma: float = 0.01
    poisson_gain: float = 0.01
    seed: int = 0

    def build(self, img_size: tuple[int, int, int], device: Any = "cpu", **overrides: Any) -> "MeasurementModel":
        """The operator these settings describe, for images of ``img_size`` (``overrides`` replace
        entries, e.g. a user's ``mask`` or another ``seed``)."""
        from ..physics import make_physics

        params = {**dataclasses.asdict(self), **overrides}
        return make_physics(params.pop("name"), img_size, device=device, **params)


@dataclass
class DataConfig:
    """Training crops from ``source`` ("builtin" or a folder; ``source/train`` and ``source/test``
    sub-folders are used when present, else ``eval_source``)."""

    source: str = "builtin"
    eval_source: str | None = None
    channels: int = 1
    crop: int = 64
    batch_size: int = 8
    augment: bool = True
    eval_crops: int = 48
    num_workers: int = 0
    seed: int = 0


@dataclass
class ModelConfig:
    """Reconstructor (U-Net on a lifted measurement) and discriminator."""

    width: int = 16
    depth: int = 3
    lift: str = "tikhonov"
    gamma: float = 0.01
    latent_channels: int = 0
    norm: str = "none"
    discriminator: str = "patchgan"
    d_width: int = 32
    d_layers: int = 2
    spectral_norm: bool = True


@dataclass
class LossConfig:
    r""":math:`\mathcal{L}_G = w_\text{rec}\mathcal{L}_\text{rec} + w_\text{mc}\|A\hat x-y\|^2 + \lambda\mathcal{L}_\text{adv}`."""

    objective: str = "lsgan"
    adversarial: str = "supervised"
    adv_weight: float = 0.01
    reconstruction: str = "mse"
    rec_weight: float = 1.0
    mc_weight: float = 0.0
    cycle_weight: float = 1.0


@dataclass
class OptimConfig:
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    n_critic: int = 1
    grad_clip: float | None = None
    ema: float = 0.0


@dataclass
class TrainConfig:
    steps: int = 1500
    eval_every: int = 500
    log_every: int = 25
    checkpoint_every: int = 500
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = True
    seed: int = 0
    out_dir: str = "runs/cgan"
    progress: bool = True
    tensorboard: bool = True


@dataclass
class RunConfig:
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def dataclass_from_dict(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a table of keys, got {type(data).__name__}")
    valid = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(repr(where + k) for k in unknown)}; valid keys: {', '.join(where + k for k in valid)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = dataclass_from_dict(hint, value, f"{where}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, where + key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check a scalar against its annotation (ints are accepted where floats are expected)."""
    allowed = getattr(hint, "__args__", (hint,))
    if value is None and type(None) in allowed:
        return None
    for t in allowed:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
    raise ValueError(f"invalid {name}={value!r}: expected {names}")


def config_from_dict(data: dict[str, Any]) -> RunConfig:
    """Build a :class:`RunConfig`, rejecting unknown keys with the list of valid ones."""
    return dataclass_from_dict(RunConfig, data, "")


def load_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"config file not found: {p}")
    if p.suffix == ".toml":
        return tomllib.loads(p.read_text())
    if p.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(p.read_text()) or {}
    if p.suffix == ".json":
        return json.loads(p.read_text())
    raise ValueError(f"unsupported config format {p.suffix!r}: expected .toml, .yaml/.yml or .json")


def _parse_value(text: str) -> Any:
    """``--set`` values are TOML literals (``3``, ``1e-3``, ``true``, ``"name"``); bare words are strings."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides to a nested dict (validated later by :func:`config_from_dict`)."""
    out = json.loads(json.dumps(data))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"invalid override {item!r}: expected section.key=value")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ValueError(f"invalid override {item!r}: {k!r} is not a section")
        node[keys[-1]] = _parse_value(text.strip())
    return out


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


#: Named starting points; each is a partial config merged over the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "demo": {"train": {"out_dir": "runs/demo"}},
    "deblur-esrgan": {"model": {"discriminator": "esrgan"}},
    "deblur-dcgan": {"model": {"discriminator": "dcgan", "d_width": 16}},
    "inpainting": {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True}},
    "sr4": {"physics": {"name": "downsampling", "factor": 4}},
    "inpainting-selfsupervised": {
        "physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True},
        "loss": {"adversarial": "uair", "reconstruction": "none", "adv_weight": 1.0, "mc_weight": 1.0},
    },
}


def resolve_config(
    file: str | Path | None = None, preset: str | None = None, overrides: list[str] | None = None, data: dict[str, Any] | None = None
) -> RunConfig:
    """Defaults, then the preset, then the file (or ``data``), then the ``section.key=value`` overrides."""
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
        base = merge(base, PRESETS[preset])
    if file is not None:
        base = merge(base, load_config_file(file))
    data = merge(base, data or {})
    return config_from_dict(apply_overrides(data, overrides or []))
