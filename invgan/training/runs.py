r"""From a job config to a run: data, operator, networks, the recipe (a configuration of the GAN
core, :mod:`invgan.training.systems`), optimisers and the trainer.

Each kind only says what differs (data and networks); optimisers, schedulers and the trainer
are built once, here, for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import torch
from torch import nn

from ..config import ConditionalConfig, OptimConfig, UnconditionalConfig, config_record
from ..data import CropStream, MeasuredSet, fixed_crops, fixed_measurements, load_images
from ..data.small_sets import load_small_set
from ..nets import ConditionalReconstructor, make_discriminator, padded_dcgan_discriminator
from ..nets.generators import make_generator
from ..physics import MeasurementModel
from .distributed import init_from_env
from .gan import GANRecipe
from .systems import ambient_gan, conditional_gan, unconditional_gan
from .trainer import Trainer, select_device

AnyConfig = Union[ConditionalConfig, UnconditionalConfig]


@dataclass
class Run:
    """A built run: its config, trainer, training stream and held-out data."""

    config: AnyConfig
    trainer: Trainer
    stream: CropStream
    eval_data: Any

    def fit(self) -> dict[str, float]:
        return self.trainer.fit(self.stream)


def make_optimizers(networks: nn.ModuleDict, o: OptimConfig) -> dict[str, torch.optim.Optimizer]:
    """Adam for ``G`` (``lr_g``, ``weight_decay``) and for ``D`` (``lr_d``) with the config's betas."""
    betas = (o.beta1, o.beta2)
    opts = {"G": torch.optim.Adam(networks["G"].parameters(), lr=o.lr_g, betas=betas, weight_decay=o.weight_decay)}
    if "D" in networks:
        opts["D"] = torch.optim.Adam(networks["D"].parameters(), lr=o.lr_d, betas=betas)
    return opts


def make_trainer(recipe: GANRecipe, cfg: AnyConfig, eval_data: Any, device: torch.device, out_dir: str | None,
                 progress: bool | None, record: dict[str, Any] | None = None) -> Trainer:
    o, t = cfg.optim, cfg.train
    return Trainer(
        recipe, make_optimizers(recipe.networks, o), t.steps, scheduler=o.scheduler, eval_data=eval_data,
        out_dir=out_dir if out_dir is not None else t.out_dir, ema=o.ema, grad_clip=o.grad_clip, precision=t.precision,
        device=device, channels_last=t.channels_last, log_every=t.log_every, eval_every=t.eval_every,
        checkpoint_every=t.checkpoint_every, progress=t.progress if progress is None else progress,
        tensorboard=t.tensorboard, config=record if record is not None else config_record(cfg),
        compile=t.compile, sync_batchnorm=t.sync_batchnorm, find_unused_parameters=t.find_unused_parameters,
    )


# ---------------------------------------------------------------------- conditional
def build_measurement(cfg: ConditionalConfig, device: torch.device | str = "cpu") -> MeasurementModel:
    return cfg.physics.build((cfg.data.channels, cfg.data.crop, cfg.data.crop), device)


def build_reconstructor(cfg: ConditionalConfig) -> ConditionalReconstructor:
    m = cfg.model
    return ConditionalReconstructor(
        cfg.data.channels, width=m.width, depth=m.depth, lift=m.lift, gamma=m.gamma, latent_channels=m.latent_channels, norm=m.norm
    )


def _conditional_discriminator(cfg: ConditionalConfig, eval_set: MeasuredSet) -> nn.Module:
    """``D`` for what it judges: images, or image-shaped measurements (self-supervised)."""
    L, m = cfg.loss, cfg.model
    channels, size = cfg.data.channels, cfg.data.crop
    if L.adversarial in ("measurement", "uair"):
        y_shape = eval_set.y.shape
        if len(y_shape) != 4 or y_shape[-1] != y_shape[-2]:
            raise ValueError(f"adversarial={L.adversarial!r} needs image-shaped measurements, got shape {tuple(y_shape[1:])}")
        channels, size = y_shape[1], y_shape[-1]
    elif L.adversarial == "pair":
        channels = 2 * channels
    extra = {"n_layers": m.d_layers} if m.discriminator == "patchgan" else {}
    return make_discriminator(m.discriminator, channels, size, width=m.d_width, spectral_norm=m.spectral_norm, **extra)


def build_conditional(cfg: ConditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """Data, operator, reconstructor, discriminator and trainer of a conditional-GAN run."""
    init_from_env(cfg.train.device)  # joins torchrun's process group, if any (see docs/distributed.md)
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, L = cfg.data, cfg.loss
    if L.reconstruction not in ("mse", "l1", "none"):
        raise ValueError(f"invalid loss.reconstruction={L.reconstruction!r}: expected 'mse', 'l1' or 'none'")
    train_images = load_images(d.source, "train", d.channels, min_size=d.crop)
    test_images = load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop)
    measurement = build_measurement(cfg, device)
    stream = CropStream(train_images, d.crop, d.batch_size, augment=d.augment, seed=d.seed)
    eval_set = fixed_measurements(measurement, fixed_crops(test_images, d.crop, d.eval_crops).to(device), seed=1234)
    G = build_reconstructor(cfg)
    D = _conditional_discriminator(cfg, eval_set) if L.adv_weight > 0 else None
    recipe = conditional_gan(
        G, measurement, D, objective=L.objective, adversarial=L.adversarial, adv_weight=L.adv_weight,
        reconstruction=None if L.reconstruction == "none" else L.reconstruction, rec_weight=L.rec_weight,
        mc_weight=L.mc_weight, cycle_weight=L.cycle_weight, n_critic=cfg.optim.n_critic,
    )
    return Run(cfg, make_trainer(recipe, cfg, eval_set, device, out_dir, progress), stream, eval_set)


# ---------------------------------------------------------------------- unconditional / AmbientGAN
def build_unconditional(cfg: UnconditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """Data, generator, discriminator, operator (AmbientGAN) and trainer of a generator run."""
    init_from_env(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, m, t = cfg.data, cfg.model, cfg.train
    train, held = load_small_set(d.dataset, "train", seed=d.seed), load_small_set(d.dataset, "heldout", seed=d.seed)
    shape = tuple(train.x.shape[1:])
    G = make_generator(m.generator, m.latent_dim, shape, output=m.output, width=m.width)
    if m.output != "sigmoid":
        raise ValueError(f"built-in digits are in [0, 1]: model.output must be 'sigmoid', got {m.output!r}")
    measurement = cfg.physics.build(shape, device) if cfg.ambient else None
    D = padded_dcgan_discriminator(shape[0], shape[-1], m.d_width, m.spectral_norm)
    classifier = None
    if cfg.classifier_metrics and d.dataset in ("mnist", "digits8"):
        from ..metrics import load_classifier

        classifier = load_classifier(dataset=d.dataset)
    kwargs = dict(seed=t.seed, eval_samples=d.eval_samples, classifier=classifier, n_critic=cfg.optim.n_critic)
    if measurement is not None:
        if measurement.generator is None and cfg.physics.name in ("inpainting", "cs"):
            raise ValueError(f"AmbientGAN with {cfg.physics.name!r} needs a fresh operator per sample (one fixed mask or "
                             "matrix never shows D the rest of the image): set physics.fresh_per_sample = true")
        with torch.no_grad():
            y_shape = tuple(measurement.physics.A(torch.zeros(1, *shape, device=device)).shape[1:])
        # vector measurements (compressed sensing): D sees A^T y, see AmbientView
        recipe = ambient_gan(G, D, measurement, cfg.objective, adjoint=y_shape != shape, **kwargs)
    else:
        recipe = unconditional_gan(G, D, cfg.objective, **kwargs)
    record = {**config_record(cfg), "generator": G.config}
    trainer = make_trainer(recipe, cfg, held.x.to(device), device, out_dir, progress, record)
    stream = CropStream(list(train.x), shape[-1], d.batch_size, augment=False, seed=d.seed)
    return Run(cfg, trainer, stream, held.x)


def build_run(cfg: AnyConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """The run a config describes, whatever its kind."""
    if isinstance(cfg, UnconditionalConfig):
        return build_unconditional(cfg, out_dir=out_dir, progress=progress)
    return build_conditional(cfg, out_dir=out_dir, progress=progress)
