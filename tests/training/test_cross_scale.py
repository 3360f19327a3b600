"""Tests of invgan.training.cross_scale: D judging down-scaled measurements against crops of x_hat."""

import pytest
import torch

from invgan.config import resolve
from invgan.losses import GANStep
from invgan.training import build_run
from invgan.training.cross_scale import CrossScaleView, downscale, random_crops


def test_view_gives_y_down_scaled_and_crops_of_x_hat_of_that_size():
    x_hat = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    y = torch.ones(2, 1, 8, 8)
    real, fake = CrossScaleView(2)(GANStep(x_hat=x_hat, y=y, step=3))
    assert real[0].shape == fake[0].shape == (2, 1, 4, 4)
    assert torch.allclose(real[0], torch.ones(2, 1, 4, 4))  # a constant stays constant
    for b in range(2):  # each fake is a 4x4 window of its own x_hat: rows of consecutive values, 8 apart
        f = fake[0][b, 0]
        assert torch.equal(f[:, 1:] - f[:, :-1], torch.ones(4, 3)) and torch.equal(f[1:, 0] - f[:-1, 0], torch.full((3,), 8.0))
        assert f.min() >= 64 * b and f.max() < 64 * (b + 1)


def test_down_scaling_filters_before_it_samples():
    y = torch.tensor([[0.0, 2.0], [4.0, 6.0]]).repeat(4, 4)[None, None]  # a 2x2 pattern tiled on 8x8
    assert torch.allclose(downscale(y, 2)[..., 1:-1, 1:-1], torch.full((1, 1, 2, 2), 3.0))  # no aliasing: the mean
    noise = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(0))
    # the triangle filter of antialiased bilinear at s = 2, weights (1, 3, 3, 1) / 8 per axis: std sqrt(20/64) per axis
    assert downscale(noise, 2).std().item() == pytest.approx(20 / 64, rel=0.05)


def test_crops_follow_the_step_so_a_resumed_run_takes_the_same():
    x = torch.rand(6, 1, 16, 16)
    assert torch.equal(random_crops(x, (4, 4), 7), random_crops(x, (4, 4), 7))
    assert not torch.equal(random_crops(x, (4, 4), 7), random_crops(x, (4, 4), 8))


def test_view_refuses_a_bad_factor_and_measurements_that_are_not_images():
    with pytest.raises(ValueError, match="integer >= 2"):
        CrossScaleView(1)
    with pytest.raises(ValueError, match="image-shaped measurements"):
        CrossScaleView(2)(GANStep(x_hat=torch.rand(2, 1, 8, 8), y=torch.rand(2, 20)))


def test_gradient_reaches_x_hat_only_through_its_crop():
    x_hat = torch.rand(1, 1, 8, 8, requires_grad=True)
    _, fake = CrossScaleView(2)(GANStep(x_hat=x_hat, y=torch.rand(1, 1, 8, 8), step=0))
    fake[0].sum().backward()
    assert x_hat.grad.sum().item() == 16 and set(x_hat.grad.unique().tolist()) == {0.0, 1.0}


def _tiny(tmp_path, *extra: str):
    return resolve(preset="deblur-selfsupervised", overrides=[
        "data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8", "model.d_width=8",
        "model.d_layers=1", "loss.adversarial='scale'", "loss.fresh_operator=false", "train.steps=2", "train.eval_every=2",
        "train.checkpoint_every=0", "train.progress=false", "train.tensorboard=false", f"train.out_dir={tmp_path / 'run'}", *extra])


def test_a_cross_scale_run_trains_its_critic_on_down_scaled_measurements(tmp_path):
    cfg = _tiny(tmp_path, "loss.scale_factor=4")
    run = build_run(cfg)
    D = run.trainer.recipe.networks["D"]
    before = [p.detach().clone() for p in D.parameters()]
    metrics = run.fit()
    assert metrics["psnr"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, D.parameters()))


def test_cross_scale_needs_measurements_that_are_images(tmp_path):
    with pytest.raises(ValueError, match="loss.adversarial='scale'"):
        _tiny(tmp_path, "physics.name='inpainting'", "physics.fresh_per_sample=false", "loss.self_supervised='none'")
    with pytest.raises(ValueError, match="scale_factor"):
        _tiny(tmp_path, "loss.scale_factor=1")
    with pytest.raises(ValueError, match=r"loss.scale_factor=16 leaves D patches of 2x2 pixels.*at least 6x6"):
        build_run(_tiny(tmp_path, "loss.scale_factor=16"))
