"""Reconstruction, measurement-consistency, measurement-cycle and perceptual losses, against hand values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invgan.losses import GANStep, PerceptualLoss


class _Doubling(nn.Module):
    """A stand-in feature network: phi(x) = 2x on two channels (x and x^2)."""

    def forward(self, x):
        return torch.cat([2 * x, x * x], 1)


def test_perceptual_loss_against_hand_values():
    x = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]]])
    x_hat = torch.tensor([[[[0.5, 1.0], [0.0, 0.25]]]])
    step = GANStep(x_hat=x_hat, x=x)
    # |phi(x_hat) - phi(x)|: 2x channel: 1, 0, 1, 0; x^2 channel: 0.25, 0, 0.25, 0 -> mean 2.5 / 8
    assert PerceptualLoss(_Doubling())(step).item() == pytest.approx(2.5 / 8)
    # squared: (1 + 1 + 0.0625 + 0.0625) / 8
    assert PerceptualLoss(_Doubling(), "mse")(step).item() == pytest.approx(2.125 / 8)
    # the gradient reaches x_hat, not the (frozen, unsaved) feature network
    lin = nn.Conv2d(1, 3, 1)
    loss = PerceptualLoss(lin)
    assert not list(loss.parameters()) and not loss.state_dict()
    xh = x_hat.clone().requires_grad_(True)
    loss(GANStep(x_hat=xh, x=x)).backward()
    assert xh.grad is not None and lin.weight.grad is None


class _Double(nn.Module):
    """A stand-in operator :math:`A x = 2x`."""

    def A(self, x):
        return 2 * x


def test_reconstruction_loss_mse_and_l1_by_hand():
    from invgan.losses.imaging import ReconstructionLoss

    s = GANStep(x_hat=torch.tensor([[1.0, -2.0], [3.0, 4.0]]), x=torch.zeros(2, 2))
    assert ReconstructionLoss("mse")(s).item() == pytest.approx((1 + 4 + 9 + 16) / 4)
    assert ReconstructionLoss("l1")(s).item() == pytest.approx((1 + 2 + 3 + 4) / 4)
    with pytest.raises(ValueError, match="reconstruction metric"):
        ReconstructionLoss("l2")
    with pytest.raises(ValueError, match="ground truth"):
        ReconstructionLoss()(GANStep(x_hat=torch.zeros(2)))


def test_measurement_consistency_loss_by_hand():
    from invgan.losses.imaging import MeasurementConsistencyLoss

    s = GANStep(x_hat=torch.tensor([1.0, 2.0]), y=torch.tensor([2.0, 0.0]), physics=_Double())
    # A x_hat = (2, 4) against y = (2, 0): ((0)^2 + 4^2) / 2
    assert MeasurementConsistencyLoss()(s).item() == pytest.approx(8.0)


def test_measurement_cycle_loss_by_hand():
    from invgan.losses.imaging import MeasurementCycleLoss

    x_hat = torch.tensor([1.0, -3.0])
    # R inverts A exactly: A R(A x_hat) = A x_hat, no loss
    inverse = GANStep(x_hat=x_hat, physics=_Double(), model=lambda y, physics: y / 2)
    assert MeasurementCycleLoss()(inverse).item() == 0
    # R = identity: A R(y_hat) = 2 y_hat against y_hat = 2 x_hat, so mean((2 x_hat)^2) = (4 + 36) / 2
    identity = GANStep(x_hat=x_hat, physics=_Double(), model=lambda y, physics: y)
    assert MeasurementCycleLoss()(identity).item() == pytest.approx(20.0)
    with pytest.raises(ValueError, match="reconstructor"):
        MeasurementCycleLoss()(GANStep(x_hat=x_hat, physics=_Double()))


def test_perceptual_loss_refuses_unknown_metric_and_keeps_its_network_frozen_and_unsaved():
    phi = nn.Linear(2, 2)
    loss = PerceptualLoss(phi, metric="mse")
    assert not any(p.requires_grad for p in phi.parameters()) and not phi.training
    assert list(loss.parameters()) == [] and loss.state_dict() == {}
    with pytest.raises(ValueError, match="perceptual metric"):
        PerceptualLoss(phi, metric="cosine")
