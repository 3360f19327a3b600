"""Networks: shapes, any size, latent draws, raw logits, deepinv's model(y, physics) call."""

import pytest
import torch

from invgan.nets import ConditionalReconstructor, DCGANDiscriminator, ESRGANDiscriminator, PatchGANDiscriminator, UNet, make_discriminator
from invgan.physics import make_physics


def test_unet_any_size():
    assert UNet(2, 1, width=4, depth=3)(torch.rand(1, 2, 37, 51)).shape == (1, 1, 37, 51)


@pytest.mark.parametrize("lift", ["adjoint", "pinv", "tikhonov"])
def test_reconstructor_follows_model_y_physics(lift):
    mm = make_physics("downsampling", (1, 16, 16), factor=2)
    R = ConditionalReconstructor(1, width=4, depth=2, lift=lift)
    y = mm.measure(torch.rand(2, 1, 16, 16))
    assert R(y, mm.physics).shape == (2, 1, 16, 16)


def test_latent_draws_give_different_reconstructions():
    mm = make_physics("inpainting", (1, 16, 16))
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=2)
    y = mm.measure(torch.rand(1, 1, 16, 16))
    assert torch.equal(R(y, mm.physics), R.lift(y, mm.physics))  # zero residual at initialisation
    torch.nn.init.normal_(R.unet.out.weight)  # as after some training
    assert not torch.allclose(R(y, mm.physics), R(y, mm.physics))
    z = torch.randn(1, 2, 16, 16)
    assert torch.equal(R(y, mm.physics, z), R(y, mm.physics, z))


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
