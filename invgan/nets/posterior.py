r"""Posterior samples of a reconstruction, one convention for every sampler.

A sampler of :math:`p(x \mid y)` (the conditional GAN :math:`R(y, A, z)` over draws of :math:`z`,
or latent search over restarts) returns :class:`PosteriorSamples`: the :math:`K` samples
:math:`\hat x_1, \dots, \hat x_K`, their mean :math:`\bar x = \frac1K\sum_k \hat x_k` and the
per-pixel standard deviation
:math:`s = \big(\frac{1}{K-1}\sum_k (\hat x_k - \bar x)^2\big)^{1/2}`, an uncertainty map.
:func:`invgan.metrics.evaluate_posterior` scores any of them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch.nn.functional as F
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

    def pooled(self, size: int) -> "PosteriorSamples":
        r"""The same samples and mean with the std map pooled over every :math:`k\times k` neighbourhood
        (``size`` :math:`k`, odd; clipped at the borders): :math:`\tilde s_i = \big(\frac{1}{|N_i|}\sum_{j\in N_i}
        s_j^2\big)^{1/2}`. From few samples each :math:`s_j^2` has only :math:`K-1` degrees of freedom; the
        average over :math:`k^2` pixels is far less noisy where the spread varies slowly, and blurs it
        where it changes from pixel to pixel. ``size`` 1 returns the samples unchanged.

        :Example:

        >>> import torch
        >>> from invgan.nets import PosteriorSamples
        >>> s = torch.zeros(1, 2, 1, 1, 3)
        >>> s[0, 1, 0, 0, 1] = 2.0  # one pixel of variance 2, two of 0
        >>> [round(v, 4) for v in PosteriorSamples.from_samples(s).pooled(3).std.flatten().tolist()]
        [1.0, 0.8165, 1.0]
        """
        if not isinstance(size, int) or isinstance(size, bool) or size < 1 or size % 2 == 0:
            raise ValueError(f"invalid std pool size {size!r}: expected an odd integer >= 1 (a neighbourhood centred on the pixel)")
        if size == 1:
            return self
        var = self.std.pow(2)
        lead = var.shape[:-3]
        flat = var.reshape(-1, *var.shape[-3:])
        pooled = F.avg_pool2d(flat, size, stride=1, padding=size // 2, count_include_pad=False)
        return replace(self, std=pooled.reshape(*lead, *pooled.shape[-3:]).sqrt())


def check_sample_count(k: int) -> None:
    """Refuse fewer than two samples: a spread needs two."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ValueError(f"invalid number of samples K={k!r}: expected an integer >= 2 (a standard deviation needs two samples)")
