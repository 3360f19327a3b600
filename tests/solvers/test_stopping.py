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
