r"""The ``invert`` kind: latent search through a trained generator on simulated measurements
(:func:`invgan.solvers.latent_search`)."""

from __future__ import annotations

from dataclasses import dataclass

from .schema import _check, _opt, _section
from .sections import PhysicsConfig


@dataclass
class LatentSearchConfig:
    r"""Options of :func:`invgan.solvers.latent_search`. The defaults are what the MNIST CS
    experiment of docs/latent_search.md found to work for a 28×28 DCGAN (10 restarts;
    :math:`\lambda=0.1`, the prior weight it picks on validation digits at most m);
    ``prior_weight=0`` is plain CSGM. ``max_steps``, ``tolerance`` and ``patience`` are named as
    in :class:`~invgan.config.DIPConfig`. ``lr=None`` is the optimiser's own default (0.05 for Adam, 1.0 for
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


@dataclass
class InvertConfig:
    """``invgan invert``: latent search through a trained generator on simulated measurements."""

    physics: PhysicsConfig = _section(lambda: PhysicsConfig(name="cs", m=100, sigma=1.0, noise_sigma=0.1), "the forward operator")
    search: LatentSearchConfig = _section(LatentSearchConfig, "the latent search")
