"""Tests of invgan.solvers.stopping."""

from __future__ import annotations
import pytest
import torch
from invgan.physics import make_physics


def synthetic(size: int = 32, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """Piecewise-smooth test image: a disc and a square on a gradient, shape (1, C, size, size)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    cx, cy = (0.3 + 0.4 * torch.rand(2, generator=g)).tolist()
    img = 0.2 + 0.3 * xx
    img = torch.where((xx - cx) ** 2 + (yy - cy) ** 2 < 0.06, torch.full_like(img, 0.85), img)
    img = torch.where((xx > 0.6) & (yy > 0.6), torch.full_like(img, 0.45), img)
    out = torch.stack([img * (0.8 + 0.2 * c) for c in range(channels)])
    return out[None].clamp(0, 1)


def test_noise_level_is_read_from_the_physics_or_estimated():
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
