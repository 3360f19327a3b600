r"""The ``dip`` kind: the deep image prior on one image (:func:`invgan.solvers.deep_image_prior`;
its settings, :class:`~invgan.solvers.dip.DIPConfig`, live beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..solvers.dip import DIPConfig
from ..solvers.stopping import STOP_RULES
from .schema import _section
from .sections import PhysicsConfig

__all__ = ["STOP_RULES", "DIPConfig", "DIPJobConfig"]


@dataclass
class DIPJobConfig:
    """``invgan dip``: the deep image prior on one image measured through ``physics``.
    ``physics.noise_sigma = None`` is the operator's usual level (25/255 for denoising, else 0)."""

    physics: PhysicsConfig = _section(lambda: PhysicsConfig(name="inpainting", keep=0.5, factor=4, noise_sigma=None), "the forward operator")
    dip: DIPConfig = _section(DIPConfig, "the deep image prior")
