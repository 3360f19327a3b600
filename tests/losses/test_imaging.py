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
