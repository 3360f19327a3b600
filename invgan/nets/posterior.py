r"""Posterior samples of a reconstruction, one convention for every sampler.

A sampler of :math:`p(x \mid y)` (the conditional GAN :math:`R(y, A, z)` over draws of :math:`z`,
or latent search over restarts) returns :class:`PosteriorSamples`: the :math:`K` samples
:math:`\hat x_1, \dots, \hat x_K`, their mean :math:`\bar x = \frac1K\sum_k \hat x_k` and the
per-pixel standard deviation
:math:`s = \big(\frac{1}{K-1}\sum_k (\hat x_k - \bar x)^2\big)^{1/2}`, an uncertainty map.
:func:`invgan.metrics.evaluate_posterior` scores any of them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class PosteriorSamples:
    """``samples`` ``(B, K, C, H, W)``, their ``mean`` and per-pixel ``std`` (unbiased), ``(B, C, H, W)`` each.

    :Example:

    >>> import torch
    >>> from invgan.nets import PosteriorSamples
    >>> p = PosteriorSamples.from_samples(torch.tensor([0.0, 2.0]).view(1, 2, 1, 1, 1))
    >>> float(p.mean), float(p.std), p.k
    (1.0, 1.4142135381698608, 2)
    """

    samples: Tensor
    mean: Tensor
    std: Tensor

    @classmethod
    def from_samples(cls, samples: Tensor) -> "PosteriorSamples":
        """Mean and std of ``samples`` ``(B, K, C, H, W)`` with :math:`K \\ge 2`."""
        if samples.dim() != 5:
            raise ValueError(f"expected samples of shape (B, K, C, H, W), got {tuple(samples.shape)}")
        check_sample_count(samples.shape[1])
        return cls(samples, samples.mean(1), samples.std(1, correction=1))

    @property
    def k(self) -> int:
        """The number of samples :math:`K`."""
        return self.samples.shape[1]


def check_sample_count(k: int) -> None:
    """Refuse fewer than two samples: a spread needs two."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ValueError(f"invalid number of samples K={k!r}: expected an integer >= 2 (a standard deviation needs two samples)")
