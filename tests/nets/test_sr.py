"""Super-resolution networks (SRResNet, RRDB): upsampling from a bicubic start, refusals, network interpolation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invgan.nets.sr import RRDBNet, SRResNet, interpolate_networks
from invgan.classical import bicubic_upsample
from invgan.physics import make_physics


def _downsampling(size: int = 32, factor: int = 4):
    return make_physics("downsampling", (1, size, size), factor=factor, noise="none", noise_sigma=0.0).physics


@pytest.mark.parametrize("cls", [SRResNet, RRDBNet])
@pytest.mark.parametrize("factor", [2, 4])
def test_sr_networks_upsample_and_start_from_bicubic(cls, factor):
    physics = _downsampling(32, factor)
    net = cls(1, factor, width=8, blocks=1)
    y = torch.rand(2, 1, 32 // factor, 32 // factor)
    out = net(y, physics)
    assert out.shape == (2, 1, 32, 32)
    torch.testing.assert_close(out, bicubic_upsample(y, physics))  # zero-initialised residual
    no_skip = cls(1, factor, width=8, blocks=1, bicubic_skip=False)
    assert no_skip(y).shape == (2, 1, 32, 32)  # without the skip the operator is optional


def test_sr_network_refuses_another_factor_and_bad_input():
    net = SRResNet(1, 4, width=8, blocks=1)
    with pytest.raises(ValueError, match="upsamples x4, but the operator downsamples x2"):
        net(torch.rand(1, 1, 16, 16), _downsampling(32, 2))
    with pytest.raises(ValueError, match=r"expects \(B, 1, h, w\)"):
        net(torch.rand(1, 3, 8, 8), _downsampling(32, 4))
    with pytest.raises(ValueError, match="power of two"):
        RRDBNet(1, 3)
    with pytest.raises(ValueError, match="needs the downsampling operator"):
        net(torch.rand(1, 1, 8, 8))


def test_rrdb_has_no_batch_norm_and_srresnet_has():
    assert not any(isinstance(m, nn.BatchNorm2d) for m in RRDBNet(1, 4, width=8, blocks=1).modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in SRResNet(1, 4, width=8, blocks=1).modules())


def test_network_interpolation_endpoints_and_midpoint():
    torch.manual_seed(0)
    a, b = SRResNet(1, 4, width=8, blocks=1), SRResNet(1, 4, width=8, blocks=1)
    for p in b.parameters():
        p.data.normal_()
    b.blocks[0].net[1].num_batches_tracked.fill_(7)
    for alpha, ref in ((0.0, a), (1.0, b)):
        mixed = interpolate_networks(a, b, alpha)
        for k, v in ref.state_dict().items():
            if v.is_floating_point():
                assert torch.equal(mixed[k], v), (alpha, k)
    mid = interpolate_networks(a.state_dict(), b.state_dict(), 0.25)
    w = "head.0.weight"
    torch.testing.assert_close(mid[w], 0.75 * a.state_dict()[w] + 0.25 * b.state_dict()[w])
    assert int(mid["blocks.0.net.1.num_batches_tracked"]) == 7  # integer buffers come from the GAN network
    c = SRResNet(1, 4, width=8, blocks=1)
    c.load_state_dict(mid)  # an interpolated state dict loads into the architecture
    with pytest.raises(ValueError, match="alpha"):
        interpolate_networks(a, b, 1.5)
    with pytest.raises(ValueError, match="differ in architecture"):
        interpolate_networks(a, SRResNet(1, 4, width=8, blocks=2), 0.5)
