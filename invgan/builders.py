r"""Parts of a run built from its config: the operator, the reconstructor and CycleGAN's generator
pair. They sit between :mod:`invgan.config` and :mod:`invgan.training`, so that loading a trained
network (:mod:`invgan.pretrained`, ``invgan reconstruct``) rebuilds it without the training code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from .config import ConditionalConfig, PhysicsConfig
from .nets import ConditionalReconstructor
from .nets.cycle import CycleGenerators, ResidualUNet
from .nets.sr import RRDBNet, SRResNet
from .physics import MeasurementModel, default_noise_sigma, make_physics


def build_operator(physics: PhysicsConfig, img_size: tuple[int, int, int], device: Any = "cpu", **overrides: Any) -> MeasurementModel:
    """The operator a ``physics`` section describes, for images of ``img_size`` (``overrides``
    replace entries, e.g. a user's ``mask`` or another ``seed``); ``noise_sigma = None`` is the
    operator's usual level (:func:`invgan.physics.default_noise_sigma`: 25/255 for denoising, else none)."""
    params = {**dataclasses.asdict(physics), **overrides}
    if params["noise_sigma"] is None:
        params["noise_sigma"] = default_noise_sigma(params["name"])
        params["noise"] = params["noise"] if params["noise_sigma"] > 0 else "none"
    return make_physics(params.pop("name"), img_size, device=device, **params)


def build_measurement(cfg: ConditionalConfig, device: torch.device | str = "cpu") -> MeasurementModel:
    """The training operator of a conditional run, for crops of ``data.crop``."""
    return build_operator(cfg.physics, (cfg.data.channels, cfg.data.crop, cfg.data.crop), device)


def build_reconstructor(cfg: ConditionalConfig) -> nn.Module:
    """The generator :math:`R(y, A)` of ``cfg.model.generator``: a U-Net on the lifted measurement
    (any operator), or SRGAN's / ESRGAN's network on the low-resolution image (downsampling only).

    :Example:

    >>> from invgan.builders import build_reconstructor
    >>> from invgan.config import resolve
    >>> type(build_reconstructor(resolve(preset="srresnet-x4", overrides=["model.width=8", "model.blocks=1"]))).__name__
    'SRResNet'
    >>> try:
    ...     build_reconstructor(resolve(preset="srresnet-x4", overrides=["physics.name='blur'"]))
    ... except ValueError as e:
    ...     print(str(e).split(":")[0])
    model.generator='srresnet' is a super-resolution network
    """
    model, channels = cfg.model, cfg.data.channels
    if model.generator == "unet":
        return ConditionalReconstructor(channels, width=model.width, depth=model.depth, lift=model.lift, gamma=model.gamma,
                                        latent_channels=model.latent_channels, norm=model.norm, guide=model.guide,
                                        consistency=model.consistency, latent_scale=model.latent_scale)
    if model.guide != "none" or model.consistency != "none":
        option = f"model.guide={model.guide!r}" if model.guide != "none" else f"model.consistency={model.consistency!r}"
        raise ValueError(f"{option} needs model.generator = 'unet' (the U-Net reconstructor has it), "
                         f"got {model.generator!r}")
    if cfg.physics.name != "downsampling":
        raise ValueError(f"model.generator={model.generator!r} is a super-resolution network: it needs physics.name = 'downsampling', "
                         f"got {cfg.physics.name!r} (use model.generator = 'unet' for other operators)")
    if model.norm not in ("none", "batch") or (model.generator == "rrdb" and model.norm != "none"):
        allowed = "'none' or 'batch'" if model.generator == "srresnet" else "'none' (ESRGAN's RRDB has no normalisation)"
        raise ValueError(f"invalid model.norm={model.norm!r} for model.generator={model.generator!r}: expected {allowed}")
    if model.generator == "srresnet":
        return SRResNet(channels, cfg.physics.factor, width=model.width, blocks=model.blocks, batch_norm=model.norm == "batch",
                        bicubic_skip=model.bicubic_skip)
    return RRDBNet(channels, cfg.physics.factor, width=model.width, blocks=model.blocks, growth=max(1, model.width // 2),
                   bicubic_skip=model.bicubic_skip)


def build_cycle_generators(cfg: ConditionalConfig) -> CycleGenerators:
    """CycleGAN's generator pair: two residual U-Nets of ``model.width``, ``depth`` and ``norm``."""
    model = cfg.model
    return CycleGenerators(*(ResidualUNet(cfg.data.channels, width=model.width, depth=model.depth, norm=model.norm) for _ in range(2)))


def build_trained_generator(cfg: ConditionalConfig) -> nn.Module:
    """The network a conditional run trains as ``G``: the reconstructor, or CycleGAN's generator
    pair (``loss.adversarial = "unpaired"``; called as ``G(y, physics)`` it is the measured-to-clean
    generator :math:`G_c`)."""
    return build_cycle_generators(cfg) if cfg.loss.adversarial == "unpaired" else build_reconstructor(cfg)

