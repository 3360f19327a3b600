"""The cycle-consistency and identity losses of CycleGAN, against hand values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invgan.losses import CycleConsistencyLoss, GANStep, IdentityLoss
from invgan.nets import CycleGenerators


class Affine(nn.Module):
    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, t):
        return self.scale * t + self.shift


def _step(G: CycleGenerators, x: torch.Tensor, y: torch.Tensor) -> GANStep:
    return GANStep(x_hat=G(y), x=x, y=y, model=G, extras={"y_hat": G(x, direction="to_measured")})


def test_cycle_and_identity_losses_by_hand():
    x, y = torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 4, 4), 0.25)
    identity = CycleGenerators(Affine(1, 0), Affine(1, 0))
    assert CycleConsistencyLoss()(_step(identity, x, y)).item() == 0
    assert IdentityLoss()(_step(identity, x, y)).item() == 0
    # G_c(t) = 2t, G_m(t) = t + 1:
    # clean cycle G_c(G_m(x)) - x = x + 2 = 2.5; measured cycle G_m(G_c(y)) - y = y + 1 = 1.25
    G = CycleGenerators(Affine(2, 0), Affine(1, 1))
    assert CycleConsistencyLoss()(_step(G, x, y)).item() == pytest.approx(2.5 + 1.25)
    # identity: G_c(x) - x = x = 0.5; G_m(y) - y = 1
    assert IdentityLoss()(_step(G, x, y)).item() == pytest.approx(0.5 + 1.0)
    # only the clean cycle broken: G_c(t) = t, G_m(t) = t + 1 gives 1 + 1; G_c(t) = t - 1, G_m(t) = t + 1 gives 0
    assert CycleConsistencyLoss()(_step(CycleGenerators(Affine(1, -1), Affine(1, 1)), x, y)).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="direction"):
        G(x, direction="sideways")
