r"""The ``invert`` kind: latent search through a trained generator on simulated measurements
(:func:`invgan.solvers.latent_search`; its settings,
:class:`~invgan.solvers.latent.LatentSearchConfig`, live beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..solvers.latent import LatentSearchConfig
from .schema import _section
from .sections import PhysicsConfig

__all__ = ["LatentSearchConfig", "InvertConfig"]


@dataclass
class InvertConfig:
    """``invgan invert``: latent search through a trained generator on simulated measurements."""

    physics: PhysicsConfig = _section(lambda: PhysicsConfig(name="cs", m=100, sigma=1.0, noise_sigma=0.1), "the forward operator")
    search: LatentSearchConfig = _section(LatentSearchConfig, "the latent search")
