"""The operator factory: deepinv operators, and a clear ValueError for every bad parameter."""

import pytest
import torch
import deepinv as dinv

from invgan.physics import blur_kernel, lift, make_physics

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


def test_wiener_consistency_weighs_the_measurement_by_the_noise_level():
    import deepinv as dinv

    from invgan.physics import enforce_consistency

    torch.manual_seed(0)
    sigma, tau = 0.05, 0.1
    model = make_physics("inpainting", (1, 64, 64), keep=0.5, noise="gaussian", noise_sigma=sigma)
    x = torch.rand(3, 1, 64, 64)
    y = model.measure(x)
    mask = model.physics.mask.expand_as(x).bool()
    estimate = x + tau * torch.randn_like(x)  # errs by tau, independently of the noise
    out = enforce_consistency(model.physics, estimate, y, "wiener")
    r2 = ((y - estimate)[mask] ** 2).view(3, -1).mean(1)  # by hand, per image: lambda = 1 - sigma^2 / r^2
    weight = (1 - sigma**2 / r2).view(3, 1, 1, 1)
    torch.testing.assert_close(out[mask], (estimate + weight * (y - estimate))[mask])
    assert abs(float(weight.mean()) - tau**2 / (tau**2 + sigma**2)) < 0.03  # about the Wiener weight 0.8
    assert torch.equal(out[~mask], estimate[~mask])  # the missing pixels are the estimate's
    # an estimate closer to y than the noise (r < sigma) is kept as it is
    near = torch.where(mask, x + 0.5 * (y - x), estimate)
    assert torch.equal(enforce_consistency(model.physics, near, y, "wiener"), near)
    # a noise level per image (deepinv's GaussianNoise takes a vector): each image its own weight
    model.physics.noise_model = dinv.physics.GaussianNoise(sigma=torch.tensor([0.0, sigma, 1.0]))
    per_image = enforce_consistency(model.physics, estimate, y, "wiener")
    torch.testing.assert_close(per_image[0], enforce_consistency(model.physics, estimate, y, "project")[0])  # sigma 0: projection
    torch.testing.assert_close(per_image[1], out[1])
    assert torch.equal(per_image[2], estimate[2])  # sigma far above the misfit: lambda = 0
    # without noise it is the projection
    # a noise level given for each image (e.g. estimated where the noise model has none): it replaces the operator's;
    # NaN (unknown) leaves that image alone
    given = enforce_consistency(model.physics, estimate, y, "wiener", sigma=torch.tensor([sigma, 0.0, float("nan")]))
    torch.testing.assert_close(given[0], out[0])
    torch.testing.assert_close(given[1], enforce_consistency(model.physics, estimate, y, "project")[1])  # 0: the projection
    assert torch.equal(given[2], estimate[2])
    clean = make_physics("inpainting", (1, 64, 64), keep=0.5, noise="none")
    yc = clean.measure(x)
    torch.testing.assert_close(enforce_consistency(clean.physics, estimate, yc, "wiener"), enforce_consistency(clean.physics, estimate, yc, "project"))
    assert isinstance(model.physics.noise_model, dinv.physics.GaussianNoise)


@pytest.mark.parametrize("name,kwargs", [("downsampling", dict(factor=4)), ("cs", dict(m=100))])
def test_projection_onto_the_measurements_of_downsampling_and_compressed_sensing(name, kwargs):
    from invgan.physics import consistency_supported, enforce_consistency

    torch.manual_seed(0)
    model = make_physics(name, (1, 16, 16), noise="none", **kwargs)
    assert consistency_supported(model.physics)
    x = torch.rand(2, 1, 16, 16)
    y = model.measure(x)
    estimate = x + 0.2 * torch.randn_like(x)
    out = enforce_consistency(model.physics, estimate, y, "project")
    assert float((model.physics.A(out) - y).norm()) < 1e-2 * float((model.physics.A(estimate) - y).norm())
    # an orthogonal projection onto {Ax = y}: the correction lies in the row space, so what A does not see is kept,
    # and the distance to x shrinks
    assert float((out - x).norm()) < float((estimate - x).norm())
    null = torch.randn(x.shape, generator=torch.Generator().manual_seed(123))  # seed 0 would redraw the matrix's own rows
    null = null - model.physics.A_dagger(model.physics.A(null))  # a null-space direction
    cosine = torch.nn.functional.cosine_similarity((out - estimate).flatten(1), null.flatten(1))
    assert float(cosine.abs().max()) < 1e-3
    torch.testing.assert_close(enforce_consistency(model.physics, estimate, y, "wiener"), out)  # no noise: wiener is the projection
    assert not consistency_supported(make_physics("blur", (1, 16, 16), sigma=1.0).physics)
