r"""From a job config to a run: data, operator, networks, the recipe (a configuration of the GAN
core, :mod:`invgan.training.systems`), optimisers and the trainer.

Each kind only says what differs (data and networks); optimisers, schedulers and the trainer
are built once, here, for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn

from ..builders import build_cycle_generators, build_measurement, build_reconstructor
from ..config import ConditionalConfig, UnconditionalConfig, config_record
from ..data import CropStream, MeasuredSet, SampleStream, UnpairedCropStream, fixed_crops, fixed_measurements, load_images, split_by_image
from ..data.small_sets import load_small_set
from ..losses import REGULARIZERS, PerceptualLoss, clip_weights
from ..nets import ConditionalDiscriminator, MLPDiscriminator, make_discriminator, padded_dcgan_discriminator
from ..nets.cycle import PairedCritics
from ..nets.generators import make_generator
from ..optim import make_optimizers
from ..physics import MeasurementModel
from .distributed import init_from_env
from .gan import GANRecipe, Regularizer
from .systems import acgan, ambient_gan, cgan, conditional_gan, cycle_gan, infogan, unconditional_gan
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
def _conditional_discriminator(cfg: ConditionalConfig, measurement: MeasurementModel) -> nn.Module:
    """``D`` for what it judges, on training crops: images, or image-shaped measurements (self-supervised)."""
    L, m = cfg.loss, cfg.model
    channels, size = cfg.data.channels, cfg.data.crop
    if L.adversarial in ("measurement", "uair"):
        with torch.no_grad():
            device = next(iter(measurement.physics.buffers()), torch.empty(0)).device
            y_shape = measurement.physics.A(torch.zeros(1, channels, size, size, device=device)).shape
        if len(y_shape) != 4 or y_shape[-1] != y_shape[-2]:
            raise ValueError(f"adversarial={L.adversarial!r} needs image-shaped measurements, got shape {tuple(y_shape[1:])}")
        channels, size = y_shape[1], y_shape[-1]
    elif L.adversarial == "pair":
        channels = 2 * channels
    extra = {"n_layers": m.d_layers} if m.discriminator == "patchgan" else {}
    return make_discriminator(m.discriminator, channels, size, width=m.d_width, spectral_norm=m.spectral_norm, **extra)


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
    d = cfg.data
    size = d.eval_crop or d.crop
    source = d.source if split == "train" else (d.eval_source or d.source)
    images = load_images(source, split, d.channels, min_size=size)
    if measurement is None or size != d.crop:
        measurement = cfg.physics.build((d.channels, size, size), device)
    return measurement, fixed_measurements(measurement, fixed_crops(images, size, n or d.eval_crops).to(device), seed=1234)


def check_held_out(source: str, eval_source: str | None) -> None:
    """A folder ``data.source`` needs held-out images: its ``test/`` sub-folder, or
    ``data.eval_source``. Without them the run would evaluate (and pick ``best.pt``) on its own
    training images, so it is refused rather than done with a warning nobody reads."""
    if source == "builtin" or eval_source is not None:
        return
    root = Path(source)
    if root.is_dir() and not (root / "test").is_dir():
        raise ValueError(f"data folder {root} has no test/ sub-folder of held-out images: put the training images in "
                         f"{root / 'train'} and held-out ones in {root / 'test'}, or name a folder of held-out images with "
                         "data.eval_source (evaluating on the training images would report a meaningless score)")


CHANGEABLE_ON_RESUME = ("train.",)  #: config entries a resumed run may change (steps, cadences, device, ...)


def check_resume_config(cfg: AnyConfig, saved: dict[str, Any], where: str = "the checkpoint") -> None:
    """Refuse to resume a checkpoint made for another problem: its config (kind, physics, data,
    model, loss, optimiser) must equal this run's except the ``train`` section."""
    from ..config import resolve

    if not saved or not isinstance(saved, dict):
        raise ValueError(f"{where} has no config: it cannot be checked against this run")
    try:
        theirs = config_record(resolve(data=saved))
    except ValueError as e:
        raise ValueError(f"{where} holds a config this version cannot read ({e})") from e
    ours = config_record(cfg)
    if theirs["kind"] != ours["kind"]:
        article = lambda k: "an" if k[0] in "aeiou" else "a"  # noqa: E731
        raise ValueError(f"{where} was made by {article(theirs['kind'])} {theirs['kind']} run, but this is "
                         f"{article(ours['kind'])} {ours['kind']} run")
    a, b = _flatten(theirs), _flatten(ours)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and not k.startswith(CHANGEABLE_ON_RESUME)]
    if diff:
        shown = "; ".join(f"{k} = {a.get(k)!r} there, {b.get(k)!r} here" for k in diff[:4]) + ("; ..." if len(diff) > 4 else "")
        raise ValueError(f"{where} was made for another problem ({shown}): only train.* settings may change on resume")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def build_conditional(cfg: ConditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """Data, operator, reconstructor, discriminator and trainer of a conditional-GAN run."""
    init_from_env(cfg.train.device)  # joins torchrun's process group, if any (see docs/distributed.md)
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, L = cfg.data, cfg.loss
    check_held_out(d.source, d.eval_source)
    eval_crop = d.eval_crop or d.crop
    train_images = load_images(d.source, "train", d.channels, min_size=d.crop)
    measurement = build_measurement(cfg, device)
    stream = CropStream(train_images, d.crop, d.batch_size, augment=d.augment, seed=d.seed)
    eval_measurement, eval_set = held_out_set(cfg, device, measurement)
    if L.adversarial in UNPAIRED_SYSTEMS:  # no (x, y) pairs: its own stream and networks
        if eval_crop != d.crop:
            raise ValueError(f"loss.adversarial={L.adversarial!r} evaluates on training-size crops: leave data.eval_crop unset")
        recipe, stream = UNPAIRED_SYSTEMS[L.adversarial](cfg, train_images, measurement, eval_set)
        return Run(cfg, make_trainer(recipe, cfg, eval_set, device, out_dir, progress), stream, eval_set)
    G = build_reconstructor(cfg)
    D = _conditional_discriminator(cfg, measurement) if L.adv_weight > 0 else None
    perceptual = None
    if L.perceptual_weight > 0:
        from ..nets.features import perceptual_features

        perceptual = PerceptualLoss(perceptual_features(L.perceptual_net, L.vgg_weights))
    recipe = conditional_gan(
        G, measurement, D, objective=L.objective, adversarial=L.adversarial, adv_weight=L.adv_weight, adv_start=L.adv_start,
        reconstruction=None if L.reconstruction == "none" else L.reconstruction, rec_weight=L.rec_weight,
        mc_weight=L.mc_weight, cycle_weight=L.cycle_weight, n_critic=cfg.optim.n_critic,
        perceptual=perceptual, perceptual_weight=L.perceptual_weight, eval_measurement=eval_measurement,
    )
    return Run(cfg, make_trainer(recipe, cfg, eval_set, device, out_dir, progress), stream, eval_set)


def build_cycle_gan(cfg: ConditionalConfig, train_images: list[torch.Tensor], measurement: MeasurementModel,
                    eval_set: MeasuredSet) -> tuple[GANRecipe, UnpairedCropStream]:
    """CycleGAN's recipe and stream (``loss.adversarial = "unpaired"``): the training images split
    in two disjoint halves, clean crops of one and measured crops of the other; two residual
    U-Nets (``model.width``, ``depth``, ``norm``) and two critics (``model.discriminator``, ...)."""
    d, m, L = cfg.data, cfg.model, cfg.loss
    if L.reconstruction != "none":
        raise ValueError(f"loss.adversarial='unpaired' learns without (x, y) pairs, but loss.reconstruction={L.reconstruction!r} "
                         "needs them: set loss.reconstruction='none'")
    if L.mc_weight > 0:
        raise ValueError(f"loss.adversarial='unpaired' (CycleGAN) does not give its generator the operator, but "
                         f"loss.mc_weight={L.mc_weight!r} needs it: set loss.mc_weight=0")
    if m.latent_channels:
        raise ValueError(f"loss.adversarial='unpaired' has deterministic generators: model.latent_channels must be 0, got {m.latent_channels}")
    clean, measured = split_by_image(train_images)
    stream = UnpairedCropStream(clean, measured, d.crop, d.batch_size, augment=d.augment, seed=d.seed)
    G = build_cycle_generators(cfg)
    D = PairedCritics(_conditional_discriminator(cfg, measurement), _conditional_discriminator(cfg, measurement))
    recipe = cycle_gan(G, D, measurement, L.objective, adv_weight=L.adv_weight, cycle_weight=L.cycle_weight,
                       identity_weight=L.identity_weight, pool_size=L.pool_size, n_critic=cfg.optim.n_critic, seed=cfg.train.seed)
    return recipe, stream


#: conditional systems trained without pairs, by ``loss.adversarial``: a builder of their recipe and stream
UNPAIRED_SYSTEMS = {"unpaired": build_cycle_gan}


# ---------------------------------------------------------------------- unconditional / AmbientGAN
def _latent_discriminator(cfg: UnconditionalConfig, shape: tuple[int, ...], in_channels: int, heads: dict[str, int] | None) -> nn.Module:
    """``D`` of a generator run: the padded DCGAN critic (with heads if asked) or the MLP critic."""
    m = cfg.model
    if m.discriminator == "mlp":
        if heads:
            raise ValueError(f"gan.conditioning={cfg.gan.conditioning!r} needs a head on D: use model.discriminator = 'dcgan'")
        return MLPDiscriminator(in_channels * shape[-2] * shape[-1], hidden=(4 * m.d_width * 2, 4 * m.d_width),
                                 spectral_norm=m.spectral_norm, dropout=m.d_dropout)
    return padded_dcgan_discriminator(in_channels, shape[-1], m.d_width, m.spectral_norm, heads=heads, norm=m.d_norm)


def _toolbox(cfg: UnconditionalConfig) -> dict[str, Any]:
    """The regulariser, clipping and DiffAugment of ``cfg.gan`` as arguments of the systems."""
    g = cfg.gan
    out: dict[str, Any] = {"augment": g.augment}
    if g.regularizer != "none":
        out["regularizers"] = (Regularizer(g.regularizer, REGULARIZERS[g.regularizer], g.reg_weight, g.reg_every),)
    if g.clip is not None:
        out["d_constraints"] = (clip_weights(g.clip),)
    return out


def build_unconditional(cfg: UnconditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """Data, generator, discriminator, operator (AmbientGAN) and trainer of a generator run
    (conditioned on labels or latent codes as ``cfg.gan.conditioning`` says)."""
    init_from_env(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, m, t, g = cfg.data, cfg.model, cfg.train, cfg.gan
    train, held = load_small_set(d.dataset, "train", seed=d.seed), load_small_set(d.dataset, "heldout", seed=d.seed)
    shape = tuple(train.x.shape[1:])
    labelled = g.conditioning in ("cgan", "acgan")
    if labelled and bool((train.labels < 0).any()):
        raise ValueError(f"gan.conditioning={g.conditioning!r} needs labelled images, and the {d.dataset!r} set has none")
    if g.conditioning != "none" and cfg.ambient:
        raise ValueError(f"gan.conditioning={g.conditioning!r} is not available for AmbientGAN runs (ambient = true)")
    n_classes = int(train.labels.max()) + 1 if labelled else 0
    code_spec = {"categorical": [g.categorical], "continuous": g.continuous} if g.conditioning == "infogan" else None
    extra = {"batch_norm": True} if m.generator == "mlp" and m.g_batch_norm else {}
    G = make_generator(m.generator, m.latent_dim, shape, output=m.output, width=m.width, n_classes=n_classes, codes=code_spec, **extra)
    codes = G.codes
    measurement = cfg.physics.build(shape, device) if cfg.ambient else None
    heads = {"class": n_classes} if g.conditioning == "acgan" else {"code": codes.head_size} if codes else None
    D = _latent_discriminator(cfg, shape, shape[0] + (n_classes if g.conditioning == "cgan" else 0), heads)
    if g.conditioning == "cgan":
        D = ConditionalDiscriminator(D, n_classes)
    classifier = None
    if cfg.classifier_metrics and d.dataset in ("mnist", "digits8"):
        from ..metrics import load_classifier

        classifier = load_classifier(dataset=d.dataset)
    kwargs = dict(seed=t.seed, eval_samples=d.eval_samples, classifier=classifier, n_critic=cfg.optim.n_critic, **_toolbox(cfg))
    if measurement is not None:
        if measurement.generator is None and cfg.physics.name in ("inpainting", "cs"):
            raise ValueError(f"AmbientGAN with {cfg.physics.name!r} needs a fresh operator per sample (one fixed mask or "
                             "matrix never shows D the rest of the image): set physics.fresh_per_sample = true")
        with torch.no_grad():
            y_shape = tuple(measurement.physics.A(torch.zeros(1, *shape, device=device)).shape[1:])
        # vector measurements (compressed sensing): D sees A^T y, see AmbientView
        recipe = ambient_gan(G, D, measurement, cfg.loss.objective, adjoint=y_shape != shape, **kwargs)
    elif g.conditioning == "cgan":
        recipe = cgan(G, D, cfg.loss.objective, **kwargs)
    elif g.conditioning == "acgan":
        recipe = acgan(G, D, cfg.loss.objective, class_weight=g.class_weight, **kwargs)
    elif codes is not None:
        recipe = infogan(G, D, codes, cfg.loss.objective, info_weight=g.info_weight, continuous_weight=g.continuous_weight, **kwargs)
    else:
        recipe = unconditional_gan(G, D, cfg.loss.objective, **kwargs)
    record = {**config_record(cfg), "generator": G.config}
    trainer = make_trainer(recipe, cfg, held.x.to(device), device, out_dir, progress, record)
    if labelled:
        stream: Any = SampleStream(train.x, d.batch_size, labels=train.labels, seed=d.seed)
    else:
        stream = CropStream(list(train.x), shape[-1], d.batch_size, augment=False, seed=d.seed)
    return Run(cfg, trainer, stream, held.x)


def build_run(cfg: AnyConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """The run a config describes, whatever its kind."""
    if isinstance(cfg, UnconditionalConfig):
        return build_unconditional(cfg, out_dir=out_dir, progress=progress)
    return build_conditional(cfg, out_dir=out_dir, progress=progress)
