"""One configuration module for every job: nested dataclasses that reject unknown keys, with
defaults that work.

A job is described by TOML, YAML or JSON; ``--set section.key=value`` overrides one entry and
``--preset NAME`` starts from a named preset. Each kind of job has one schema:

* ``conditional``: a conditional GAN reconstructor :math:`R(y, A)` (:class:`ConditionalConfig`),
* ``unconditional``: a generator :math:`G(z)`, AmbientGAN when ``ambient`` (:class:`UnconditionalConfig`),
* ``invert``: latent search through a trained generator (:class:`InvertConfig`),
* ``dip``: the deep image prior on one image (:class:`DIPJobConfig`),

and every kind shares one :class:`PhysicsConfig` section. This module sits at the bottom of the
package (it imports nothing of invgan at import time), so every layer can read its options.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from .precision import PRECISIONS

if TYPE_CHECKING:
    from .physics import MeasurementModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _opt(default: Any, about: str) -> Any:
    """A config field with its one-line description (used by ``--help`` of the commands)."""
    return field(default=default, metadata={"help": about})


@dataclass
class PhysicsConfig:
    """Forward operator :math:`y = \mathcal{N}(Ax)`, built by :func:`invgan.physics.make_physics`
    (whose defaults are these). The one physics section of every kind of job."""

    name: str = _opt("blur", "operator: blur, inpainting, downsampling, cs or denoising")
    sigma: float = _opt(2.0, "Gaussian blur width (pixels)")
    kernel: str = _opt("gaussian", "blur kernel: gaussian or motion")
    kernel_size: int | None = _opt(None, "blur kernel size (odd; default: from sigma)")
    padding: str = _opt("circular", "blur boundary: circular (FFT), valid, reflect, replicate or constant")
    keep: float = _opt(0.5, "fraction of pixels kept by inpainting, in (0, 1]")
    fresh_per_sample: bool = _opt(False, "a new mask, kernel or CS matrix for every sample")
    factor: int = _opt(2, "downsampling factor: 2 or 4")
    filter: str = _opt("bicubic", "downsampling anti-alias filter: bicubic, bilinear, gaussian or none")
    m: int = _opt(100, "compressed-sensing measurements per image")
    noise: str = _opt("gaussian", "noise model: gaussian, poisson or none")
    noise_sigma: float | None = _opt(0.01, "Gaussian noise standard deviation (images in [0, 1]); none: the operator's usual level")
    poisson_gain: float = _opt(0.01, "Poisson noise gain")
    seed: int = _opt(0, "seed of the operator draws and of the noise")

    def build(self, img_size: tuple[int, int, int], device: Any = "cpu", **overrides: Any) -> "MeasurementModel":
        """The operator these settings describe, for images of ``img_size`` (``overrides`` replace
        entries, e.g. a user's ``mask`` or another ``seed``)."""
        from .physics import make_physics

        from .physics import default_noise_sigma

        params = {**dataclasses.asdict(self), **overrides}
        if params["noise_sigma"] is None:  # the operator's usual level: 25/255 for denoising, else none
            params["noise_sigma"] = default_noise_sigma(params["name"])
            params["noise"] = params["noise"] if params["noise_sigma"] > 0 else "none"
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
    precision: str = "auto"
    channels_last: bool = True
    seed: int = 0
    out_dir: str = "runs/cgan"
    progress: bool = True
    tensorboard: bool = True
    compile: bool = False  # torch.compile each network (off by default)
    sync_batchnorm: bool = False  # SyncBatchNorm in data-parallel CUDA runs (plain BatchNorm on CPU)
    find_unused_parameters: bool = False  # DDP's option, for phases that leave parameters of their networks without gradient


@dataclass
class ConditionalConfig:
    """A conditional GAN reconstructor run (:func:`invgan.training.systems.conditional_gan`)."""

    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


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


@dataclass
class SampleDataConfig:
    """Built-in small image sets (``"mnist"``, ``"digits8"``, ``"lfw"``; see :mod:`invgan.data.small_sets`)."""

    dataset: str = "mnist"
    batch_size: int = 64
    eval_samples: int = 1000
    seed: int = 0


@dataclass
class LatentModelConfig:
    """Generator :math:`G(z)` and its DCGAN discriminator."""

    generator: str = "dcgan"
    latent_dim: int = 64
    width: int = 32
    output: str = "sigmoid"
    d_width: int = 32
    spectral_norm: bool = False


@dataclass
class UnconditionalConfig:
    """An unconditional GAN run, AmbientGAN when ``ambient`` (:mod:`invgan.training.systems`)."""

    ambient: bool = False
    objective: str = "ns"
    classifier_metrics: bool = True
    data: SampleDataConfig = field(default_factory=SampleDataConfig)
    model: LatentModelConfig = field(default_factory=LatentModelConfig)
    physics: PhysicsConfig = field(default_factory=lambda: PhysicsConfig(name="inpainting", keep=0.5, fresh_per_sample=True, noise="none"))
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr_g=2e-4, lr_d=2e-4, beta1=0.5, scheduler="none", ema=0.999))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=4000, eval_every=1000, checkpoint_every=1000, out_dir="runs/dcgan-mnist", tensorboard=False))


@dataclass
class LatentSearchConfig:
    r"""Options of :func:`invgan.solvers.latent_search`. The defaults are what the MNIST CS
    experiment of docs/latent_search.md found to work for a 28×28 DCGAN (10 restarts;
    :math:`\lambda=0.1`, the prior weight it picks on validation digits at most m);
    ``prior_weight=0`` is plain CSGM. ``max_steps``, ``tolerance`` and ``patience`` are named as
    in :class:`DIPConfig`. ``lr=None`` is the optimiser's own default (0.05 for Adam, 1.0 for
    L-BFGS, whose strong-Wolfe line search starts from that step)."""

    restarts: int = _opt(10, "random starts per measurement; the best is kept")
    max_steps: int = _opt(500, "step limit per search")
    optimizer: str = _opt("adam", "adam or lbfgs")
    lr: float | None = _opt(None, "step size (default: the optimiser's, 0.05 for Adam, 1 for L-BFGS)")
    prior_weight: float = _opt(0.1, "lambda of the ||z||^2 prior (1 suits very few measurements, 0 is plain CSGM)")
    tolerance: float = _opt(1e-4, "relative improvement of the objective that counts as progress")
    patience: int = _opt(25, "a search stops after this many steps without progress")
    seed: int = _opt(0, "seed of the random starts (restart r starts from seed + r)")
    progress: bool = _opt(False, "show a progress bar")

    def __post_init__(self) -> None:
        _check(self, [
            ("restarts", self.restarts >= 1, "an integer >= 1"),
            ("max_steps", self.max_steps >= 0, "an integer >= 0"),
            ("optimizer", self.optimizer in ("adam", "lbfgs"), "'adam' or 'lbfgs'"),
            ("lr", self.lr is None or self.lr > 0, "a value > 0, or None"),
            ("prior_weight", self.prior_weight >= 0, "a value >= 0"),
            ("tolerance", self.tolerance >= 0, "a value >= 0"),
            ("patience", self.patience >= 1, "an integer >= 1"),
        ])


#: option names that were renamed, with their new names (an old name gets a pointed error)
RENAMED = {"steps": "max_steps", "tol": "tolerance"}


def with_overrides(cfg: Any, **overrides: Any) -> Any:
    """A copy of the options ``cfg`` with keyword ``overrides`` (checked like the options themselves);
    an unknown name is an error listing the valid ones."""
    names = {f.name for f in fields(cfg)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        hints = [f"{k!r} (now {RENAMED[k]!r})" if RENAMED.get(k) in names else repr(k) for k in unknown]
        raise ValueError(f"unknown {type(cfg).__name__} option {', '.join(hints)}: expected one of {', '.join(sorted(names))}")
    return dataclasses.replace(cfg, **overrides)


def _check(cfg: Any, checks: list[tuple[str, bool, str]]) -> None:
    """Raise one clear error for the first setting out of its range."""
    for name, ok, allowed in checks:
        if not ok:
            raise ValueError(f"invalid {name}={getattr(cfg, name)!r}: expected {allowed}")


@dataclass
class InvertConfig:
    """``invgan invert``: latent search through a trained generator on simulated measurements."""

    physics: PhysicsConfig = field(default_factory=lambda: PhysicsConfig(name="cs", m=100, sigma=1.0, noise_sigma=0.1))
    search: LatentSearchConfig = field(default_factory=LatentSearchConfig)


#: the option vocabularies of the deep image prior (its networks, their upsampling, its stopping rules)
NET_NAMES = ("convdecoder", "skip")
UPSAMPLING_MODES = ("nearest", "bilinear", "bicubic")
STOP_RULES = ("auto", "discrepancy", "convergence", "wmv", "none")


@dataclass
class DIPConfig:
    r"""Settings of :func:`deep_image_prior`.

    :param net: ``"convdecoder"`` or ``"skip"`` (used when no network is passed).
    :param channels: hidden width of the network.
    :param depth: number of upsampling blocks (ConvDecoder) or levels (skip net).
    :param upsampling: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``.
    :param in_size: spatial size of the ConvDecoder input :math:`z`.
    :param lr: Adam step size.
    :param max_steps: hard limit on the number of steps.
    :param input_noise: std :math:`\sigma_z` of the noise added to :math:`z` every step.
    :param ema: averaging weight :math:`\beta` of the returned estimate (0: no averaging).
    :param stop: ``"auto"`` (discrepancy if noisy, convergence if noiseless, WMV if the noise is
        unknown), ``"discrepancy"``, ``"convergence"``, ``"wmv"`` or ``"none"`` (run ``max_steps``).
    :param noise_sigma: noise std :math:`\sigma` of the measurement; ``None``: read from the
        physics' noise model (Gaussian: its ``sigma``; no noise: 0), else estimated from
        :math:`y` when it is image-shaped (:func:`estimate_noise_sigma`), else unknown.
    :param discrepancy: factor :math:`\tau` of the discrepancy principle.
    :param tolerance: convergence test: threshold on the mean relative change :math:`c_t`.
    :param window: window of the convergence test and of the windowed variance.
    :param patience: WMV: stop after this many steps without progress.
    :param wmv_tolerance: WMV: relative drop of the variance that counts as progress.
    :param min_steps: never stop before this step.
    :param backtrack_factor: restore the last good weights (and halve that sample's step size)
        when the loss exceeds this factor times the loss at the last checkpoint (or is not
        finite); 0 disables backtracking.
    :param checkpoint_every: steps between checkpoints of good weights.
    :param precision: ``"auto"`` (bf16 autocast where the device runs bf16 natively, fp32
        otherwise; see :mod:`invgan.precision`), ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA).
    :param seed: seed of the weights and of :math:`z` (``None``: not seeded).
    :param threads: ``torch.set_num_threads`` for the run (``None``: leave as is).
    :param progress: show a tqdm bar with the loss (and PSNR).
    """

    net: str = "skip"
    channels: int = 24
    depth: int = 5
    upsampling: str = "bilinear"
    in_size: int = 8
    lr: float = 0.01
    max_steps: int = 3000
    input_noise: float = 0.0
    ema: float = 0.99
    stop: str = "auto"
    noise_sigma: float | None = None
    discrepancy: float = 0.9
    tolerance: float = 1.5e-4
    window: int = 100
    patience: int = 200
    wmv_tolerance: float = 0.05
    min_steps: int = 200
    backtrack_factor: float = 5.0
    checkpoint_every: int = 50
    precision: str = "auto"
    seed: int | None = 0
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("net", self.net in NET_NAMES, f"one of {NET_NAMES}"),
            ("upsampling", self.upsampling in UPSAMPLING_MODES, f"one of {UPSAMPLING_MODES}"),
            ("stop", self.stop in STOP_RULES, f"one of {STOP_RULES}"),
            ("precision", self.precision in PRECISIONS, f"one of {PRECISIONS}"),
            ("channels", self.channels >= 1, "an integer >= 1"),
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("in_size", self.in_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a value > 0"),
            ("max_steps", self.max_steps >= 1, "an integer >= 1"),
            ("input_noise", self.input_noise >= 0, "a value >= 0"),
            ("ema", 0 <= self.ema < 1, "a value in [0, 1)"),
            ("noise_sigma", self.noise_sigma is None or self.noise_sigma >= 0, "None or a value >= 0"),
            ("discrepancy", self.discrepancy > 0, "a value > 0"),
            ("tolerance", self.tolerance >= 0, "a value >= 0"),
            ("window", self.window >= 2, "an integer >= 2"),
            ("patience", self.patience >= 1, "an integer >= 1"),
            ("wmv_tolerance", 0 <= self.wmv_tolerance < 1, "a value in [0, 1)"),
            ("min_steps", self.min_steps >= 0, "an integer >= 0"),
            ("backtrack_factor", self.backtrack_factor == 0 or self.backtrack_factor > 1, "0 (off) or a value > 1"),
            ("checkpoint_every", self.checkpoint_every >= 1, "an integer >= 1"),
        ]
        _check(self, checks)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DIPConfig":
        """Build from a mapping; unknown keys are an error naming them."""
        return with_overrides(cls(), **values)


@dataclass
class DIPJobConfig:
    """``invgan dip``: the deep image prior on one image measured through ``physics``.
    ``physics.noise_sigma = None`` is the operator's usual level (25/255 for denoising, else 0)."""

    physics: PhysicsConfig = field(default_factory=lambda: PhysicsConfig(name="inpainting", keep=0.5, factor=4, noise_sigma=None))
    dip: DIPConfig = field(default_factory=DIPConfig)


#: the schema of each kind of job
KINDS: dict[str, type] = {"conditional": ConditionalConfig, "unconditional": UnconditionalConfig, "invert": InvertConfig, "dip": DIPJobConfig}


@dataclass(frozen=True)
class Preset:
    """A named starting point: a partial config of one ``kind``, merged over its defaults."""

    kind: str
    about: str
    values: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "demo": Preset("conditional", "deblurring (Gaussian blur, noise 0.01) on the built-in photos: the `invgan demo` run",
                   {"train": {"out_dir": "runs/demo"}}),
    "deblur-esrgan": Preset("conditional", "deblurring with ESRGAN's VGG-style discriminator", {"model": {"discriminator": "esrgan"}}),
    "deblur-dcgan": Preset("conditional", "deblurring with a DCGAN discriminator", {"model": {"discriminator": "dcgan", "d_width": 16}}),
    "inpainting": Preset("conditional", "inpainting, half the pixels kept, a fresh mask per sample",
                         {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True}}),
    "sr4": Preset("conditional", "x4 super-resolution (bicubic downsampling)", {"physics": {"name": "downsampling", "factor": 4}}),
    "inpainting-selfsupervised": Preset(
        "conditional", "inpainting from measurements only: D compares y with A x_hat, UAIR's cycle term (no ground truth)",
        {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True},
         "loss": {"adversarial": "uair", "reconstruction": "none", "adv_weight": 1.0, "mc_weight": 1.0}}),
    # step counts of the runs reported in docs/latent_search.md (about 33 and 19 minutes on one CPU core)
    "dcgan-mnist": Preset("unconditional", "DCGAN (Radford et al. 2016) on 5,000 MNIST digits", {"train": {"steps": 16000}}),
    "ambientgan-mnist": Preset("unconditional", "AmbientGAN (Bora et al. 2018) from MNIST digits with half the pixels missing",
                               {"ambient": True, "train": {"steps": 8000, "out_dir": "runs/ambientgan-mnist"}}),
    "dcgan-digits8": Preset("unconditional", "a small MLP GAN on scikit-learn's 8x8 digits (a minute on CPU)",
                            {"data": {"dataset": "digits8"}, "model": {"generator": "mlp"}, "train": {"steps": 1000, "out_dir": "runs/dcgan-digits8"}}),
    "csgm-cs": Preset("invert", "CSGM (Bora et al. 2017): m = 100 Gaussian measurements of a digit, noise 0.1", {}),
    "dip-inpainting": Preset("dip", "deep image prior, half the pixels missing (the cameraman experiment of docs/dip.md)", {}),
    "dip-denoising": Preset("dip", "deep image prior denoising, Gaussian noise 25/255", {"physics": {"name": "denoising"}}),
    "dip-sr4": Preset("dip", "deep image prior x4 super-resolution", {"physics": {"name": "downsampling", "factor": 4}}),
    "csgm-inpainting": Preset("invert", "latent search from digits with half the pixels missing, a mask per image",
                              {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True}}),
}


def resolve(kind: str | None = None, file: str | Path | None = None, preset: str | None = None, overrides: list[str] | None = None,
            data: dict[str, Any] | None = None) -> Any:
    """A validated config: the kind's defaults, then the preset, then the file (or ``data``), then the
    ``section.key=value`` overrides. The kind comes from the argument, the file's ``kind`` entry or
    the preset (``"conditional"`` when none says)."""
    values = dict(data if data is not None else (load_config_file(file) if file is not None else {}))
    values.pop("generator", None)  # recorded architecture of a saved unconditional run, rebuilt from the rest
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
    named = values.pop("kind", None)
    kind = kind or named or (PRESETS[preset].kind if preset else "conditional")
    if kind not in KINDS:
        raise ValueError(f"invalid kind={kind!r}: expected one of {tuple(KINDS)}")
    if named is not None and named != kind:
        raise ValueError(f"the config says kind={named!r}, but a {kind} run was asked for")
    if preset is not None and PRESETS[preset].kind != kind:
        raise ValueError(f"preset {preset!r} is for {PRESETS[preset].kind} runs, but a {kind} run was asked for")
    base = merge(PRESETS[preset].values, values) if preset is not None else values
    schema = KINDS[kind]
    return dataclass_from_dict(schema, merge(dataclasses.asdict(schema()), apply_overrides(base, overrides or [])), "")


def kind_of(cfg: Any) -> str:
    for kind, schema in KINDS.items():
        if isinstance(cfg, schema):
            return kind
    raise ValueError(f"not an invgan job config: {type(cfg).__name__}")


def config_record(cfg: Any) -> dict[str, Any]:
    """What a run folder's ``config.json`` holds: the config with its kind."""
    return {"kind": kind_of(cfg), **dataclasses.asdict(cfg)}
