r"""Scores of posterior samples (:class:`~invgan.nets.PosteriorSamples`), whatever made them:
the conditional GAN's draws of :math:`z` (:meth:`ConditionalReconstructor.sample
<invgan.nets.ConditionalReconstructor.sample>`) or any other sampler of :math:`p(x \mid y)`.

* distortion: PSNR/SSIM of the mean :math:`\bar x` and of a single sample :math:`\hat x_1`;
* spread against error: Spearman's rank correlation of the per-pixel std :math:`s_i` with the
  absolute error of the mean :math:`|\bar x_i - x_i|`, over every pixel of the set;
* what that correlation can reach with this spread: ``spearman_ceiling``, the same Spearman for a
  calibrated Gaussian sampler with the same std map, whose error of the mean of :math:`K` draws is
  :math:`|e_i| = s_i\sqrt{1 + 1/K}\,|g_i|`, :math:`g_i \sim \mathcal N(0, 1)` (seeded). Even exact
  posterior draws rank the error only as far as the std varies from pixel to pixel: a std map that
  is nearly flat caps the correlation well below 1;
* calibration: the empirical coverage of the central intervals,
  :math:`\frac1N\sum_i \mathbb{1}\{q_{\alpha/2,i} \le x_i \le q_{1-\alpha/2,i}\}`, with :math:`q` the
  per-pixel quantiles of the :math:`K` samples (linear interpolation) and :math:`1-\alpha` = ``level``;
* calibrated intervals: :func:`calibrate_intervals` fits, on measurements with known truth that
  are not the test set, the scale :math:`c` of the intervals :math:`\bar x_i \pm c\,(s_i + \delta)`
  (split conformal prediction on the scores :math:`|x_i - \bar x_i| / (s_i + \delta)`);
  ``evaluate_posterior(..., interval_scale=c)`` reports their coverage and mean width;
* perception (with Inception ``features``): patch KID of single samples and of the mean against
  the truth, as :func:`~invgan.metrics.compare_estimators` computes it, and of the trivial sampler
  that a single draw must beat: the mean with unstructured noise of the draws' own spread,
  :math:`\bar x + s \odot g`, :math:`g \sim \mathcal N(0, I)` (seeded). A draw whose variation is
  structure (edges, texture) scores below it; a draw that is the mean plus grain scores about the same.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn

from ..nets.posterior import PosteriorSamples, check_sample_count
from .images import image_metrics, patches, set_operator

if TYPE_CHECKING:
    from ..data import MeasuredSet

#: :math:`\delta`, the floor added to the std in calibrated intervals (image units, [0, 1] images)
DEFAULT_FLOOR = 0.01

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
                       patch: int = 64, interval_scale: float | None = None, floor: float = DEFAULT_FLOOR,
                       where: Tensor | None = None) -> dict[str, float]:
    r"""Scores of ``posterior`` (``K`` samples of ``B`` images) against the truth ``x`` ``(B, C, H, W)``:
    ``psnr_mean``, ``ssim_mean``, ``psnr_sample``, ``ssim_sample`` (the first sample), ``spearman``
    (std vs absolute error of the mean), ``coverage`` (of the central ``level`` intervals), ``std``
    and ``abs_error`` (their means) and, with Inception ``features``, ``kid_sample``, ``kid_mean`` and
    ``kid_mean_noise`` (patch KID ×1, on ``patch`` × ``patch`` patches; the last of
    :math:`\bar x + s \odot g`, the baseline of a single draw). With ``interval_scale`` :math:`c` (from
    :func:`calibrate_intervals`, with the same ``floor``): ``coverage_calibrated`` and
    ``width_calibrated``, the coverage and mean width of :math:`\bar x_i \pm c\,(s_i + \delta)`.

    With :math:`K` exchangeable samples the interpolated interval covers a new draw with probability
    a little below ``level`` (about 0.85 for :math:`K = 32`, 0.9 as :math:`K\\to\\infty`).

    ``spearman_ceiling``: the Spearman that a calibrated Gaussian sampler with the same std map would
    reach (its error simulated from the std, seeded: the same figure on every call).

    ``where`` (boolean, the shape of ``x``): ``spearman``, ``spearman_ceiling`` and ``coverage`` over those pixels only
    (e.g. a digit's strokes, where its exactly-0 background would otherwise dominate both).

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
    if where is not None and (where.shape != x.shape or not bool(where.any())):
        raise ValueError(f"where must be a mask of the truth's shape {tuple(x.shape)} with at least one pixel set")
    pick = torch.ones_like(x, dtype=torch.bool) if where is None else where.cpu().bool()
    err = (mean - x).abs()
    rho = spearmanr(std[pick].numpy(), err[pick].numpy()).statistic
    g = torch.Generator().manual_seed(0)
    simulated = std[pick] * math.sqrt(1 + 1 / posterior.k) * torch.randn(std[pick].shape, generator=g).abs()
    ceiling = spearmanr(std[pick].numpy(), simulated.numpy()).statistic
    bounds = torch.quantile(samples, torch.tensor([(1 - level) / 2, (1 + level) / 2]), dim=1)
    covered = ((x >= bounds[0]) & (x <= bounds[1]))[pick]
    out = {
        "k": float(posterior.k),
        "psnr_mean": float(m_mean["psnr"].mean()), "ssim_mean": float(m_mean["ssim"].mean()),
        "psnr_sample": float(m_one["psnr"].mean()), "ssim_sample": float(m_one["ssim"].mean()),
        "spearman": float(rho), "spearman_ceiling": float(ceiling), "coverage": float(covered.float().mean()),
        "std": float(std.mean()), "abs_error": float(err.mean()),
    }
    if interval_scale is not None:
        half = interval_scale * (std + floor)
        out.update(coverage_calibrated=float((err <= half).float().mean()), width_calibrated=float(2 * half.mean()),
                   interval_scale=float(interval_scale))
    if features is not None:
        noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(0)).to(mean.device, mean.dtype)  # same draw on any device
        noisy = mean + std * noise
        out.update(patch_kid(features, x, {"kid_sample": samples[:, 0], "kid_mean": mean, "kid_mean_noise": noisy}, patch))
    return out


@torch.no_grad()
def calibrate_intervals(posterior: PosteriorSamples, x: Tensor, level: float = 0.9, floor: float = DEFAULT_FLOOR) -> float:
    r"""The scale :math:`c` of calibrated per-pixel intervals :math:`\bar x_i \pm c\,(s_i + \delta)`,
    :math:`\delta` = ``floor``, by split conformal prediction (Angelopoulos and Bates, 2021): with the
    scores :math:`r_i = |x_i - \bar x_i| / (s_i + \delta)` of the :math:`n` pixels of a calibration set
    (measurements whose truth ``x`` is known, never the test set), :math:`c` is the
    :math:`\lceil (n+1)\,\ell \rceil`-th smallest score, :math:`\ell` = ``level``. On a test pixel
    exchangeable with them, the interval then holds the truth with probability at least
    :math:`\ell`. The floor :math:`\delta` (default 0.01, about the measurement noise of the presets)
    keeps pixels where the draws agree exactly (the kept pixels of inpainting) from taking the
    interval's whole width.

    :Example:

    >>> import torch
    >>> from invgan.metrics import calibrate_intervals, evaluate_posterior
    >>> from invgan.nets import PosteriorSamples
    >>> g = torch.Generator().manual_seed(0)
    >>> def draw(n):  # samples twice too narrow: their spread is 0.05, the error's 0.1
    ...     x = torch.rand(n, 1, 8, 8, generator=g)
    ...     return x, PosteriorSamples.from_samples(x[:, None] + 0.1 * torch.randn(n, 1, 1, 8, 8, generator=g) + 0.05 * torch.randn(n, 16, 1, 8, 8, generator=g))
    >>> x_cal, cal = draw(64)
    >>> c = calibrate_intervals(cal, x_cal, floor=0.0)
    >>> x_test, test = draw(64)
    >>> m = evaluate_posterior(test, x_test, interval_scale=c, floor=0.0)
    >>> round(m["coverage"], 2) < 0.75 and 0.87 < m["coverage_calibrated"] < 0.93
    True
    """
    if not 0 < level < 1:
        raise ValueError(f"invalid level={level!r}: expected a value in (0, 1)")
    if floor < 0:
        raise ValueError(f"invalid floor={floor!r}: expected a value >= 0")
    x = x.float().cpu()
    mean, std = posterior.mean.float().cpu(), posterior.std.float().cpu()
    if mean.shape != x.shape:
        raise ValueError(f"the samples are of images {tuple(mean.shape)}, the truth {tuple(x.shape)}")
    scores = ((x - mean).abs() / (std + floor)).flatten().double()
    if not torch.isfinite(scores).all():
        raise ValueError("the calibration scores are not finite: draws with zero spread and no floor (use floor > 0)")
    n = scores.numel()
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise ValueError(f"{n} calibration pixels are too few for level {level}: need at least {math.ceil(level / (1 - level))}")
    return float(scores.kthvalue(rank).values)


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
