r"""Scores of posterior samples (:class:`~invgan.nets.PosteriorSamples`), whatever made them:
the conditional GAN's draws of :math:`z` (:meth:`ConditionalReconstructor.sample
<invgan.nets.ConditionalReconstructor.sample>`) or any other sampler of :math:`p(x \mid y)`.

* distortion: PSNR/SSIM of the mean :math:`\bar x` and of a single sample :math:`\hat x_1`;
* spread against error: Spearman's rank correlation of the per-pixel std :math:`s_i` with the
  absolute error of the mean :math:`|\bar x_i - x_i|`, over every pixel of the set;
* calibration: the empirical coverage of the central intervals,
  :math:`\frac1N\sum_i \mathbb{1}\{q_{\alpha/2,i} \le x_i \le q_{1-\alpha/2,i}\}`, with :math:`q` the
  per-pixel quantiles of the :math:`K` samples (linear interpolation) and :math:`1-\alpha` = ``level``;
* perception (with Inception ``features``): patch KID of single samples and of the mean against
  the truth, as :func:`~invgan.metrics.compare_estimators` computes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn

from ..nets.posterior import PosteriorSamples, check_sample_count
from .images import image_metrics, patches, set_operator

if TYPE_CHECKING:
    from ..data import MeasuredSet

#: a sampler of the posterior: ``sampler(y, physics, k)`` -> :class:`~invgan.nets.PosteriorSamples`
Sampler = Callable[[Tensor, nn.Module, int], PosteriorSamples]


@torch.no_grad()
def sample_set(sampler: Sampler, data: "MeasuredSet", physics: nn.Module, k: int, batch_size: int = 16) -> PosteriorSamples:
    """``k`` posterior samples of every measurement of ``data`` (on the CPU), restoring the operator
    draw of each batch first, as :func:`~invgan.metrics.evaluate_estimator` does."""
    check_sample_count(k)
    device = next(iter(physics.buffers()), torch.empty(0)).device
    out = []
    for _, y, params in data.batches(batch_size):
        set_operator(physics, {key: v.to(device) for key, v in params.items()})
        out.append(sampler(y.to(device), physics, k).samples.float().cpu())
    return PosteriorSamples.from_samples(torch.cat(out))


@torch.no_grad()
def evaluate_posterior(posterior: PosteriorSamples, x: Tensor, level: float = 0.9, features: nn.Module | None = None,
                       patch: int = 64) -> dict[str, float]:
    """Scores of ``posterior`` (``K`` samples of ``B`` images) against the truth ``x`` ``(B, C, H, W)``:
    ``psnr_mean``, ``ssim_mean``, ``psnr_sample``, ``ssim_sample`` (the first sample), ``spearman``
    (std vs absolute error of the mean), ``coverage`` (of the central ``level`` intervals), ``std``
    and ``abs_error`` (their means) and, with Inception ``features``, ``kid_sample`` and ``kid_mean``
    (patch KID ×1, on ``patch`` × ``patch`` patches).

    With :math:`K` exchangeable samples the interpolated interval covers a new draw with probability
    a little below ``level`` (about 0.85 for :math:`K = 32`, 0.9 as :math:`K\\to\\infty`).

    :Example:

    >>> import torch
    >>> from invgan.metrics import evaluate_posterior
    >>> from invgan.nets import PosteriorSamples
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.rand(1, 1, 8, 8, generator=g)
    >>> p = PosteriorSamples.from_samples(x[:, None] + 0.05 * torch.randn(1, 400, 1, 8, 8, generator=g))
    >>> m = evaluate_posterior(p, x + 0.05 * torch.randn(1, 1, 8, 8, generator=g))  # the truth: one more draw
    >>> 0.75 < m["coverage"] <= 1.0
    True
    """
    from scipy.stats import spearmanr

    if not 0 < level < 1:
        raise ValueError(f"invalid level={level!r}: expected a value in (0, 1)")
    x = x.float().cpu()
    samples, mean, std = posterior.samples.float().cpu(), posterior.mean.float().cpu(), posterior.std.float().cpu()
    if mean.shape != x.shape:
        raise ValueError(f"the samples are of images {tuple(mean.shape)}, the truth {tuple(x.shape)}")
    m_mean, m_one = image_metrics(mean, x), image_metrics(samples[:, 0], x)
    err = (mean - x).abs()
    rho = spearmanr(std.flatten().numpy(), err.flatten().numpy()).statistic
    bounds = torch.quantile(samples, torch.tensor([(1 - level) / 2, (1 + level) / 2]), dim=1)
    covered = (x >= bounds[0]) & (x <= bounds[1])
    out = {
        "k": float(posterior.k),
        "psnr_mean": float(m_mean["psnr"].mean()), "ssim_mean": float(m_mean["ssim"].mean()),
        "psnr_sample": float(m_one["psnr"].mean()), "ssim_sample": float(m_one["ssim"].mean()),
        "spearman": float(rho), "coverage": float(covered.float().mean()),
        "std": float(std.mean()), "abs_error": float(err.mean()),
    }
    if features is not None:
        out.update(patch_kid(features, x, {"kid_sample": samples[:, 0], "kid_mean": mean}, patch))
    return out


@torch.no_grad()
def patch_kid(features: nn.Module, x: Tensor, estimates: dict[str, Tensor], patch: int = 64) -> dict[str, float]:
    """Patch KID of each named batch of ``estimates`` against the same patches of ``x`` (and its
    spread over half-size subsets under ``NAME_std``), as in :func:`~invgan.metrics.compare_estimators`."""
    from .inception import kernel_distance

    real = features(patches(x.float().cpu(), patch))
    out = {}
    for name, est in estimates.items():
        kid, kid_std = kernel_distance(real, features(patches(est.float().cpu().clamp(0, 1), patch)), subset_size=max(2, len(real) // 2))
        out[name], out[f"{name}_std"] = kid, kid_std
    return out
