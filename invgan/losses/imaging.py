r"""Imaging losses of a reconstructor :math:`\hat x = R(y, A)`.

Each loss is a small module whose ``forward`` takes the step's
:class:`ReconstructionBatch`. Adversarial losses also give the discriminator's
side with :meth:`AdversarialLoss.discriminator_loss`; both sides use the same
pair ``(real, fake)`` of what ``D`` compares, chosen by the subclass:
:math:`(x, \hat x)` when supervised, :math:`(y, A\hat x)` on measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from .objectives import GANObjective, get_objective


@dataclass
class ReconstructionBatch:
    """What one step of a reconstructor computes, shared by all its losses."""

    y: Tensor
    physics: nn.Module
    x_hat: Tensor
    x: Tensor | None = None
    model: nn.Module | None = None


class ReconstructionLoss(nn.Module):
    r"""Supervised :math:`\|\hat x - x\|_2^2` (``"mse"``) or :math:`\|\hat x - x\|_1` (``"l1"``), averaged."""

    def __init__(self, metric: str = "mse"):
        super().__init__()
        if metric not in ("mse", "l1"):
            raise ValueError(f"invalid reconstruction metric={metric!r}: expected 'mse' or 'l1'")
        self.metric = metric

    def forward(self, b: ReconstructionBatch) -> Tensor:
        if b.x is None:
            raise ValueError("the supervised reconstruction loss needs ground truth x")
        return F.mse_loss(b.x_hat, b.x) if self.metric == "mse" else F.l1_loss(b.x_hat, b.x)


class MeasurementConsistencyLoss(nn.Module):
    r"""Measurement consistency :math:`\|A\hat x - y\|_2^2`, averaged; needs no ground truth."""

    def forward(self, b: ReconstructionBatch) -> Tensor:
        return F.mse_loss(b.physics.A(b.x_hat), b.y)


class AdversarialLoss(nn.Module):
    r"""Adversarial loss of a GAN ``objective`` on the pair :meth:`pair` returns.

    Generator side (``forward``): :math:`g(D(\text{fake}), D(\text{real}))`.
    Discriminator side: :math:`d(D(\text{real}), D(\text{fake}))` with the fake detached.
    """

    def __init__(self, objective: str | GANObjective = "ns"):
        super().__init__()
        self.objective = get_objective(objective)

    def pair(self, b: ReconstructionBatch) -> tuple[Tensor, Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def discriminator_loss(self, D: nn.Module, b: ReconstructionBatch) -> Tensor:
        real, fake = self.pair(b)
        # One evaluation of D's parametrised weights (spectral norm) for both calls: real and fake
        # are judged by the same D, and the normalisation is differentiated once, not twice.
        with parametrize.cached():
            return self.objective.d(D(real), D(fake.detach()))

    def forward(self, D: nn.Module, b: ReconstructionBatch) -> Tensor:
        real, fake = self.pair(b)
        with parametrize.cached():
            real_logits = D(real) if self.objective.needs_real_in_g else None
            return self.objective.g(D(fake), real_logits)


class SupervisedAdversarialLoss(AdversarialLoss):
    r"""``D`` compares the truth :math:`x` with the reconstruction :math:`\hat x`."""

    def pair(self, b: ReconstructionBatch) -> tuple[Tensor, Tensor]:
        if b.x is None:
            raise ValueError("the supervised adversarial loss needs ground truth x")
        return b.x, b.x_hat


class MeasurementAdversarialLoss(AdversarialLoss):
    r"""Self-supervised (AmbientGAN-style): ``D`` compares measurements :math:`y` with
    :math:`A\hat x`; no ground truth is used."""

    def pair(self, b: ReconstructionBatch) -> tuple[Tensor, Tensor]:
        return b.y, b.physics.A(b.x_hat)


class UAIRLoss(MeasurementAdversarialLoss):
    r"""UAIR (Bora et al. style unsupervised adversarial image reconstruction): the measurement
    adversarial loss plus the cycle consistency
    :math:`\omega\,\|A R(\hat y, A) - \hat y\|_2^2` with :math:`\hat y = A\hat x`."""

    def __init__(self, objective: str | GANObjective = "ns", cycle_weight: float = 1.0):
        super().__init__(objective)
        self.cycle_weight = cycle_weight

    def forward(self, D: nn.Module, b: ReconstructionBatch) -> Tensor:
        if b.model is None:
            raise ValueError("the UAIR loss needs the reconstructor (batch.model)")
        y_hat = b.physics.A(b.x_hat)
        with parametrize.cached():
            adv = self.objective.g(D(y_hat), D(b.y) if self.objective.needs_real_in_g else None)
        y_cycle = b.physics.A(b.model(y_hat, b.physics))
        return adv + self.cycle_weight * F.mse_loss(y_cycle, y_hat)


ADVERSARIAL_LOSSES = {
    "supervised": SupervisedAdversarialLoss,
    "measurement": MeasurementAdversarialLoss,
    "uair": UAIRLoss,
}


def make_adversarial_loss(mode: str, objective: str = "ns", **kwargs: float) -> AdversarialLoss:
    if mode not in ADVERSARIAL_LOSSES:
        raise ValueError(f"invalid adversarial mode={mode!r}: expected one of {tuple(ADVERSARIAL_LOSSES)}")
    return ADVERSARIAL_LOSSES[mode](objective, **kwargs)


__all__ = [
    "ADVERSARIAL_LOSSES", "AdversarialLoss", "MeasurementAdversarialLoss", "MeasurementConsistencyLoss",
    "ReconstructionBatch", "ReconstructionLoss", "SupervisedAdversarialLoss", "UAIRLoss",
    "make_adversarial_loss",
]
