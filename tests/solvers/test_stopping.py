"""Tests of invgan.solvers.stopping."""

from __future__ import annotations
import pytest
import torch
from invgan.physics import make_physics


def test_noise_level_is_read_from_the_physics_or_estimated(synthetic):
    from invgan.solvers.stopping import estimate_noise_sigma, noise_level

    x = synthetic(64)
    noisy = make_physics("denoising", (1, 64, 64), noise_sigma=0.1, seed=0)
    assert float(noise_level(noisy.physics, noisy.measure(x))[0]) == pytest.approx(0.1)
    clean = make_physics("inpainting", (1, 64, 64), keep=0.5, noise="none")
    assert float(noise_level(clean.physics, clean.measure(x))[0]) == 0.0
    assert float(noise_level(clean.physics, clean.measure(x), override=0.05)[0]) == pytest.approx(0.05)
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert float(estimate_noise_sigma(y)[0]) == pytest.approx(0.1, rel=0.15)
    poisson = make_physics("denoising", (1, 64, 64), noise="poisson", poisson_gain=0.01)  # unknown model: estimated
    assert float(noise_level(poisson.physics, y)[0]) == pytest.approx(0.1, rel=0.15)


def test_heldout_beats_stop_only_beyond_the_noise_share_by_hand():
    """e_d - e_h against z * 2 sigma |D|: 1.0 > 2 * 2 * 0.1 * 1 = 0.4 (yes), 0.3 (no); sigma 0 or unknown, or z = 0: never."""
    from invgan.solvers.stopping import heldout_beats_stop

    e_stop, e_best, gap = torch.tensor([5.0, 5.0, 5.0, 5.0]), torch.tensor([4.0, 4.7, 4.0, 4.0]), torch.ones(4)
    sigma = torch.tensor([0.1, 0.1, 0.0, float("nan")])
    assert heldout_beats_stop(e_stop, e_best, gap, sigma, 2.0).tolist() == [True, False, False, False]
    assert heldout_beats_stop(e_stop, e_best, 3 * gap, sigma, 2.0).tolist() == [False] * 4  # threshold 1.2
    assert heldout_beats_stop(e_stop, e_best, gap, sigma, 0.0).tolist() == [False] * 4
