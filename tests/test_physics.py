"""The operator factory: deepinv operators, and a clear ValueError for every bad parameter."""

import pytest
import torch
import torch.nn.functional as F
import deepinv as dinv

from invgan.physics import bicubic_upsample, biharmonic_inpaint, blur_kernel, lift, make_physics, sampling_grid, wiener_deconvolve

SIZE = (1, 16, 16)


@pytest.mark.parametrize("name,kwargs,y_shape", [
    ("blur", {"sigma": 1.0}, (2, 1, 16, 16)),
    ("blur", {"kernel": "motion", "kernel_size": 7}, (2, 1, 16, 16)),
    ("blur", {"padding": "reflect"}, (2, 1, 16, 16)),
    ("inpainting", {"keep": 0.3}, (2, 1, 16, 16)),
    ("downsampling", {"factor": 4}, (2, 1, 4, 4)),
    ("cs", {"m": 50}, (2, 50)),
    ("denoising", {}, (2, 1, 16, 16)),
])
def test_factory_returns_deepinv_physics(name, kwargs, y_shape):
    mm = make_physics(name, SIZE, **kwargs)
    assert isinstance(mm.physics, dinv.physics.Physics)
    y = mm.measure(torch.rand(2, *SIZE))
    assert tuple(y.shape) == y_shape
    assert lift(mm.physics, y, "adjoint").shape == (2, *SIZE)


def test_inpainting_keeps_the_requested_fraction_and_fresh_masks_differ():
    mm = make_physics("inpainting", (1, 64, 64), keep=0.25, fresh_per_sample=True, noise="none")
    y = mm.measure(torch.ones(2, 1, 64, 64))
    kept = (y != 0).float().mean(dim=(1, 2, 3))
    assert torch.allclose(kept, torch.full((2,), 0.25), atol=0.05)
    assert not torch.equal(y[0], y[1])


def test_noise_levels():
    x = torch.full((1, 1, 64, 64), 0.5)
    y = make_physics("denoising", (1, 64, 64), noise_sigma=0.1).measure(x)
    assert (y - x).std().item() == pytest.approx(0.1, rel=0.1)
    y = make_physics("denoising", (1, 64, 64), noise="none").measure(x)
    assert torch.equal(y, x)


def test_tikhonov_lift_beats_adjoint_on_piecewise_constant_images():
    x = torch.rand(2, 1, 8, 8).repeat_interleave(8, -1).repeat_interleave(8, -2)  # 64x64 blocks
    mm = make_physics("blur", (1, 64, 64), sigma=2.0, noise_sigma=0.01)
    y = mm.measure(x)
    err = lambda z: ((z - x) ** 2).mean().item()
    assert err(lift(mm.physics, y, "tikhonov", 0.01)) < err(lift(mm.physics, y, "adjoint"))


@pytest.mark.parametrize("name,kwargs,match", [
    ("blur", {"sigma": -1.0}, r"sigma=-1.0.*> 0"),
    ("blur", {"noise_sigma": -0.1}, r"noise_sigma=-0.1.*>= 0"),
    ("blur", {"kernel": torch.ones(4, 4)}, r"kernel size=4.*odd"),
    ("blur", {"kernel": torch.ones(2, 3, 3)}, r"kernel shape=\(2, 3, 3\)"),
    ("blur", {"kernel": "box"}, r"kernel='box'"),
    ("inpainting", {"keep": 0.0}, r"keep=0.0.*\(0, 1\]"),
    ("inpainting", {"keep": 1.5}, r"keep=1.5.*\(0, 1\]"),
    ("inpainting", {"mask": torch.ones(8, 8)}, r"mask shape=\(8, 8\)"),
    ("downsampling", {"factor": 3}, r"factor=3.*2 or 4"),
    ("cs", {"m": 300}, r"m=300.*\[1, 256\]"),
    ("cs", {"m": 0}, r"m=0"),
    ("radon", {}, r"physics='radon'"),
    ("blur", {"noise": "speckle"}, r"noise='speckle'"),
])
def test_bad_parameters_name_the_parameter_value_and_range(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_physics(name, SIZE, **kwargs)


def test_factor_must_divide_the_image_size():
    with pytest.raises(ValueError, match=r"factor=4.*divisor of the image size 18x18"):
        make_physics("downsampling", (1, 18, 18), factor=4)


def test_user_kernel_is_normalised():
    k = blur_kernel(torch.ones(3, 3))
    assert k.shape == (1, 1, 3, 3) and k.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("name, kwargs", [("blur", {"sigma": 1.0}), ("blur", {"kernel": "motion", "kernel_size": 7}),
                                          ("cs", {"m": 40}), ("inpainting", {"keep": 0.5})])
def test_fresh_per_sample_operators_differ_per_sample_and_resume(name, kwargs):
    model = make_physics(name, (1, 16, 16), fresh_per_sample=True, noise="none", **kwargs)
    x = torch.rand(1, 1, 16, 16).repeat(3, 1, 1, 1)  # three copies of one image
    y = model.measure(x)
    assert all(not torch.allclose(y[0], y[i]) for i in (1, 2))  # each sample its own operator
    assert torch.allclose(model.physics.A(x), y)  # the physics keeps the draw that made y
    u = torch.randn_like(y)  # and its adjoint is the adjoint of that draw
    assert (model.physics.A(x) * u).sum().item() == pytest.approx((x * model.physics.A_adjoint(u)).sum().item(), rel=1e-4, abs=1e-3)
    state = model.rng_state()
    first = model.measure(x)
    model.set_rng_state(state)
    assert torch.equal(model.measure(x), first)


def test_per_sample_cs_draws_gaussian_matrices_of_variance_one_over_m():
    model = make_physics("cs", (1, 16, 16), m=64, fresh_per_sample=True, noise="none")
    model.measure(torch.zeros(8, 1, 16, 16))
    matrix = model.physics.matrix
    assert matrix.shape == (8, 64, 256)
    assert matrix.mean().item() == pytest.approx(0.0, abs=5e-3)
    assert matrix.var().item() == pytest.approx(1 / 64, rel=0.03)


def test_fresh_per_sample_is_refused_where_it_cannot_be_drawn():
    with pytest.raises(ValueError, match="fresh_per_sample"):
        make_physics("downsampling", (1, 16, 16), fresh_per_sample=True)
    with pytest.raises(ValueError, match="kernel"):
        make_physics("blur", (1, 16, 16), kernel=torch.ones(3, 3), fresh_per_sample=True)


def _downsampling(size: int = 32, factor: int = 4):
    return make_physics("downsampling", (1, size, size), factor=factor, noise="none", noise_sigma=0.0).physics


@pytest.mark.parametrize("factor", [2, 4])
def test_sampling_grid_matches_a_shifted_image(factor):
    physics = _downsampling(32, factor)
    f, offset = sampling_grid(physics)
    assert f == factor and offset == pytest.approx(0.5, abs=1e-3)  # deepinv's even bicubic filter, read off a ramp
    # a linear ramp along the width is sampled at f*i + offset (away from the circular boundary)
    x = torch.arange(32.0).expand(1, 1, 32, 32).contiguous()
    i = 16 // factor
    assert physics.A(x)[0, 0, i, i].item() == pytest.approx(factor * i + offset, abs=1e-3)


def test_bicubic_on_the_grid_beats_unaligned_interpolation():
    from invgan.data.images import load_builtin

    x = load_builtin(names=["camera"])[0][None, :, 96:224, 160:288]  # a held-out photo crop, 128x128
    physics = _downsampling(128, 4)
    y = physics.A(x)
    aligned = bicubic_upsample(y, physics)
    plain = F.interpolate(y, scale_factor=4, mode="bicubic", align_corners=False)
    assert aligned.shape == x.shape
    inner = (..., slice(8, -8), slice(8, -8))  # away from the circular boundary
    assert F.mse_loss(aligned[inner], x[inner]) < 0.7 * F.mse_loss(plain[inner], x[inner])


def test_classical_baselines_beat_the_measurement_on_a_smooth_image(synthetic):
    """Biharmonic inpainting and Wiener deconvolution (scikit-image) with fresh draws per sample:
    far better than A^T y on a piecewise-smooth image, where the best Tikhonov lift of inpainting
    is A^T y rescaled."""
    x = torch.cat([synthetic(32, seed=s) for s in range(2)])
    err = lambda z: ((z - x) ** 2).mean().item()
    inp = make_physics("inpainting", (1, 32, 32), keep=0.5, noise_sigma=0.01, fresh_per_sample=True)
    y = inp.measure(x)
    assert err(biharmonic_inpaint(y, inp.physics)) < 0.05 * err(inp.physics.A_adjoint(y))
    assert min(err(lift(inp.physics, y, "tikhonov", g)) for g in (1e-3, 1e-2, 1e-1)) > 0.9 * err(inp.physics.A_adjoint(y))
    blur = make_physics("blur", (1, 32, 32), sigma=1.5, noise_sigma=0.01, fresh_per_sample=True)
    y = blur.measure(x)
    assert err(wiener_deconvolve(y, blur.physics, 0.01)) < 0.8 * err(y)
    # each sample is deconvolved with its own kernel: swapping the kernels makes it worse
    swapped = wiener_deconvolve(y, type(blur.physics)(img_size=(1, 32, 32), filter=blur.physics.filter.flip(0)), 0.01)
    assert err(wiener_deconvolve(y, blur.physics, 0.01)) < err(swapped)
    with pytest.raises(ValueError, match="needs an inpainting operator, got BlurFFT"):
        biharmonic_inpaint(y, blur.physics)
    with pytest.raises(ValueError, match="needs a blur operator, got Inpainting"):
        wiener_deconvolve(y, inp.physics)
