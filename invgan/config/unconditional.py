r"""The ``unconditional`` kind: a generator :math:`G(z)` trained on a built-in image set, AmbientGAN
when ``ambient`` (D then sees only measurements through ``physics``; :mod:`invgan.training.systems`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..losses.heads import CONDITIONINGS
from ..losses.objectives import UNCONDITIONAL_OBJECTIVE
from ..losses.regularizers import REGULARIZER_NAMES
from ..data.sources import RESOLUTIONS
from .schema import _check, _opt, _section
from .sections import OptimConfig, PhysicsConfig, TrainConfig

#: ``model.generator`` of a generator run (:func:`invgan.nets.generators.make_generator`)
GENERATOR_NAMES = ("dcgan", "mlp", "stylegan2", "sagan", "progan")
#: ``model.discriminator`` of a generator run
LATENT_DISCRIMINATORS = ("dcgan", "mlp", "stylegan2", "sagan", "progan")

#: ``model.output``: the built-in sets are in [0, 1], so G ends with a sigmoid
LATENT_OUTPUTS = ("sigmoid",)


@dataclass
class SampleDataConfig:
    """The images ``G`` learns: a built-in small set (``source = "builtin"``: ``dataset`` is
    ``"mnist"``, ``"digits8"`` or ``"lfw"``; :mod:`invgan.data.small_sets`), or your own images
    (``source``: a folder, a ``.txt`` list or ``.npy``/``.npz`` arrays) resized and centre-cropped to
    ``resolution``, read lazily in ``workers`` loader processes. Held-out images: ``eval_source``, a
    folder's ``test/`` sub-folder, or a seeded ``heldout_fraction`` of the images."""

    source: str = _opt("builtin", "builtin (the set data.dataset), or your images: a folder (its train/ and test/ sub-folders when "
                                  "present), a .txt list of image paths, or .npy/.npz arrays")
    dataset: str = _opt("mnist", "built-in image set: mnist, digits8 or lfw (source = builtin)")
    eval_source: str | None = _opt(None, "held-out images for the metrics (default: source/test, else a held-out fraction of source)")
    resolution: int | None = _opt(None, f"side your images are resized and centre-cropped to: {', '.join(map(str, RESOLUTIONS))} "
                                        "(default 64; built-in sets keep their own size)")
    channels: int = _opt(1, "1 (grayscale) or 3 (RGB); the built-in sets are grayscale")
    value_range: list[float] | None = _opt(None, "[low, high] of your images' values, mapped to [0, 1] (default: by type)")
    heldout_fraction: float = _opt(0.1, "share of your images held out for the metrics when there is no test/ folder or eval_source")
    workers: int | None = _opt(None, "loader processes (default: 0 for built-in sets, else one per CPU beyond the first, at most 4)")
    cache_mb: float = _opt(256.0, "MB of resized images each loader process keeps (0: none)")
    batch_size: int = _opt(64, "images per training step")
    eval_samples: int = _opt(1000, "samples drawn for each evaluation")
    seed: int = _opt(0, "seed of the train/held-out split and of the batch draws")

    def __post_init__(self) -> None:
        builtin = self.source == "builtin"
        _check(self, [
            ("source", bool(self.source), "'builtin', a folder, a .txt list or .npy/.npz arrays"),
            ("resolution", self.resolution is None or (self.resolution in RESOLUTIONS and not builtin),
             f"one of {RESOLUTIONS} for your own images, or None (built-in sets keep their size)" if not builtin else
             "None: the built-in sets keep their own size (set data.source to your images to choose one)"),
            ("channels", self.channels in (1, 3) and (self.channels == 1 or not builtin),
             "1 or 3" if not builtin else "1: the built-in sets are grayscale"),
            ("heldout_fraction", 0 < self.heldout_fraction < 1, "a fraction in (0, 1)"),
            ("workers", self.workers is None or self.workers >= 0, "an integer >= 0, or None (chosen from the machine)"),
            ("cache_mb", self.cache_mb >= 0, "a number >= 0"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("eval_samples", self.eval_samples >= 1, "an integer >= 1"),
        ], section="data")


@dataclass
class LatentModelConfig:
    """Generator :math:`G(z)` and its discriminator."""

    generator: str = _opt("dcgan", "generator: dcgan, mlp, stylegan2 (invgan.nets.stylegan), sagan (invgan.nets.sagan) or progan "
                                   "(invgan.nets.progan; with model.discriminator = progan)")
    latent_dim: int = _opt(64, "noise dimension of G (InfoGAN's codes come on top)")
    width: int = _opt(32, "base width of G")
    output: str = _opt("sigmoid", "output activation of G: sigmoid for [0, 1] data")
    discriminator: str = _opt("dcgan", "discriminator: dcgan, mlp, stylegan2 (residual, minibatch stddev, equalised learning rate) or "
                                       "sagan (spectral norm, self-attention; a projection D with cgan conditioning) or progan (grows with G)")
    d_width: int = _opt(32, "base width of D")
    d_norm: str | None = _opt(None, "normalisation in the DCGAN D: batch, layer or none (default: batch, none with spectral norm)")
    spectral_norm: bool = _opt(False, "spectral normalisation of D's layers (SNGAN)")
    d_dropout: float = _opt(0.0, "dropout after each hidden layer of the MLP D")
    g_batch_norm: bool = _opt(False, "batch norm in the hidden layers of the MLP G (the DCGAN G always has it)")
    mapping_layers: int = _opt(4, "StyleGAN2: layers of the mapping network z -> w (8 in the paper, 2 in its CIFAR setting)")
    style_mixing: float = _opt(0.9, "StyleGAN2: probability of style mixing in training (0.9 in the paper; 0 off)")
    phase_images: int = _opt(600_000, "ProGAN: images shown in each fade-in and each stable phase of the growth (the paper's 600,000); "
                                      "a phase lasts ceil(phase_images / data.batch_size) steps")
    attention: int | None = _opt(None, "SAGAN: side of G's feature maps with self-attention (default: the block before the output, "
                                       "14 for MNIST); D attends after its first block; 0: no attention in either")

    def __post_init__(self) -> None:
        _check(self, [
            ("d_dropout", 0 <= self.d_dropout < 1, "a value in [0, 1)"),
            ("generator", self.generator in GENERATOR_NAMES, f"one of {GENERATOR_NAMES}"),
            ("mapping_layers", self.mapping_layers >= 1, "an integer >= 1"),
            ("style_mixing", 0 <= self.style_mixing <= 1, "a probability in [0, 1]"),
            ("phase_images", self.phase_images >= 1, "an integer >= 1"),
            ("attention", self.attention is None or self.attention >= 0, "a feature-map side, 0 (none) or None (default)"),
            ("output", self.output in LATENT_OUTPUTS, "'sigmoid' (the built-in image sets are in [0, 1])"),
            ("discriminator", self.discriminator in LATENT_DISCRIMINATORS, f"one of {LATENT_DISCRIMINATORS}"),
            ("d_norm", self.d_norm in (None, "batch", "layer", "none"), "'batch', 'layer', 'none' or None"),
            ("latent_dim", self.latent_dim >= 1, "an integer >= 1"),
            ("width", self.width >= 1, "an integer >= 1"),
            ("d_width", self.d_width >= 1, "an integer >= 1"),
        ], section="model")


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
    path_length_weight: float = _opt(0.0, "StyleGAN2: weight of G's path-length penalty (2 in the paper; 0 off)")
    path_length_every: int = _opt(4, "StyleGAN2: the path-length penalty runs lazily every k steps (gain k, optimiser correction)")
    drift: float = _opt(0.0, "ProGAN: weight of the drift term E[D(x)^2] on real images (0.001 in the paper; 0 off)")
    orthogonal_weight: float = _opt(0.0, "weight of BigGAN's orthogonal regularisation of G's weights (1e-4 in BigGAN; 0 off)")

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
            ("path_length_weight", self.path_length_weight >= 0, "a value >= 0"),
            ("path_length_every", self.path_length_every >= 1, "an integer >= 1"),
            ("orthogonal_weight", self.orthogonal_weight >= 0, "a value >= 0"),
            ("drift", self.drift >= 0, "a value >= 0"),
            ("augment", all(p.strip() in ("color", "translation", "cutout") for p in self.augment.split(",")) if self.augment else True,
             "'' or a comma-separated subset of color, translation, cutout"),
        ], section="gan")


@dataclass
class LatentLossConfig:
    """The loss of a generator run: its GAN objective (the same key, ``loss.objective``, as in a
    conditional run; the regularisers and heads are in the ``gan`` section)."""

    objective: str = _opt(UNCONDITIONAL_OBJECTIVE, "GAN objective (invgan.losses.OBJECTIVES): ns, lsgan, wgan, hinge, ragan, fgan-js, ...")


@dataclass
class UnconditionalConfig:
    """An unconditional GAN run, AmbientGAN when ``ambient`` (:mod:`invgan.training.systems`)."""

    ambient: bool = _opt(False, "AmbientGAN: D sees only measurements of the images through physics")
    classifier_metrics: bool = _opt(True, "score samples: the bundled digit classifier (mnist, digits8), FID/KID on Inception features "
                                              "(your own images, the fid extra)")
    loss: LatentLossConfig = _section(LatentLossConfig, "the GAN objective")
    data: SampleDataConfig = _section(SampleDataConfig, "the built-in image set")
    model: LatentModelConfig = _section(LatentModelConfig, "generator and discriminator")
    gan: GANConfig = _section(GANConfig, "regularisers, clipping, DiffAugment and conditioning")
    physics: PhysicsConfig = _section(lambda: PhysicsConfig(name="inpainting", keep=0.5, fresh_per_sample=True, noise="none"),
                                      "the forward operator of AmbientGAN (ambient = true)")
    optim: OptimConfig = _section(lambda: OptimConfig(lr_g=2e-4, lr_d=2e-4, beta1=0.5, scheduler="none", ema=0.999), "optimisers")
    train: TrainConfig = _section(lambda: TrainConfig(steps=4000, eval_every=1000, checkpoint_every=1000, out_dir="runs/dcgan-mnist",
                                                      tensorboard=False), "the training loop")

    @property
    def objective(self) -> str:
        """The GAN objective; the old top-level key, now ``loss.objective``."""
        return self.loss.objective
