"""CycleGAN networks: the residual U-Net and the pair of critics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invgan.losses.objectives import d_lsgan
from invgan.nets import PairedCritics, ResidualUNet


def test_residual_unet_starts_at_the_identity_only_when_asked():
    t = torch.rand(2, 1, 8, 8)
    assert torch.equal(ResidualUNet(1, width=4, depth=2, zero_init=True)(t), t)
    assert not torch.equal(ResidualUNet(1, width=4, depth=2)(t), t)  # the default: identity plus a small random residual


def test_paired_critics_average_the_two_critics_objectives():
    D = PairedCritics(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1))
    a, b = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    out = D(a, b)
    assert out.shape == (2, 32)
    ra, rb = D.clean(a).flatten(1), D.measured(b).flatten(1)
    fa, fb = torch.zeros_like(ra), torch.zeros_like(rb)
    assert d_lsgan(out, torch.zeros_like(out)).item() == pytest.approx((d_lsgan(ra, fa) + d_lsgan(rb, fb)).item() / 2, rel=1e-6)
    with pytest.raises(ValueError, match="same number"):
        PairedCritics(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, stride=2, padding=1))(a, b)
