"""Tests of invgan.nets.posterior: the one convention of posterior samples."""

import pytest
import torch

from invgan.nets import PosteriorSamples


def test_mean_and_unbiased_std_per_pixel():
    samples = torch.randn(3, 5, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    p = PosteriorSamples.from_samples(samples)
    assert p.k == 5 and p.mean.shape == p.std.shape == (3, 2, 4, 4)
    torch.testing.assert_close(p.mean, samples.mean(1))
    torch.testing.assert_close(p.std, ((samples - samples.mean(1, keepdim=True)) ** 2).sum(1).div(4).sqrt())


def test_fewer_than_two_samples_and_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="expected an integer >= 2"):
        PosteriorSamples.from_samples(torch.zeros(2, 1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, K, C, H, W\)"):
        PosteriorSamples.from_samples(torch.zeros(2, 3, 4, 4))
