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


def test_pooled_std_averages_the_variance_over_the_neighbourhood_by_hand():
    """Variance 4 at the centre of a 3x3 image, 0 elsewhere: pooled over 3x3 the centre averages 9 pixels
    (4/9), a corner its 4 neighbours (4/4 = 1), an edge pixel its 6 (4/6); samples and mean are kept."""
    s = torch.zeros(1, 2, 1, 3, 3)
    s[0, 0, 0, 1, 1], s[0, 1, 0, 1, 1] = -2**0.5, 2**0.5  # unbiased variance (2 + 2) / 1 = 4
    p = PosteriorSamples.from_samples(s)
    q = p.pooled(3)
    expected = torch.tensor([[1, 4 / 6, 1], [4 / 6, 4 / 9, 4 / 6], [1, 4 / 6, 1]]).sqrt()
    torch.testing.assert_close(q.std[0, 0], expected)
    assert q.samples is p.samples and q.mean is p.mean and p.pooled(1) is p
    colour = PosteriorSamples.from_samples(torch.randn(2, 3, 3, 5, 7, generator=torch.Generator().manual_seed(0)))
    assert colour.pooled(5).std.shape == colour.std.shape  # channels pooled apart, same shape
    for bad in (0, 2, 3.0, True):
        with pytest.raises(ValueError, match="odd integer"):
            p.pooled(bad)
