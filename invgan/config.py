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

    def __post_init__(self) -> None:
        _check(self, [
            ("sigma", self.sigma > 0, "a value > 0"),
            ("kernel_size", self.kernel_size is None or (self.kernel_size >= 1 and self.kernel_size % 2 == 1), "None or an odd integer >= 1"),
            ("keep", 0 < self.keep <= 1, "a fraction in (0, 1]"),
            ("factor", self.factor in (2, 4), "2 or 4"),
            ("m", self.m >= 1, "an integer >= 1"),
            ("noise_sigma", self.noise_sigma is None or self.noise_sigma >= 0, "a value >= 0 (or none)"),
            ("poisson_gain", self.poisson_gain > 0, "a value > 0"),
        ], section="physics")

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
    sub-folders are used when present). Held-out images come from ``eval_source`` when given, else
    ``source/test``; a folder with neither is refused (it would be evaluated on its training images)."""

    source: str = "builtin"
    eval_source: str | None = None
    channels: int = 1
    crop: int = 64
    batch_size: int = 8
    augment: bool = True
    eval_crops: int = 48
    eval_crop: int | None = None  # side of the held-out crops (default: crop), e.g. 256 for x4 super-resolution
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self, [
            ("source", bool(self.source), "'builtin' or a folder"),
            ("eval_crop", self.eval_crop is None or self.eval_crop >= 1, "an integer >= 1, or None (the training crop)"),
            ("channels", self.channels in (1, 3), "1 (grayscale) or 3 (RGB)"),
            ("crop", self.crop >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("eval_crops", self.eval_crops >= 1, "an integer >= 1 (held-out crops to evaluate on)"),
        ], section="data")


RECONSTRUCTORS = ("unet", "srresnet", "rrdb")
PERCEPTUAL_NETS = ("inception", "vgg19")


@dataclass
class ModelConfig:
    """Reconstructor and discriminator. ``generator``: ``"unet"`` (a U-Net on the lifted
    measurement, any operator), ``"srresnet"`` (SRGAN's) or ``"rrdb"`` (ESRGAN's), the last two for
    the downsampling operator only (:mod:`invgan.nets.sr`)."""

    generator: str = "unet"
    width: int = 16
    depth: int = 3
    blocks: int = 8  # residual blocks of srresnet, RRDBs of rrdb
    bicubic_skip: bool = True  # srresnet / rrdb predict a residual on the bicubic interpolation
    lift: str = "tikhonov"
    gamma: float = 0.01
    latent_channels: int = 0
    norm: str = "none"
    discriminator: str = "patchgan"
    d_width: int = 32
    d_layers: int = 2
    spectral_norm: bool = True

    def __post_init__(self) -> None:
        _check(self, [
            ("generator", self.generator in RECONSTRUCTORS, f"one of {RECONSTRUCTORS}"),
            ("width", self.width >= 1, "an integer >= 1"),
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("blocks", self.blocks >= 1, "an integer >= 1"),
            ("gamma", self.gamma > 0, "a value > 0"),
            ("latent_channels", self.latent_channels >= 0, "an integer >= 0"),
            ("d_width", self.d_width >= 1, "an integer >= 1"),
            ("d_layers", self.d_layers >= 1, "an integer >= 1"),
        ], section="model")


@dataclass
class LossConfig:
    r""":math:`\mathcal{L}_G = w_\text{rec}\mathcal{L}_\text{rec} + w_\text{mc}\|A\hat x-y\|^2 + \lambda\mathcal{L}_\text{adv}`."""

    objective: str = "lsgan"
    adversarial: str = "supervised"
    adv_weight: float = 0.01
    adv_start: int = 0  # steps of warm-up on the other terms first (SRGAN/ESRGAN pretraining); pretrained.pt keeps its end
    reconstruction: str = "mse"
    rec_weight: float = 1.0
    mc_weight: float = 0.0
    cycle_weight: float = 1.0
    perceptual_weight: float = 0.0  # weight of the perceptual loss (from adv_start on)
    perceptual_net: str = "inception"  # its feature network: inception (offline, the fid extra) or vgg19 (vgg_weights)
    vgg_weights: str | None = None  # a local file of torchvision's vgg19 state dict (never downloaded)
    identity_weight: float = 0.5  # adversarial = "unpaired" (CycleGAN): identity loss weight, relative to cycle_weight
    pool_size: int = 50  # adversarial = "unpaired": past fakes each critic is shown (0: only the newest)

    def __post_init__(self) -> None:
        _check(self, [
            ("adv_weight", self.adv_weight >= 0, "a value >= 0 (0: no discriminator)"),
            ("adv_start", self.adv_start >= 0, "an integer >= 0"),
            ("perceptual_weight", self.perceptual_weight >= 0, "a value >= 0 (0: off)"),
            ("perceptual_net", self.perceptual_net in PERCEPTUAL_NETS, f"one of {PERCEPTUAL_NETS}"),
            ("reconstruction", self.reconstruction in ("mse", "l1", "none"), "'mse', 'l1' or 'none'"),
            ("rec_weight", self.rec_weight >= 0, "a value >= 0"),
            ("mc_weight", self.mc_weight >= 0, "a value >= 0"),
            ("cycle_weight", self.cycle_weight >= 0, "a value >= 0"),
            ("identity_weight", self.identity_weight >= 0, "a value >= 0 (a fraction of cycle_weight; 0: no identity loss)"),
            ("pool_size", self.pool_size >= 0, "an integer >= 0 (0: no history pool)"),
        ], section="loss")


@dataclass
class OptimConfig:
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    n_critic: int = 1
    grad_clip: float | None = None
    ema: float = 0.0

    def __post_init__(self) -> None:
        _check(self, [
            ("lr_g", self.lr_g > 0, "a value > 0"),
            ("lr_d", self.lr_d > 0, "a value > 0"),
            ("beta1", 0 <= self.beta1 < 1, "a value in [0, 1)"),
            ("beta2", 0 <= self.beta2 < 1, "a value in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "a value >= 0"),
            ("scheduler", self.scheduler in ("none", "cosine"), "'none' or 'cosine'"),
            ("n_critic", self.n_critic >= 1, "an integer >= 1"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "a value > 0 (or none)"),
            ("ema", 0 <= self.ema < 1, "a decay in [0, 1) (0: off)"),
        ], section="optim")


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

    def __post_init__(self) -> None:
        _check(self, [
            ("steps", self.steps >= 0, "an integer >= 0"),
            ("eval_every", self.eval_every >= 0, "an integer >= 0 (0: no evaluation during training)"),
            ("log_every", self.log_every >= 1, "an integer >= 1"),
            ("checkpoint_every", self.checkpoint_every >= 0, "an integer >= 0 (0: only the final checkpoint)"),
            ("precision", self.precision in PRECISIONS, f"one of {PRECISIONS}"),
            ("out_dir", bool(self.out_dir), "a folder"),
        ], section="train")


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
    if value is None and str in allowed:
        return "none"  # `--set model.norm=none`: the option named "none" of a field that takes no None
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
    """The table of a TOML, YAML or JSON config file; a file that does not parse, or whose top
    level is not a table of keys (a YAML list, say), is a one-line error naming the file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"config file not found: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"expected a config file, got a folder: {p}")
    if p.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ValueError(f"unsupported config format {p.suffix!r}: expected .toml, .yaml/.yml or .json")
    try:
        text = p.read_text()
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
            data = {} if data is None else data
    except UnicodeDecodeError as e:
        raise ValueError(f"config file {p} is not text ({e})") from e
    except Exception as e:  # TOMLDecodeError, JSONDecodeError, yaml.YAMLError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"config file {p} does not parse: {first}") from e
    if not isinstance(data, dict):
        raise ValueError(f"config file {p}: expected a table of keys at the top level, got a {type(data).__name__}")
    return data


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

    def __post_init__(self) -> None:
        _check(self, [
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("eval_samples", self.eval_samples >= 1, "an integer >= 1"),
        ], section="data")


@dataclass
class LatentModelConfig:
    """Generator :math:`G(z)` and its discriminator."""

    generator: str = _opt("dcgan", "generator: dcgan or mlp")
    latent_dim: int = _opt(64, "noise dimension of G (InfoGAN's codes come on top)")
    width: int = _opt(32, "base width of G")
    output: str = _opt("sigmoid", "output activation of G: sigmoid for [0, 1] data")
    discriminator: str = _opt("dcgan", "discriminator: dcgan or mlp")
    d_width: int = _opt(32, "base width of D")
    d_norm: str | None = _opt(None, "normalisation in the DCGAN D: batch, layer or none (default: batch, none with spectral norm)")
    spectral_norm: bool = _opt(False, "spectral normalisation of D's layers (SNGAN)")
    d_dropout: float = _opt(0.0, "dropout after each hidden layer of the MLP D")
    g_batch_norm: bool = _opt(False, "batch norm in the hidden layers of the MLP G (the DCGAN G always has it)")

    def __post_init__(self) -> None:
        _check(self, [
            ("d_dropout", 0 <= self.d_dropout < 1, "a value in [0, 1)"),
            ("generator", self.generator in ("dcgan", "mlp"), "'dcgan' or 'mlp'"),
            ("discriminator", self.discriminator in ("dcgan", "mlp"), "'dcgan' or 'mlp'"),
            ("d_norm", self.d_norm in (None, "batch", "layer", "none"), "'batch', 'layer', 'none' or None"),
            ("latent_dim", self.latent_dim >= 1, "an integer >= 1"),
            ("width", self.width >= 1, "an integer >= 1"),
            ("d_width", self.d_width >= 1, "an integer >= 1"),
        ], section="model")


CONDITIONINGS = ("none", "cgan", "acgan", "infogan")
REGULARIZER_NAMES = ("none", "r1", "r2", "gp", "dragan")


@dataclass
class GANConfig:
    r"""The adversarial toolbox of a generator run (:mod:`invgan.losses`): the objective's
    regulariser, WGAN's clipping, DiffAugment and the conditioning (CGAN, ACGAN, InfoGAN)."""

    conditioning: str = _opt("none", "none; cgan: the label goes into G and D; acgan: into G, with a class head on D; "
                                     "infogan: latent codes and a Q head on D")
    regularizer: str = _opt("none", "regulariser of D: none, r1, r2, gp (WGAN-GP) or dragan")
    reg_weight: float = _opt(10.0, "its weight: lambda for gp and dragan (10 in the papers), gamma/2 for r1 and r2")
    reg_every: int = _opt(1, "1: added to D's loss every step; k > 1: lazily every k steps (gain k, optimiser correction)")
    clip: float | None = _opt(None, "WGAN weight clipping of D's parameters to [-clip, clip] (the paper's 0.01); none: off")
    augment: str = _opt("", "DiffAugment of everything D sees: comma-separated color, translation, cutout ('' off)")
    class_weight: float = _opt(1.0, "ACGAN: weight of the class loss of both networks")
    categorical: int = _opt(10, "InfoGAN: values of the categorical code")
    continuous: int = _opt(2, "InfoGAN: number of continuous codes, uniform in [-1, 1]")
    info_weight: float = _opt(1.0, "InfoGAN: lambda of the information loss")
    continuous_weight: float = _opt(0.5, "InfoGAN: weight of the continuous codes' part of it")

    def __post_init__(self) -> None:
        _check(self, [
            ("conditioning", self.conditioning in CONDITIONINGS, f"one of {CONDITIONINGS}"),
            ("regularizer", self.regularizer in REGULARIZER_NAMES, f"one of {REGULARIZER_NAMES}"),
            ("reg_weight", self.reg_weight >= 0, "a value >= 0"),
            ("reg_every", self.reg_every >= 1, "an integer >= 1"),
            ("clip", self.clip is None or self.clip > 0, "a value > 0, or None"),
            ("class_weight", self.class_weight >= 0, "a value >= 0"),
            ("categorical", self.categorical >= 2, "an integer >= 2"),
            ("continuous", self.continuous >= 0, "an integer >= 0"),
            ("info_weight", self.info_weight >= 0, "a value >= 0"),
            ("continuous_weight", self.continuous_weight >= 0, "a value >= 0"),
            ("augment", all(p.strip() in ("color", "translation", "cutout") for p in self.augment.split(",")) if self.augment else True,
             "'' or a comma-separated subset of color, translation, cutout"),
        ], section="gan")


@dataclass
class UnconditionalConfig:
    """An unconditional GAN run, AmbientGAN when ``ambient`` (:mod:`invgan.training.systems`)."""

    ambient: bool = False
    objective: str = "ns"
    classifier_metrics: bool = True
    data: SampleDataConfig = field(default_factory=SampleDataConfig)
    model: LatentModelConfig = field(default_factory=LatentModelConfig)
    gan: GANConfig = field(default_factory=GANConfig)
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


def _check(cfg: Any, checks: list[tuple[str, bool, str]], section: str = "") -> None:
    """Raise one clear error for the first setting out of its range (``section.name`` when a
    section is given). NaN fails every comparison, so it is refused by every range."""
    for name, ok, allowed in checks:
        if not ok:
            raise ValueError(f"invalid {section + '.' if section else ''}{name}={getattr(cfg, name)!r}: expected {allowed}")


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
    paper: str = ""


#: what the pix2pix presets share: D judges (A^T y, x) pairs, non-saturating loss + 100 L1 (Isola et al. 2017)
_PIX2PIX: dict[str, Any] = {
    "model": {"discriminator": "patchgan", "spectral_norm": True},
    "loss": {"objective": "ns", "adversarial": "pair", "adv_weight": 1.0, "reconstruction": "l1", "rec_weight": 100.0},
}
#: what the x4 super-resolution presets share: noise-free bicubic x4, 64x64 training crops, 256x256 held-out crops
_SR_X4: dict[str, Any] = {
    "physics": {"name": "downsampling", "factor": 4, "noise": "none"},
    "data": {"crop": 64, "batch_size": 16, "eval_crop": 256, "eval_crops": 24},
}

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
    # image-to-image GANs of the seeds as conditional runs (docs/image_to_image.md has their figures)
    "pix2pix-deblur": Preset(
        "conditional", "pix2pix for deblurring: U-Net G, PatchGAN D judging (A^T y, x) pairs, non-saturating loss + 100 L1; "
        "spectral norm in D (the paper's D without it, model.spectral_norm=false, lost 2.6 dB) and the demo's optimiser schedule",
        {**_PIX2PIX,
         "train": {"out_dir": "runs/pix2pix-deblur"}}, paper="pix2pix, Isola et al. 2017"),
    "pix2pix-inpainting": Preset(
        "conditional", "pix2pix for inpainting (half the pixels kept, a fresh mask per sample)",
        {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True},
         **_PIX2PIX,
         "train": {"out_dir": "runs/pix2pix-inpainting"}}, paper="pix2pix, Isola et al. 2017"),
    "srresnet-x4": Preset(
        "conditional", "x4 super-resolution with SRResNet (residual blocks, PixelShuffle) on L1, held out on 256x256 crops; "
        "without the paper's batch norm (model.norm=batch: its running statistics, taken on the training textures, "
        "cost 2 dB on held-out photos), with L1 instead of MSE (EDSR's choice), Adam 5e-4 (1e-3 diverged)",
        {**_SR_X4,
         "model": {"generator": "srresnet", "width": 32, "blocks": 8},
         "loss": {"adv_weight": 0.0, "reconstruction": "l1"}, "optim": {"lr_g": 5e-4, "beta1": 0.9},
         "train": {"steps": 3000, "out_dir": "runs/srresnet-x4"}},
        paper="SRResNet, Ledig et al. 2017"),
    "srgan-x4": Preset(
        "conditional", "SRGAN: SRResNet pretrained on L1 for 3,000 steps (pretrained.pt), then 1,000 steps of L1 + 1e-3 adversarial (VGG-style D)",
        {**_SR_X4,
         "model": {"generator": "srresnet", "width": 32, "blocks": 8, "discriminator": "esrgan", "spectral_norm": False},
         "loss": {"objective": "ns", "adv_weight": 1e-3, "adv_start": 3000, "reconstruction": "l1"},
         "optim": {"lr_g": 5e-4, "lr_d": 1e-4, "beta1": 0.9}, "train": {"steps": 4000, "out_dir": "runs/srgan-x4"}},
        paper="SRGAN, Ledig et al. 2017"),
    "esrgan-x4": Preset(
        "conditional", "ESRGAN: RRDB G (no batch norm, residual scaling 0.2) pretrained on L1, then perceptual (offline "
        "Inception features; VGG-19 with loss.perceptual_net=vgg19 and a local loss.vgg_weights file) + 5e-3 RaGAN + 1e-2 L1; "
        "spectral norm in the VGG-style critic (the paper's, model.spectral_norm=false, lost 1.7 dB and 7 KID points); "
        "Adam 5e-4, beta1 0.9 (SRResNet's; 1e-3, beta1 0.5 left the RRDB 0.25 dB lower and 12 KID points higher); "
        "4,500 adversarial steps (1,500 and 2,500 left a higher patch KID)",
        {**_SR_X4,
         "model": {"generator": "rrdb", "width": 32, "blocks": 2, "discriminator": "esrgan", "spectral_norm": True},
         "loss": {"objective": "ragan", "adv_weight": 5e-3, "adv_start": 2500, "reconstruction": "l1", "rec_weight": 1e-2,
                  "perceptual_weight": 1.0},
         "optim": {"lr_g": 5e-4, "lr_d": 1e-4, "beta1": 0.9}, "train": {"steps": 7000, "out_dir": "runs/esrgan-x4"}},
        paper="ESRGAN, Wang et al. 2018"),
    # step counts of the runs reported in docs/latent_search.md and docs/gallery.md (wall times there)
    "dcgan-mnist": Preset("unconditional", "convolutional G and D with batch norm, non-saturating loss, on 5,000 MNIST digits",
                          {"train": {"steps": 16000}}, paper="DCGAN, Radford et al. 2016"),
    "gan-mnist": Preset("unconditional", "the vanilla GAN of the seeds: fully connected G (batch norm) and D (dropout), non-saturating loss",
                        {"model": {"generator": "mlp", "discriminator": "mlp", "d_dropout": 0.3, "g_batch_norm": True},
                         "train": {"steps": 10000, "out_dir": "runs/gan-mnist"}},
                        paper="GAN, Goodfellow et al. 2014"),
    "lsgan-mnist": Preset("unconditional", "least-squares objective on the DCGAN networks",
                          {"objective": "lsgan", "train": {"steps": 5000, "out_dir": "runs/lsgan-mnist"}}, paper="LSGAN, Mao et al. 2017"),
    "wgan-mnist": Preset("unconditional", "Wasserstein critic with weight clipping 0.01, 5 critic steps, RMSProp 5e-5",
                         {"objective": "wgan", "gan": {"clip": 0.01}, "model": {"d_norm": "none"},
                          "optim": {"optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5},
                          "train": {"steps": 4000, "out_dir": "runs/wgan-mnist"}}, paper="WGAN, Arjovsky et al. 2017"),
    "wgangp-mnist": Preset("unconditional", "Wasserstein critic with the gradient penalty (lambda 10) on random interpolates, layer norm "
                           "in D; one critic step at a 3x faster critic learning rate (TTUR) to fit a CPU budget "
                           "(the paper's 5 critic steps: --set optim.n_critic=5)",
                           {"objective": "wgan", "gan": {"regularizer": "gp", "reg_weight": 10.0}, "model": {"d_norm": "layer"},
                            "optim": {"lr_g": 1e-4, "lr_d": 3e-4, "beta1": 0.5, "beta2": 0.9, "n_critic": 1},
                            "train": {"steps": 16000, "out_dir": "runs/wgangp-mnist"}},
                           paper="WGAN-GP, Gulrajani et al. 2017; TTUR, Heusel et al. 2017"),
    "sngan-mnist": Preset("unconditional", "hinge objective, spectral normalisation in D",
                          {"objective": "hinge", "model": {"spectral_norm": True}, "train": {"steps": 15000, "out_dir": "runs/sngan-mnist"}},
                          paper="SNGAN, Miyato et al. 2018 (hinge loss: Lim & Ye 2017)"),
    "ragan-mnist": Preset("unconditional", "relativistic average objective (both terms in G's loss)",
                          {"objective": "ragan", "train": {"steps": 5000, "out_dir": "runs/ragan-mnist"}}, paper="RaGAN, Jolicoeur-Martineau 2019"),
    "fgan-mnist": Preset("unconditional", "f-GAN with the Jensen-Shannon divergence (other divergences: objective = fgan-kl, "
                         "fgan-reverse-kl, fgan-pearson, fgan-hellinger)",
                         {"objective": "fgan-js", "train": {"steps": 4000, "out_dir": "runs/fgan-mnist"}}, paper="f-GAN, Nowozin et al. 2016"),
    "cgan-mnist": Preset("unconditional", "class-conditional: the digit label goes into G and D",
                         {"gan": {"conditioning": "cgan"}, "train": {"steps": 5000, "out_dir": "runs/cgan-mnist"}},
                         paper="CGAN, Mirza & Osindero 2014"),
    "acgan-mnist": Preset("unconditional", "class-conditional G, auxiliary classifier head on D, class loss for both",
                          {"gan": {"conditioning": "acgan"}, "train": {"steps": 11000, "out_dir": "runs/acgan-mnist"}},
                          paper="ACGAN, Odena et al. 2017"),
    "infogan-mnist": Preset("unconditional", "unsupervised codes: one 10-way categorical and two continuous codes, Q head on D",
                            {"gan": {"conditioning": "infogan", "continuous_weight": 0.1}, "model": {"latent_dim": 16},
                             "optim": {"lr_g": 1e-3}, "train": {"steps": 12000, "out_dir": "runs/infogan-mnist"}},
                            paper="InfoGAN, Chen et al. 2016"),
    "ambientgan-mnist": Preset("unconditional", "generator learnt from MNIST digits with half the pixels missing (D sees only measurements)",
                               {"ambient": True, "train": {"steps": 8000, "out_dir": "runs/ambientgan-mnist"}},
                               paper="AmbientGAN, Bora et al. 2018"),
    "dcgan-digits8": Preset("unconditional", "a small MLP GAN on scikit-learn's 8x8 digits (a minute on CPU)",
                            {"data": {"dataset": "digits8"}, "model": {"generator": "mlp"}, "train": {"steps": 1000, "out_dir": "runs/dcgan-digits8"}}),
    "csgm-cs": Preset("invert", "CSGM (Bora et al. 2017): m = 100 Gaussian measurements of a digit, noise 0.1", {}),
    "dip-inpainting": Preset("dip", "deep image prior, half the pixels missing (the cameraman experiment of docs/dip.md)", {}),
    "dip-denoising": Preset("dip", "deep image prior denoising, Gaussian noise 25/255", {"physics": {"name": "denoising"}}),
    "dip-sr4": Preset("dip", "deep image prior x4 super-resolution", {"physics": {"name": "downsampling", "factor": 4}}),
    "csgm-inpainting": Preset("invert", "latent search from digits with half the pixels missing, a mask per image",
                              {"physics": {"name": "inpainting", "keep": 0.5, "fresh_per_sample": True}}),
    "cyclegan-deblur": Preset(
        "conditional", "unpaired deblurring: sharp crops of half the built-in photos, blurred crops of the other half; "
        "two U-Net generators, two PatchGAN critics, LSGAN, cycle (10) and identity (0.5) losses, a pool of 50 fakes",
        {"loss": {"adversarial": "unpaired", "reconstruction": "none", "adv_weight": 1.0, "cycle_weight": 10.0,
                  "identity_weight": 0.5, "pool_size": 50, "objective": "lsgan"},
         "optim": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5}, "train": {"out_dir": "runs/cyclegan-deblur"}},
        paper="CycleGAN, Zhu et al. 2017"),
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
