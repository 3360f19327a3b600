r"""The parts of a generator run (:math:`x = G(z)`): the built-in images, the generator, its
discriminator, AmbientGAN's operator, and the recipe of the system that ``gan.conditioning``
names (:data:`CONDITIONED_SYSTEMS`), or :func:`~invgan.training.systems.ambient_gan` when the
generator learns from measurements only."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch import nn

from ..builders import build_operator
from ..config import UnconditionalConfig
from ..data import CropStream, SampleStream
from ..data.small_sets import load_small_set
from ..data.sources import ImageSource, generator_sets, read_all
from ..losses import PathLengthPenalty, clip_weights, drift_penalty, orthogonal_penalty
from ..nets import ConditionalDiscriminator, MLPDiscriminator, padded_dcgan_discriminator
from ..nets.generators import make_generator
from ..nets.progan import GrowthSchedule, ProGANDiscriminator
from ..nets.sagan import SAGANDiscriminator
from ..nets.stylegan import StyleGAN2Discriminator
from .gan import GANRecipe, Regularizer
from .parts import RunParts
from .systems import acgan, ambient_gan, cgan, infogan, unconditional_gan


def _plain(cfg: UnconditionalConfig, G: nn.Module, D: nn.Module, **common: Any) -> GANRecipe:
    return unconditional_gan(G, D, cfg.loss.objective, **common)


def _cgan(cfg: UnconditionalConfig, G: nn.Module, D: nn.Module, **common: Any) -> GANRecipe:
    return cgan(G, D, cfg.loss.objective, **common)


def _acgan(cfg: UnconditionalConfig, G: nn.Module, D: nn.Module, **common: Any) -> GANRecipe:
    return acgan(G, D, cfg.loss.objective, class_weight=cfg.gan.class_weight, **common)


def _infogan(cfg: UnconditionalConfig, G: nn.Module, D: nn.Module, **common: Any) -> GANRecipe:
    gan = cfg.gan
    return infogan(G, D, G.codes, cfg.loss.objective, info_weight=gan.info_weight, continuous_weight=gan.continuous_weight, **common)


#: the side of your own images in a generator run when ``data.resolution`` is not set
DEFAULT_RESOLUTION = 64

#: the system of each ``gan.conditioning``: a recipe from the config, ``G``, ``D`` and the common arguments
CONDITIONED_SYSTEMS: dict[str, Callable[..., GANRecipe]] = {"none": _plain, "cgan": _cgan, "acgan": _acgan, "infogan": _infogan}


def unconditional_parts(cfg: UnconditionalConfig, device: torch.device) -> RunParts:
    """Data, generator, discriminator, operator (AmbientGAN) and recipe of a generator run
    (conditioned on labels or latent codes as ``cfg.gan.conditioning`` says)."""
    data, model, gan = cfg.data, cfg.model, cfg.gan
    train_images, labels, held_x = generator_data(cfg)
    shape = tuple(held_x.shape[1:])
    labelled = gan.conditioning in ("cgan", "acgan")
    if labelled and (labels is None or bool((labels < 0).any())):
        what = f"the {data.dataset!r} set" if data.source == "builtin" else "your images"
        raise ValueError(f"gan.conditioning={gan.conditioning!r} needs labelled images, and {what} have none")
    if gan.conditioning != "none" and cfg.ambient:
        raise ValueError(f"gan.conditioning={gan.conditioning!r} is not available for AmbientGAN runs (ambient = true)")
    n_classes = int(labels.max()) + 1 if labelled else 0
    code_spec = {"categorical": [gan.categorical], "continuous": gan.continuous} if gan.conditioning == "infogan" else None
    extra = {"batch_norm": True} if model.generator == "mlp" and model.g_batch_norm else {}
    if model.generator == "stylegan2":
        extra = {"mapping_layers": model.mapping_layers, "mixing": model.style_mixing}
    elif model.generator == "sagan":
        extra = {"attention": model.attention}
    elif model.generator == "progan":
        extra = {"phase_steps": phase_steps(cfg)}
    G = make_generator(model.generator, model.latent_dim, shape, output=model.output, width=model.width, n_classes=n_classes,
                       codes=code_spec, **extra)
    if gan.path_length_weight > 0 and "w+" not in G.latent_spaces():
        raise ValueError("gan.path_length_weight > 0 needs a generator with a w+ space: model.generator = 'stylegan2' "
                         "and gan.conditioning = 'none'")
    measurement = build_operator(cfg.physics, shape, device) if cfg.ambient else None
    heads = {"class": n_classes} if gan.conditioning == "acgan" else {"code": G.codes.head_size} if G.codes else None
    one_hot = gan.conditioning == "cgan" and model.discriminator != "sagan"  # SAGAN's D projects the label itself
    D = latent_discriminator(cfg, shape, shape[0] + (n_classes if one_hot else 0), heads, n_classes if gan.conditioning == "cgan" else 0)
    if one_hot:
        D = ConditionalDiscriminator(D, n_classes)
    classifier = sample_scorer(cfg)
    common = dict(seed=cfg.train.seed, eval_samples=data.eval_samples, classifier=classifier, n_critic=cfg.optim.n_critic, **toolbox(cfg))
    if (model.generator == "progan") != (model.discriminator == "progan"):
        raise ValueError("ProGAN grows G and D together: set model.generator and model.discriminator both to 'progan' "
                         f"(got {model.generator!r} and {model.discriminator!r})")
    schedule = GrowthSchedule(G, D) if model.generator == "progan" else None
    if schedule is not None:
        common["on_step"] = (schedule,)
    if measurement is not None:
        if measurement.generator is None and cfg.physics.name in ("inpainting", "cs"):
            raise ValueError(f"AmbientGAN with {cfg.physics.name!r} needs a fresh operator per sample (one fixed mask or "
                             "matrix never shows D the rest of the image): set physics.fresh_per_sample = true")
        with torch.no_grad():
            y_shape = tuple(measurement.physics.A(torch.zeros(1, *shape, device=device)).shape[1:])
        # vector measurements (compressed sensing): D sees A^T y, see AmbientView
        recipe = ambient_gan(G, D, measurement, cfg.loss.objective, adjoint=y_shape != shape, **common)
    else:
        recipe = CONDITIONED_SYSTEMS[gan.conditioning](cfg, G, D, **common)
    if schedule is not None:
        recipe.preview_steps = schedule.stage_ends()  # a sample grid at the end of each resolution
    if labelled:
        stream: Any = SampleStream(torch.stack(list(train_images)), data.batch_size, labels=labels, seed=data.seed)
    else:
        stream = CropStream(train_images, shape[-1], data.batch_size, augment=False, seed=data.seed, workers=data.workers)
    return RunParts(recipe, stream, held_x.to(device), record={"generator": G.config})


def generator_data(cfg: UnconditionalConfig) -> tuple[ImageSource | list[torch.Tensor], torch.Tensor | None, torch.Tensor]:
    """The training images (a list in memory, or a lazily read :class:`~invgan.data.sources.ResizedSource`),
    their labels (``None``: none) and the held-out images (at most ``data.eval_samples`` of your
    own) of a generator run: a built-in set, or your images at ``data.resolution``."""
    data = cfg.data
    if data.source == "builtin":
        train, held = load_small_set(data.dataset, "train", seed=data.seed), load_small_set(data.dataset, "heldout", seed=data.seed)
        return list(train.x), train.labels, held.x
    train_src, held_src = generator_sets(data.source, data.eval_source, data.resolution or DEFAULT_RESOLUTION, data.channels,
                                         heldout_fraction=data.heldout_fraction, seed=data.seed, value_range=data.value_range,
                                         cache_mb=data.cache_mb)
    return train_src, None, read_all(held_src, data.eval_samples)


def sample_scorer(cfg: UnconditionalConfig) -> Any:
    """What scores the samples of a generator run: the digit classifier for the built-in digits,
    FID/KID on Inception features (:class:`~invgan.metrics.inception.PhotoMetrics`) for your own
    images when the ``fid`` extra is installed (said once otherwise), nothing for faces."""
    data = cfg.data
    if not cfg.classifier_metrics:
        return None
    if data.source == "builtin":
        if data.dataset not in ("mnist", "digits8"):
            return None
        from ..metrics import load_classifier

        return load_classifier(dataset=data.dataset)
    from ..metrics.inception import EXTRA_HINT, PhotoMetrics

    try:
        return PhotoMetrics()
    except (ImportError, FileNotFoundError, RuntimeError) as e:
        warnings.warn(f"no FID/KID for this run (the samples are still saved): {e}; {EXTRA_HINT}", UserWarning, stacklevel=2)
        return None


def latent_discriminator(cfg: UnconditionalConfig, shape: tuple[int, ...], in_channels: int, heads: dict[str, int] | None,
                         n_classes: int = 0) -> nn.Module:
    """``D`` of a generator run: the padded DCGAN critic (with heads if asked), the MLP critic,
    StyleGAN2's residual critic or SAGAN's (a projection critic :math:`D(x, c)` of ``n_classes``)."""
    model = cfg.model
    if model.discriminator == "progan":
        if heads:
            raise ValueError(f"model.discriminator = 'progan' has no heads (gan.conditioning={cfg.gan.conditioning!r}): use model.discriminator = 'dcgan'")
        return ProGANDiscriminator(in_channels, shape[-1], model.d_width, phase_steps=phase_steps(cfg))
    if model.discriminator == "sagan":
        if heads:
            raise ValueError(f"model.discriminator = 'sagan' has no heads: use model.discriminator = 'dcgan' (gan.conditioning={cfg.gan.conditioning!r})")
        return SAGANDiscriminator(in_channels, shape[-1], model.d_width, n_classes=n_classes, attention=0 if model.attention == 0 else None)
    if model.discriminator == "mlp":
        if heads:
            raise ValueError(f"gan.conditioning={cfg.gan.conditioning!r} needs a head on D: use model.discriminator = 'dcgan'")
        return MLPDiscriminator(in_channels * shape[-2] * shape[-1], hidden=(4 * model.d_width * 2, 4 * model.d_width),
                                 spectral_norm=model.spectral_norm, dropout=model.d_dropout)
    if model.discriminator == "stylegan2":
        if heads or model.spectral_norm:
            raise ValueError("model.discriminator = 'stylegan2' has no heads and no spectral norm: use model.discriminator = 'dcgan' "
                             f"(gan.conditioning={cfg.gan.conditioning!r}, model.spectral_norm={model.spectral_norm})")
        return StyleGAN2Discriminator(in_channels, shape[-1], model.d_width)
    return padded_dcgan_discriminator(in_channels, shape[-1], model.d_width, model.spectral_norm, heads=heads, norm=model.d_norm)


def phase_steps(cfg: UnconditionalConfig) -> int:
    """Steps of each ProGAN growth phase: ``model.phase_images`` over the batch size, rounded up."""
    return -(-cfg.model.phase_images // cfg.data.batch_size)


def toolbox(cfg: UnconditionalConfig) -> dict[str, Any]:
    """The regularisers (of ``D``; StyleGAN2's path length of ``G``), clipping and DiffAugment of
    ``cfg.gan`` as arguments of the systems."""
    gan = cfg.gan
    out: dict[str, Any] = {"augment": gan.augment}
    if gan.regularizer != "none":
        out["regularizers"] = Regularizer.named(gan.regularizer, gan.reg_weight, gan.reg_every)
    if gan.path_length_weight > 0:
        out["regularizers"] = (*out.get("regularizers", ()), Regularizer("PL", PathLengthPenalty(), gan.path_length_weight,
                                                                         gan.path_length_every, network="G"))
    if gan.drift > 0:
        out["regularizers"] = (*out.get("regularizers", ()), Regularizer("drift", drift_penalty, gan.drift))
    if gan.orthogonal_weight > 0:
        out["regularizers"] = (*out.get("regularizers", ()), Regularizer("ortho", orthogonal_penalty, gan.orthogonal_weight, network="G"))
    if gan.clip is not None:
        out["d_constraints"] = (clip_weights(gan.clip),)
    return out
