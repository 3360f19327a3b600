r"""The parts of a conditional run (:math:`\hat x = R(y, A)`): training crops, the operator, the
reconstructor, its discriminator and the recipe of :func:`~invgan.training.systems.conditional_gan`,
or, for systems trained without :math:`(x, y)` pairs, their own stream and networks
(:data:`UNPAIRED_SYSTEMS`: CycleGAN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..builders import build_cycle_generators, build_measurement, build_operator, build_reconstructor
from ..config import ConditionalConfig
from ..data import CropStream, MeasuredSet, UnpairedCropStream, fixed_crops, fixed_measurements, split_by_image
from ..data.sources import ImageSource, has_split, open_source
from ..losses import PerceptualLoss
from ..losses.selfsup import NEEDS_FRESH_DRAWS, self_supervised_loss
from ..nets import make_discriminator
from ..nets.cycle import PairedCritics
from ..physics import MeasurementModel, default_noise_sigma
from .gan import GANRecipe, Regularizer
from .parts import RunParts
from .systems import conditional_gan, cycle_gan


def conditional_parts(cfg: ConditionalConfig, device: torch.device) -> RunParts:
    """Data, operator, reconstructor, discriminator and recipe of a conditional-GAN run."""
    data, loss = cfg.data, cfg.loss
    train_images = open_source(data.source, "train", data.channels, min_size=data.crop, value_range=data.value_range, cache_mb=data.cache_mb)
    check_held_out(data.source, data.eval_source)
    measurement = build_measurement(cfg, device)
    stream = CropStream(train_images, data.crop, data.batch_size, augment=data.augment, seed=data.seed, workers=data.workers)
    eval_measurement, eval_set = held_out_set(cfg, device, measurement)
    unpaired = UNPAIRED_SYSTEMS.get(loss.adversarial)
    if unpaired is not None:  # no (x, y) pairs: its own stream and networks
        if (data.eval_crop or data.crop) != data.crop:
            raise ValueError(f"loss.adversarial={loss.adversarial!r} evaluates on training-size crops: leave data.eval_crop unset")
        recipe, stream = unpaired(cfg, train_images, measurement, eval_set)
        return RunParts(recipe, stream, eval_set)
    reconstructor = build_reconstructor(cfg)
    discriminator = conditional_discriminator(cfg, measurement) if loss.adv_weight > 0 else None
    perceptual = None
    if loss.perceptual_weight > 0:
        from ..nets.features import perceptual_features

        perceptual = PerceptualLoss(perceptual_features(loss.perceptual_net, loss.vgg_weights))
    recipe = conditional_gan(
        reconstructor, measurement, discriminator, objective=loss.objective, adversarial=loss.adversarial,
        adv_weight=loss.adv_weight, adv_start=loss.adv_start,
        reconstruction=None if loss.reconstruction == "none" else loss.reconstruction, rec_weight=loss.rec_weight,
        mc_weight=loss.mc_weight, cycle_weight=loss.cycle_weight, n_critic=cfg.optim.n_critic,
        perceptual=perceptual, perceptual_weight=loss.perceptual_weight, eval_measurement=eval_measurement,
        posterior_samples=loss.posterior_samples, std_weight=loss.std_weight, std_ramp=loss.std_ramp, std_adapt=loss.std_adapt,
        std_pool=loss.std_pool, std_unseen=loss.std_unseen,
        fresh_measurement=fresh_measurement(cfg, device) if loss.fresh_operator else None,
        self_supervised=self_supervised_terms(cfg, device), ss_weight=loss.ss_weight,
        select=data.select, scale_factor=loss.scale_factor,
        regularizers=Regularizer.named(loss.regularizer, loss.reg_weight, loss.reg_every) if discriminator is not None else (),
    )
    return RunParts(recipe, stream, eval_set)


def fresh_measurement(cfg: ConditionalConfig, device: torch.device, offset: int = 1000) -> MeasurementModel:
    """A second training operator with its own seeded draws (``physics.seed + offset``), through which
    ``D``'s fakes are measured (``loss.fresh_operator``): independent of the draws of ``y``."""
    return build_operator(cfg.physics, (cfg.data.channels, cfg.data.crop, cfg.data.crop), device, seed=cfg.physics.seed + offset)


def self_supervised_terms(cfg: ConditionalConfig, device: torch.device) -> tuple[nn.Module, ...]:
    """The deepinv losses of ``loss.self_supervised`` (:func:`~invgan.losses.selfsup.self_supervised_loss`;
    none, one, or several joined by '+'), seeded from ``train.seed``; fresh draws from an operator
    seeded ``physics.seed + 2000``; the splitting masks of ``loss.split_ratio`` on training crops."""
    sigma = cfg.physics.noise_sigma if cfg.physics.noise_sigma is not None else default_noise_sigma(cfg.physics.name)
    sigma = sigma if cfg.physics.noise == "gaussian" else 0.0
    shape = (cfg.data.channels, cfg.data.crop, cfg.data.crop)
    terms = []
    for name in cfg.loss.self_supervised_parts:
        draws = fresh_measurement(cfg, device, 2000).generator if name in NEEDS_FRESH_DRAWS else None
        terms.append(self_supervised_loss(name, draws=draws, noise_sigma=sigma, seed=cfg.train.seed, split_ratio=cfg.loss.split_ratio,
                                          image_shape=shape, device=device))
    return tuple(terms)


def conditional_discriminator(cfg: ConditionalConfig, measurement: MeasurementModel) -> nn.Module:
    """``D`` for what it judges, on training crops: images, or image-shaped measurements (self-supervised)."""
    loss, model = cfg.loss, cfg.model
    channels, size = cfg.data.channels, cfg.data.crop
    if loss.adversarial in ("measurement", "uair", "scale"):
        with torch.no_grad():
            device = next(iter(measurement.physics.buffers()), torch.empty(0)).device
            y_shape = measurement.physics.A(torch.zeros(1, channels, size, size, device=device)).shape
        if len(y_shape) != 4 or y_shape[-1] != y_shape[-2]:
            raise ValueError(f"adversarial={loss.adversarial!r} needs image-shaped measurements, got shape {tuple(y_shape[1:])}")
        channels, size = y_shape[1], y_shape[-1]
        if loss.adversarial == "scale":  # y down-scaled by s, and crops of x_hat of that size
            size //= loss.scale_factor
    elif loss.adversarial == "pair":
        channels = 2 * channels
    extra: dict[str, Any] = {"n_layers": model.d_layers} if model.discriminator == "patchgan" else {}
    if model.d_norm != "auto":
        extra["norm"] = model.d_norm
    D = make_discriminator(model.discriminator, channels, size, width=model.d_width, spectral_norm=model.spectral_norm, **extra)
    if loss.adversarial == "scale" and size < getattr(D, "min_size", 1):
        raise ValueError(f"loss.scale_factor={loss.scale_factor} leaves D patches of {size}x{size} pixels, but "
                         f"model.discriminator={model.discriminator!r} with model.d_layers={model.d_layers} needs at least "
                         f"{D.min_size}x{D.min_size}: lower loss.scale_factor or model.d_layers, or raise data.crop")
    return D


def held_out_set(cfg: ConditionalConfig, device: torch.device | str = "cpu", measurement: MeasurementModel | None = None,
                 n: int | None = None, split: str = "test") -> tuple[MeasurementModel, MeasuredSet]:
    """The operator and the fixed measured set a conditional run is evaluated on: ``n`` (default
    ``data.eval_crops``) crops of side ``data.eval_crop`` (default ``data.crop``) of the held-out
    images, measured once (seed 1234). Crops larger than the training ones get their own operator
    (the networks are fully convolutional); ``measurement``, the training operator, is reused otherwise.

    ``split="train"`` draws the same kind of set from the *training* images instead: a selection
    set for choices (an interpolation weight, a checkpoint) that must not look at the held-out photos."""
    if split not in ("test", "train"):
        raise ValueError(f"invalid split={split!r}: expected 'test' (held-out images) or 'train'")
    data = cfg.data
    size = data.eval_crop or data.crop
    source = data.source if split == "train" else (data.eval_source or data.source)
    images = open_source(source, split, data.channels, min_size=size, value_range=data.value_range)
    if measurement is None or size != data.crop:
        measurement = build_operator(cfg.physics, (data.channels, size, size), device)
    return measurement, fixed_measurements(measurement, fixed_crops(images, size, n or data.eval_crops).to(device), seed=1234)


def check_held_out(source: str, eval_source: str | None) -> None:
    """Your own ``data.source`` needs held-out images: a folder's ``test/`` sub-folder, or
    ``data.eval_source`` (for any source). Without them the run would evaluate (and pick
    ``best.pt``) on its own training images, so it is refused rather than done with a warning
    nobody reads."""
    if source == "builtin" or eval_source is not None or has_split(source, "test"):
        return
    root = Path(source).expanduser()
    if root.is_dir():
        raise ValueError(f"data folder {root} has no test/ sub-folder of held-out images: put the training images in "
                         f"{root / 'train'} and held-out ones in {root / 'test'}, or name held-out images with "
                         "data.eval_source (evaluating on the training images would report a meaningless score)")
    if root.is_file():
        raise ValueError(f"data.source {root} needs held-out images: name them with data.eval_source (a folder, a list or "
                         "arrays; evaluating on the training images would report a meaningless score)")


def cycle_gan_parts(cfg: ConditionalConfig, train_images: ImageSource, measurement: MeasurementModel,
                    eval_set: MeasuredSet) -> tuple[GANRecipe, UnpairedCropStream]:
    """CycleGAN's recipe and stream (``loss.adversarial = "unpaired"``): the training images split
    in two disjoint halves, clean crops of one and measured crops of the other; two residual
    U-Nets (``model.width``, ``depth``, ``norm``) and two critics (``model.discriminator``, ...)."""
    data, model, loss = cfg.data, cfg.model, cfg.loss
    if loss.reconstruction != "none":
        raise ValueError(f"loss.adversarial='unpaired' learns without (x, y) pairs, but loss.reconstruction={loss.reconstruction!r} "
                         "needs them: set loss.reconstruction='none'")
    if loss.mc_weight > 0:
        raise ValueError(f"loss.adversarial='unpaired' (CycleGAN) does not give its generator the operator, but "
                         f"loss.mc_weight={loss.mc_weight!r} needs it: set loss.mc_weight=0")
    if model.latent_channels:
        raise ValueError(f"loss.adversarial='unpaired' has deterministic generators: model.latent_channels must be 0, got {model.latent_channels}")
    clean, measured = split_by_image(train_images)
    stream = UnpairedCropStream(clean, measured, data.crop, data.batch_size, augment=data.augment, seed=data.seed, workers=data.workers)
    generators = build_cycle_generators(cfg)
    critics = PairedCritics(conditional_discriminator(cfg, measurement), conditional_discriminator(cfg, measurement))
    recipe = cycle_gan(generators, critics, measurement, loss.objective, adv_weight=loss.adv_weight, cycle_weight=loss.cycle_weight,
                       identity_weight=loss.identity_weight, pool_size=loss.pool_size, n_critic=cfg.optim.n_critic, seed=cfg.train.seed)
    return recipe, stream


#: conditional systems trained without pairs, by ``loss.adversarial``: a builder of their recipe and stream
UNPAIRED_SYSTEMS: dict[str, Callable[..., tuple[GANRecipe, Any]]] = {"unpaired": cycle_gan_parts}
