"""The classical estimators: bicubic on the operator's own grid, biharmonic inpainting, Wiener deconvolution."""

import pytest
import torch
import torch.nn.functional as F
from invgan.classical import bicubic_upsample, biharmonic_inpaint, classical_estimate, sampling_grid, wiener_deconvolve
from invgan.nets import ConditionalReconstructor
from invgan.physics import lift, make_physics


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


@pytest.mark.parametrize("name, kwargs, estimator", [
    ("inpainting", {"keep": 0.5}, biharmonic_inpaint),
    ("blur", {"sigma": 1.0, "kernel_size": 5}, wiener_deconvolve),
    ("downsampling", {"factor": 2}, bicubic_upsample),
])
def test_the_classical_lift_is_the_operators_classical_estimate_and_the_reconstructor_starts_from_it(name, kwargs, estimator):
    model = make_physics(name, (1, 16, 16), noise="gaussian", noise_sigma=0.01, seed=0, **kwargs)
    y = model.measure(torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1)))
    x0 = classical_estimate(y, model.physics)
    assert torch.equal(x0, estimator(y, model.physics))
    R = ConditionalReconstructor(1, width=4, depth=2, lift="classical")
    assert torch.equal(R(y, model.physics), x0)  # zero residual at initialisation
    R.unet.out.bias.data.fill_(0.1)
    out = R(y, model.physics)
    out.sum().backward()  # gradients reach the U-Net, not the (numpy) classical estimate
    assert R.unet.out.bias.grad is not None and torch.allclose(out, x0 + 0.1)


def test_the_classical_lift_of_other_operators_is_the_pseudo_inverse():
    model = make_physics("denoising", (1, 8, 8), noise="none")
    y = torch.rand(1, 1, 8, 8)
    assert torch.allclose(classical_estimate(y, model.physics), model.physics.A_dagger(y))


# ---------------------------------------------------------------- denoisers chosen by SURE


def test_mc_divergence_of_a_linear_map_by_hand():
    """div of f(y) = K y is the trace of K: for a 3x3 box blur (circular) 1/9 per entry; `where` sums
    over those entries only (a single probe is exact for a diagonal map, unbiased otherwise)."""
    from invgan.classical import mc_divergence

    y = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert mc_divergence(lambda v: 0.3 * v, y).tolist() == pytest.approx([0.3 * 144] * 2)
    where = torch.zeros_like(y, dtype=torch.bool)
    where[:, :, ::3, ::3] = True  # 16 entries, three apart: the box blur couples none of them
    box = lambda v: F.avg_pool2d(F.pad(v, (1, 1, 1, 1), mode="circular"), 3, stride=1)  # noqa: E731
    assert mc_divergence(box, y, where=where).tolist() == pytest.approx([16 / 9] * 2)
    probes = torch.stack([mc_divergence(box, y, generator=torch.Generator().manual_seed(k)) for k in range(200)])
    assert float(probes.mean()) == pytest.approx(144 / 9, rel=0.1)  # all entries: unbiased over probes


def test_sure_of_a_shrinkage_by_hand():
    """f(y) = a y: SURE = (1 - a)^2 |y|^2 - m sigma^2 + 2 sigma^2 a m."""
    from invgan.classical import sure

    y = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    a, s = 0.6, torch.tensor([0.2])
    expected = (1 - a) ** 2 * float(y.pow(2).sum()) - 16 * 0.04 + 2 * 0.04 * a * 16
    assert float(sure(a * y, y, s, torch.tensor([a * 16]))[0]) == pytest.approx(expected, rel=1e-5)


def test_choose_denoiser_picks_one_close_to_the_best_in_hindsight(synthetic):
    """Per image (64x64, colour), the denoiser SURE picks is within 0.3 dB of the best of DENOISERS by true error, far
    above the noisy image; the choice is per sample; no noise level is an error."""
    from invgan.classical import DENOISERS, choose_denoiser, denoise

    x = torch.cat([synthetic(64, channels=3, seed=0), synthetic(64, channels=3, seed=1)])
    sigma = torch.tensor([0.1, 0.05])
    y = x + sigma.view(2, 1, 1, 1) * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    est, choice = choose_denoiser(y, sigma)
    psnr = lambda a: -10 * torch.log10((a - x).pow(2).flatten(1).mean(1))  # noqa: E731
    best = torch.stack([psnr(denoise(y, sigma, [e, e])) for e in DENOISERS]).max(0).values
    assert bool((psnr(est) > best - 0.3).all()) and bool((psnr(est) > psnr(y) + 3).all())
    torch.testing.assert_close(est, denoise(y, sigma, choice))
    with pytest.raises(ValueError, match="noise level > 0"):
        choose_denoiser(y, torch.tensor([0.1, 0.0]))
