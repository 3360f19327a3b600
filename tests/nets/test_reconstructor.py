"""The conditional reconstructor and its U-Net: any size, deepinv's ``model(y, physics)`` convention, latent draws."""

import pytest
import torch

from invgan.nets import ConditionalReconstructor, UNet
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


def test_coarse_latent_is_drawn_on_its_grid_and_upsampled():
    mm = make_physics("blur", (1, 20, 20), sigma=1.0, kernel_size=5, noise="none")
    y = mm.measure(torch.rand(2, 1, 20, 20))
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=2, latent_scale=8)
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)
    x0 = R.lift(y, mm.physics)
    assert R.draw_latent(x0).shape == (2, 2, 3, 3)  # ceil(20 / 8)
    z = torch.randn(2, 2, 3, 3)
    up = torch.nn.functional.interpolate(z, size=(20, 20), mode="bilinear", align_corners=False)
    assert torch.allclose(R(y, mm.physics, z), x0 + R.unet(torch.cat([x0, up], 1)))
    assert torch.equal(R(y, mm.physics, up), R(y, mm.physics, z))  # a full-size z is used as it is
    torch.manual_seed(0)
    drawn = R(y, mm.physics)
    torch.manual_seed(0)
    assert torch.equal(drawn, R(y, mm.physics, torch.randn(2, 2, 3, 3)))  # the draw: torch's generator, coarse grid
    # latent_scale = 1 draws exactly what the former code drew: a value per pixel
    fine = ConditionalReconstructor(1, width=4, depth=2, latent_channels=2)
    fine.load_state_dict(R.state_dict())
    torch.manual_seed(0)
    drawn = fine(y, mm.physics)
    torch.manual_seed(0)
    assert torch.equal(drawn, fine(y, mm.physics, torch.randn(2, 2, 20, 20)))
    with pytest.raises(ValueError, match="latent_scale=0"):
        ConditionalReconstructor(1, latent_channels=1, latent_scale=0)


def test_sample_returns_k_draws_their_mean_and_std():
    mm = make_physics("blur", (1, 16, 16), sigma=1.0, kernel_size=5, noise="none")
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=2)
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)
    y = mm.measure(torch.rand(2, 1, 16, 16))
    torch.manual_seed(3)
    p = R.sample(y, mm.physics, 5)
    assert p.samples.shape == (2, 5, 1, 16, 16) and p.k == 5 and not p.samples.requires_grad
    torch.testing.assert_close(p.mean, p.samples.mean(1))
    torch.testing.assert_close(p.std, p.samples.std(1))
    assert float(p.std.min()) > 0  # every draw its own z
    torch.manual_seed(3)
    assert torch.equal(R.sample(y, mm.physics, 5).samples, p.samples)  # seeded by torch's generator
    with pytest.raises(ValueError, match="K=1: expected an integer >= 2"):
        R.sample(y, mm.physics, 1)
    with pytest.raises(ValueError, match="deterministic"):
        ConditionalReconstructor(1, width=4, depth=2).sample(y, mm.physics, 4)


def test_guide_channels_reach_the_unet_and_the_mask_changes_the_output():
    from invgan.physics import guide

    torch.manual_seed(0)
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none")
    x = torch.rand(2, 1, 16, 16)
    y = model.measure(x)
    mask = guide(model.physics, y, "coverage")
    assert torch.equal(mask, model.physics.mask.expand_as(mask).to(mask))  # A^T A 1 is the mask of inpainting
    assert torch.equal(guide(model.physics, y, "adjoint"), model.physics.A_adjoint(y))
    R = ConditionalReconstructor(1, width=4, depth=2, lift="classical", guide="coverage")
    first = next(m for m in R.unet.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 2  # the lift and the mask
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)  # a non-zero residual, so the input matters
    out = R(y, model.physics)
    x0 = R.lift(y, model.physics)
    assert torch.allclose(out, x0 + R.unet(torch.cat([x0, mask], 1)))  # R(y, A) = L_A(y) + U([L_A(y), A^T A 1])
    with pytest.raises(ValueError, match="invalid guide='mask'"):
        ConditionalReconstructor(1, guide="mask")


def test_guide_and_latent_channels_together():
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none")
    y = model.measure(torch.rand(2, 1, 16, 16))
    R = ConditionalReconstructor(1, width=4, depth=2, lift="classical", guide="coverage", latent_channels=2)
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)
    z = torch.randn(2, 2, 16, 16)
    x0 = R.lift(y, model.physics)
    mask = model.physics.A_adjoint(model.physics.A(torch.ones_like(x0)))
    assert torch.allclose(R(y, model.physics, z), x0 + R.unet(torch.cat([x0, mask, z], 1)))  # [lift, guide, z]



def test_projected_output_keeps_the_measured_pixels_and_learns_only_the_missing_ones():
    torch.manual_seed(0)
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="gaussian", noise_sigma=0.05)
    x = torch.rand(2, 1, 16, 16)
    y = model.measure(x)
    mask = model.physics.mask.expand_as(x).bool()
    R = ConditionalReconstructor(1, width=4, depth=2, lift="classical", latent_channels=1, consistency="project")
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)
    free = ConditionalReconstructor(1, width=4, depth=2, lift="classical", latent_channels=1)
    free.load_state_dict(R.state_dict())  # the same network, no projection
    z = torch.randn(2, 1, 16, 16)
    out, raw = R(y, model.physics, z), free(y, model.physics, z)
    assert torch.equal(out[mask], y[mask])  # measured pixels: y itself, noise and all
    assert torch.equal(out[~mask], raw[~mask])  # missing pixels: the network's
    assert not torch.equal(raw[mask], y[mask])  # (which would have changed the measured ones)
    # the loss reaches the network through the missing pixels only
    (out * mask).sum().backward()
    assert all(p.grad is None or float(p.grad.abs().max()) == 0 for p in R.parameters())
    post = R.sample(y, model.physics, 4)
    assert float(post.std[mask].abs().max()) == 0 and float(post.std[~mask].min()) > 0  # the draws differ where nothing was measured
    with pytest.raises(ValueError, match="invalid consistency='hard'"):
        ConditionalReconstructor(1, consistency="hard")
    blur = make_physics("blur", (1, 16, 16), sigma=1.0, kernel_size=5, noise="none")
    with pytest.raises(ValueError, match="needs an inpainting, downsampling or compressed-sensing operator"):
        R(blur.measure(x), blur.physics)
