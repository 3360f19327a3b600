"""Discriminators: any power-of-two size, raw patch logits, the registry, spectral norm."""

import pytest
import torch

from invgan.nets import DCGANDiscriminator, ESRGANDiscriminator, PatchGANDiscriminator, make_discriminator


@pytest.mark.parametrize("size", [16, 32, 128])
@pytest.mark.parametrize("sn", [False, True])
def test_dcgan_and_esrgan_any_power_of_two(size, sn):
    x = torch.rand(2, 3, size, size)
    assert DCGANDiscriminator(3, size, width=4, spectral_norm=sn)(x).shape == (2,)
    assert ESRGANDiscriminator(3, size, width=4, spectral_norm=sn)(x).shape == (2,)


def test_patchgan_gives_patch_logits_without_sigmoid():
    D = PatchGANDiscriminator(1, width=4, n_layers=2, norm="instance")
    out = D(torch.rand(2, 1, 32, 32) * 100)
    assert out.dim() == 4 and out.shape[:2] == (2, 1)
    assert (out.abs() > 1).any() or (out < 0).any()  # raw logits, not probabilities


@pytest.mark.parametrize("size", [12, 48, 0])
def test_dcgan_rejects_non_power_of_two(size):
    with pytest.raises(ValueError, match=f"img_size={size}"):
        DCGANDiscriminator(1, size)


def test_discriminator_registry():
    assert isinstance(make_discriminator("patchgan", 1, 32, width=4, n_layers=2), PatchGANDiscriminator)
    with pytest.raises(ValueError, match="unknown discriminator"):
        make_discriminator("stylegan", 1, 32)


def test_spectral_norm_bounds_the_weight():
    D = DCGANDiscriminator(1, 16, width=4, spectral_norm=True)
    D(torch.rand(2, 1, 16, 16))
    conv = D.net[0]
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert sigma.item() <= 1.05


def test_mlp_discriminator_gives_one_raw_logit_per_sample_of_any_shape():
    from invgan.nets import MLPDiscriminator

    D = MLPDiscriminator(30, hidden=(16, 8), spectral_norm=True)
    out = D(torch.randn(5, 30) * 100)
    assert out.shape == (5,) and isinstance(D.net[-1], torch.nn.Linear)  # raw logits: the objective owns the link
    assert MLPDiscriminator(48)(torch.randn(2, 3, 4, 4)).shape == (2,)  # any sample shape, flattened
    with pytest.raises(ValueError, match="30 features"):
        D(torch.randn(5, 31))
    with pytest.raises(ValueError):
        MLPDiscriminator(0)
