"""Tests of invgan.metrics.posterior: scores of posterior samples on cases made by hand."""

import math

import pytest
import torch

from invgan.data import fixed_measurements
from invgan.metrics import calibrate_intervals, evaluate_posterior, sample_set
from invgan.nets import PosteriorSamples
from invgan.physics import make_physics


def gaussian_case(k: int, seed: int = 0):
    """Per-pixel Gaussian posteriors N(mu_i, sigma_i^2), sigma_i varying; the truth is one more draw."""
    g = torch.Generator().manual_seed(seed)
    mu = 0.3 + 0.4 * torch.rand(4, 1, 16, 16, generator=g)
    sigma = 0.005 + 0.05 * torch.rand(4, 1, 16, 16, generator=g)
    samples = mu[:, None] + sigma[:, None] * torch.randn(4, k, 1, 16, 16, generator=g)
    x = mu + sigma * torch.randn(4, 1, 16, 16, generator=g)
    return PosteriorSamples.from_samples(samples), x


def test_calibrated_gaussian_samples_cover_90_percent_and_their_std_tracks_the_error():
    post, x = gaussian_case(k=1000)
    m = evaluate_posterior(post, x)
    assert m["coverage"] == pytest.approx(0.9, abs=0.03)  # 1,024 pixels: binomial std 0.009
    assert m["spearman"] > 0.4  # std and |error| both scale with sigma_i
    assert m["psnr_mean"] > m["psnr_sample"] + 2  # the mean of many draws beats one draw (about 3 dB for Gaussians)
    assert m["k"] == 1000 and m["std"] == pytest.approx(float(post.std.mean()))


def test_spearman_ceiling_is_what_calibrated_draws_reach_and_a_flat_std_caps_it():
    post, x = gaussian_case(k=1000)
    m = evaluate_posterior(post, x)
    # exact posterior draws: the measured correlation is one draw of what the ceiling simulates
    assert m["spearman_ceiling"] == pytest.approx(m["spearman"], abs=0.08)
    assert evaluate_posterior(post, x)["spearman_ceiling"] == m["spearman_ceiling"]  # seeded
    g = torch.Generator().manual_seed(3)
    flat = PosteriorSamples.from_samples(post.mean[:, None] + 0.02 * torch.randn(post.samples.shape, generator=g))
    assert abs(evaluate_posterior(flat, x)["spearman_ceiling"]) < 0.15 < m["spearman_ceiling"]  # the same std everywhere ranks nothing
    # misplaced spread: the std of one pixel given to another scores below its ceiling
    shuffled = post.samples[..., torch.randperm(16, generator=g)]
    s = PosteriorSamples.from_samples(post.mean[:, None] + shuffled - shuffled.mean(1, keepdim=True))
    low = evaluate_posterior(s, x)
    assert low["spearman"] < 0.15 and low["spearman_ceiling"] > 0.4


def test_overconfident_samples_cover_less_and_other_levels():
    post, x = gaussian_case(k=400)
    narrow = PosteriorSamples.from_samples(post.mean[:, None] + 0.2 * (post.samples - post.mean[:, None]))
    assert evaluate_posterior(narrow, x)["coverage"] < 0.5
    assert evaluate_posterior(post, x, level=0.5)["coverage"] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="invalid level"):
        evaluate_posterior(post, x, level=1.0)
    with pytest.raises(ValueError, match="the truth"):
        evaluate_posterior(post, x[:, :, :8])


def test_where_scores_spearman_and_coverage_on_those_pixels_only():
    post, x = gaussian_case(k=400)
    left = torch.zeros_like(x, dtype=torch.bool)
    left[..., :8] = True
    # the left half: overconfident draws there (a fifth of the spread), calibrated on the right
    narrow = post.mean[:, None] + torch.where(left[:, None], 0.2, 1.0) * (post.samples - post.mean[:, None])
    mixed = PosteriorSamples.from_samples(narrow)
    on_left, on_right = evaluate_posterior(mixed, x, where=left), evaluate_posterior(mixed, x, where=~left)
    assert on_left["coverage"] < 0.5 and on_right["coverage"] == pytest.approx(0.9, abs=0.05)
    whole = evaluate_posterior(mixed, x)["coverage"]
    assert whole == pytest.approx((on_left["coverage"] + on_right["coverage"]) / 2)  # two halves of equal size
    assert on_left["psnr_mean"] == evaluate_posterior(mixed, x)["psnr_mean"]  # image scores stay whole-image
    for bad in (left[:, :, :8], torch.zeros_like(left)):
        with pytest.raises(ValueError, match="where must be a mask"):
            evaluate_posterior(mixed, x, where=bad)


def test_sample_set_restores_each_batch_and_gathers_the_samples():
    model = make_physics("denoising", (1, 8, 8), noise="none")
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    data = fixed_measurements(model, x)

    def sampler(y, physics, k):  # the truth plus a spread of +-0.01
        return PosteriorSamples.from_samples(y[:, None] + 0.01 * torch.linspace(-1, 1, k).view(1, k, 1, 1, 1))

    post = sample_set(sampler, data, model.physics, 3, batch_size=2)
    assert post.samples.shape == (5, 3, 1, 8, 8)
    torch.testing.assert_close(post.mean, x)
    m = evaluate_posterior(post, x)
    assert m["coverage"] == 1.0 and m["psnr_mean"] == 80.0


def test_calibrate_intervals_is_the_conformal_rank_of_the_scores_by_hand():
    # one image of 9 pixels, two draws +-d: mean 0 and unbiased std |d| sqrt(2) = 1 everywhere
    d = 1 / math.sqrt(2)
    samples = torch.tensor([d, -d]).view(1, 2, 1, 1, 1).expand(1, 2, 1, 3, 3).clone()
    post = PosteriorSamples.from_samples(samples)
    assert torch.allclose(post.std, torch.ones(1, 1, 3, 3))
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # scores |x - 0| / (1 + 0) = 1, ..., 9
    # n = 9, level 0.8: the ceil(10 * 0.8) = 8th smallest score
    assert calibrate_intervals(post, x, level=0.8, floor=0.0) == pytest.approx(8.0)
    # with the floor 1: scores x / 2, the 8th smallest is 4
    assert calibrate_intervals(post, x, level=0.8, floor=1.0) == pytest.approx(4.0)
    m = evaluate_posterior(post, x, level=0.8, interval_scale=8.0, floor=0.0)
    assert m["coverage_calibrated"] == pytest.approx(8 / 9) and m["width_calibrated"] == pytest.approx(16.0)


def test_calibrate_intervals_refuses_what_it_cannot_do():
    post = PosteriorSamples.from_samples(torch.zeros(1, 2, 1, 2, 2))
    with pytest.raises(ValueError, match="not finite"):
        calibrate_intervals(post, torch.ones(1, 1, 2, 2), floor=0.0)
    with pytest.raises(ValueError, match="too few"):
        calibrate_intervals(post, torch.ones(1, 1, 2, 2), level=0.9)  # 4 pixels cannot give a 90 % rank
    with pytest.raises(ValueError, match="level"):
        calibrate_intervals(post, torch.ones(1, 1, 2, 2), level=1.0)


def _pooled_features(x):
    """A cheap stand-in for the Inception features: 4x4 average-pooled pixels, as float64."""
    return torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1).double()


def test_kid_mean_noise_is_the_mean_with_seeded_noise_of_the_draws_spread():
    from invgan.metrics import patch_kid

    post, x = gaussian_case(k=8)
    m = evaluate_posterior(post, x, features=_pooled_features, patch=8)
    noisy = post.mean + post.std * torch.randn(post.mean.shape, generator=torch.Generator().manual_seed(0))
    assert m["kid_mean_noise"] == pytest.approx(patch_kid(_pooled_features, x, {"n": noisy}, 8)["n"])
    assert {"kid_sample", "kid_mean", "kid_mean_noise_std"} <= set(m)
    # draws that agree have no spread: the baseline is the mean itself
    same = PosteriorSamples.from_samples(post.mean[:, None].expand(-1, 4, -1, -1, -1).clone())
    m = evaluate_posterior(same, x, features=_pooled_features, patch=8)
    assert m["kid_mean_noise"] == pytest.approx(m["kid_mean"]) and m["kid_sample"] == pytest.approx(m["kid_mean"])
