r"""Imaging losses of a generator's output :math:`\hat x` (a reconstruction :math:`R(y, A)`).

Each is a small module whose ``forward`` takes the step's
:class:`~invgan.losses.step.GANStep` and returns a scalar.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .step import GANStep


class ReconstructionLoss(nn.Module):
    r"""Supervised :math:`\|\hat x - x\|_2^2` (``"mse"``) or :math:`\|\hat x - x\|_1` (``"l1"``), averaged.

    :Example:

    >>> import torch
    >>> from invgan.losses import GANStep
    >>> from invgan.losses.imaging import ReconstructionLoss
    >>> s = GANStep(x_hat=torch.tensor([1.0, -3.0]), x=torch.zeros(2))
    >>> float(ReconstructionLoss("mse")(s)), float(ReconstructionLoss("l1")(s))
    (5.0, 2.0)
    """

    def __init__(self, metric: str = "mse"):
        super().__init__()
        if metric not in ("mse", "l1"):
            raise ValueError(f"invalid reconstruction metric={metric!r}: expected 'mse' or 'l1'")
        self.metric = metric

    def forward(self, s: GANStep) -> Tensor:
        if s.x is None:
            raise ValueError("the supervised reconstruction loss needs ground truth x")
        return F.mse_loss(s.x_hat, s.x) if self.metric == "mse" else F.l1_loss(s.x_hat, s.x)


class MeasurementConsistencyLoss(nn.Module):
    r"""Measurement consistency :math:`\|A\hat x - y\|_2^2`, averaged; needs no ground truth."""

    def forward(self, s: GANStep) -> Tensor:
        return F.mse_loss(s.physics.A(s.x_hat), s.y)


class MeasurementCycleLoss(nn.Module):
    r"""UAIR's cycle consistency :math:`\|A\,R(\hat y, A) - \hat y\|_2^2` with :math:`\hat y = A\hat x`:
    the reconstructor must map its own simulated measurements back consistently. :math:`A` is
    the operator ``D``'s fake was measured with: ``step.extras["fake_physics"]`` (a fresh draw,
    :class:`~invgan.training.gan.MeasurementView`) when set, else the step's own."""

    def forward(self, s: GANStep) -> Tensor:
        if s.model is None:
            raise ValueError("the cycle loss needs the reconstructor (step.model)")
        physics = s.extras.get("fake_physics", s.physics)
        y_hat = physics.A(s.x_hat)
        return F.mse_loss(physics.A(s.model(y_hat, physics)), y_hat)


class PerceptualLoss(nn.Module):
    r"""Perceptual (content) loss on the features of a frozen network :math:`\phi`, passed in:

    .. math::

        \mathcal{L}_\text{percep} = \tfrac{1}{N}\,\|\phi(\hat x) - \phi(x)\|_1

    (SRGAN's VGG content loss uses the squared norm, ESRGAN the :math:`\ell_1` norm on features
    before the activation; see :mod:`invgan.nets.features` for the networks invgan loads offline).
    :math:`\phi` stays frozen: it is kept out of the module's parameters and checkpoints.

    :Example:

    >>> import torch
    >>> from torch import nn
    >>> from invgan.losses import GANStep, PerceptualLoss
    >>> phi = nn.Identity()
    >>> s = GANStep(x_hat=torch.tensor([1.0, 3.0]), x=torch.zeros(2))
    >>> float(PerceptualLoss(phi)(s)), float(PerceptualLoss(phi, "mse")(s))
    (2.0, 5.0)
    """

    def __init__(self, features: nn.Module, metric: str = "l1"):
        super().__init__()
        if metric not in ("mse", "l1"):
            raise ValueError(f"invalid perceptual metric={metric!r}: expected 'mse' or 'l1'")
        features.requires_grad_(False).eval()
        self.__dict__["features"] = features  # not a submodule: never trained, never saved
        self.metric = metric

    def forward(self, s: GANStep) -> Tensor:
        if s.x is None:
            raise ValueError("the perceptual loss needs ground truth x")
        phi = self.features.to(s.x_hat.device)
        target = phi(s.x).detach()
        estimate = phi(s.x_hat)
        return F.mse_loss(estimate, target) if self.metric == "mse" else F.l1_loss(estimate, target)
