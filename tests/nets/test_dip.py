"""The deep-image-prior networks (ConvDecoder, SkipNet): any size, upsampling modes, refusals."""

from __future__ import annotations

import pytest
import torch

from invgan.nets.dip import ConvDecoder, SkipNet, dip_input, make_dip_net

torch.set_num_threads(1)


@pytest.mark.parametrize("img_size", [(1, 37, 50), (3, 31, 64), (1, 5, 7)])
@pytest.mark.parametrize("name", ["convdecoder", "skip"])
def test_nets_any_size_gray_and_rgb(name, img_size):
    net = make_dip_net(name, img_size, depth=3, channels=8, **({"in_size": (2, 2)} if name == "convdecoder" else {"in_channels": 4}))
    z = dip_input(net, batch=2)
    with torch.no_grad():
        x = net(z)
    assert x.shape == (2, *img_size)
    assert 0 <= float(x.min()) and float(x.max()) <= 1  # sigmoid output


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_nets_upsampling_modes(mode):
    assert ConvDecoder((1, 20, 24), in_size=(3, 3), depth=2, channels=4, upsampling=mode)(torch.rand(1, 4, 3, 3)).shape == (1, 1, 20, 24)
    assert SkipNet((1, 20, 24), in_channels=2, depth=2, channels=4, upsampling=mode)(torch.rand(1, 2, 20, 24)).shape == (1, 1, 20, 24)


def test_nets_reject_bad_parameters():
    with pytest.raises(ValueError, match="upsampling"):
        ConvDecoder((1, 8, 8), upsampling="cubic")
    with pytest.raises(ValueError, match="in_size"):
        ConvDecoder((1, 8, 8), in_size=(16, 16))
    with pytest.raises(ValueError, match="depth"):
        SkipNet((1, 8, 8), depth=0)
    with pytest.raises(ValueError, match="net"):
        make_dip_net("unet", (1, 8, 8))


def test_convdecoder_rejects_a_single_pixel_clearly():
    with pytest.raises(ValueError, match="at least 2 pixels"):
        ConvDecoder((1, 1, 1), in_size=(1, 1))
