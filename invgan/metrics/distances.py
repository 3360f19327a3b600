r"""Sample-quality metrics for unconditional generators, computed offline.

* Fréchet distance (Heusel et al. 2017) between Gaussians fitted to classifier features,
  :math:`\|\mu_a-\mu_b\|^2 + \operatorname{Tr}(\Sigma_a + \Sigma_b - 2(\Sigma_a\Sigma_b)^{1/2})`.
* Precision / recall (Kynkäänniemi et al. 2019): the fraction of generated features inside
  the union of the real :math:`k`-NN balls, and of real features inside the generated ones.
* Classifier score (the Inception score with the digit classifier):
  :math:`\exp\,\mathbb{E}_x\,\mathrm{KL}(p(c\mid x)\,\|\,p(c))`.
* Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, ProGAN).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors
from torch import Tensor


#: feature dimension above which :func:`frechet_distance` takes the symmetric route (Inception's 2048)
LARGE_FEATURES = 512


def _frechet_large(a: np.ndarray, b: np.ndarray, diff: np.ndarray) -> float:
    r"""The Fréchet distance of centred features ``a`` ``(N_a, d)`` and ``b`` for large ``d``, with
    :math:`\mathrm{tr}(\Sigma_a\Sigma_b)^{1/2}` from symmetric factorisations instead of a general
    matrix square root (seconds instead of half a minute for ``d = 2048``): the nuclear norm
    :math:`\|A B^\top\|_* / \sqrt{(N_a-1)(N_b-1)}` when both sets are smaller than ``d``, else the
    eigenvalues of :math:`\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}`."""
    na, nb = len(a) - 1, len(b) - 1
    trace_a, trace_b = float((a * a).sum()) / na, float((b * b).sum()) / nb
    if max(len(a), len(b)) <= a.shape[1]:
        cross = float(np.linalg.svd(a @ b.T, compute_uv=False).sum()) / np.sqrt(na * nb)
    else:
        w, v = np.linalg.eigh(a.T @ a / na)
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        cross = float(np.sqrt(np.clip(np.linalg.eigvalsh(root @ (b.T @ b / nb) @ root), 0, None)).sum())
    return float((diff**2).sum() + trace_a + trace_b - 2 * cross)


def frechet_distance(feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray) -> float:
    r"""Fréchet distance between Gaussian fits of two feature sets ``(N, d)``.

    :Example:

    >>> import torch
    >>> from invgan.metrics import frechet_distance
    >>> a = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    >>> round(abs(frechet_distance(a, a)), 4)
    0.0
    >>> round(frechet_distance(a, a + torch.tensor([3.0, 4.0])), 4)
    25.0
    """
    a, b = (np.asarray(f, dtype=np.float64) for f in (feats_a, feats_b))
    mu_a, mu_b = a.mean(0), b.mean(0)
    if a.shape[1] > LARGE_FEATURES:
        return _frechet_large(a - mu_a, b - mu_b, mu_a - mu_b)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # ReLU features often give singular covariances
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # regularise as in the reference FID code
            eps = 1e-6 * np.eye(a.shape[1])
            covmean = scipy.linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def precision_recall(real: Tensor | np.ndarray, fake: Tensor | np.ndarray, k: int = 3) -> tuple[float, float]:
    r"""Improved precision and recall with :math:`k`-NN manifolds of the feature sets.

    :Example:

    >>> import torch
    >>> from invgan.metrics.distances import precision_recall
    >>> real = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    >>> precision_recall(real, real, k=3)
    (1.0, 1.0)
    >>> precision_recall(real, real + 100.0, k=3)
    (0.0, 0.0)
    """
    real, fake = (np.asarray(f, dtype=np.float64) for f in (real, fake))

    def coverage(support: np.ndarray, queries: np.ndarray) -> float:
        radii = NearestNeighbors(n_neighbors=k + 1).fit(support).kneighbors(support)[0][:, -1]  # self is the 0th
        dist, idx = NearestNeighbors(n_neighbors=min(len(support), 50)).fit(support).kneighbors(queries)
        return float((dist <= radii[idx]).any(1).mean())

    return coverage(real, fake), coverage(fake, real)


def classifier_score(probs: Tensor) -> float:
    r""":math:`\exp\,\mathbb{E}_x \mathrm{KL}(p(c\mid x)\|p(c))`, between 1 and the number of classes.

    :Example:

    >>> import torch
    >>> from invgan.metrics import classifier_score
    >>> round(classifier_score(torch.eye(10)), 4), round(classifier_score(torch.full((10, 10), 0.1)), 4)
    (10.0, 1.0)
    """
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    return float(torch.exp((p * (p.log() - marginal.log())).sum(1).mean()))


def _laplacian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device)
    kernel = (k1[:, None] * k1[None, :] / 256.0).expand(x.shape[1], 1, 5, 5)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(F.pad(t, (2, 2, 2, 2), mode="reflect"), kernel, groups=t.shape[1])

    pyramid, g = [], x
    for _ in range(levels - 1):
        down = blur(g)[..., ::2, ::2]
        up = F.interpolate(down, size=g.shape[-2:], mode="bilinear", align_corners=False)
        pyramid.append(g - up)
        g = down
    pyramid.append(g)
    return pyramid


def sliced_wasserstein(real: Tensor, fake: Tensor, *, patch_size: int = 7, patches_per_image: int = 32, levels: int | None = None,
                       n_directions: int = 256, n_repeats: int = 4, seed: int = 0) -> dict[str, float]:
    r"""Sliced Wasserstein distance between ``patch_size²`` patches of the Laplacian pyramids
    of two image sets (ProGAN): per level, patches are normalised by the per-channel mean
    and std of each set, projected on random unit directions, and the sorted projections
    compared; reported ×10³ per level (``swd_<res>``) and averaged (``swd_mean``)."""
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"image shapes differ: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    size = min(real.shape[-2:])
    if levels is None:
        levels = 1
        while size // 2 ** levels >= max(patch_size, 4):
            levels += 1
    if size // 2 ** (levels - 1) < patch_size:
        raise ValueError(f"{levels} pyramid levels of {size}px images are smaller than patch_size={patch_size}")
    gen = torch.Generator().manual_seed(seed)
    n = min(len(real), len(fake))
    out: dict[str, float] = {}
    for lr_, lf in zip(_laplacian_pyramid(real[:n].double(), levels), _laplacian_pyramid(fake[:n].double(), levels)):
        descs = []
        for level in (lr_, lf):
            patches = F.unfold(level, patch_size)  # (N, C*p*p, L)
            pick = torch.randint(patches.shape[-1], (n, patches_per_image), generator=gen)
            d = torch.gather(patches, 2, pick[:, None, :].expand(-1, patches.shape[1], -1)).permute(0, 2, 1).reshape(-1, patches.shape[1])
            c = level.shape[1]
            d = d.view(len(d), c, -1)
            d = (d - d.mean((0, 2), keepdim=True)) / d.std((0, 2), keepdim=True).clamp_min(1e-8)
            descs.append(d.view(len(d), -1))
        dist = 0.0
        for _ in range(n_repeats):
            dirs = torch.randn(descs[0].shape[1], n_directions, generator=gen, dtype=torch.float64)
            dirs /= dirs.norm(dim=0, keepdim=True)
            # (directions, patches), sorted along the contiguous last dimension (~3x faster than dim 0)
            pa, pb = (torch.sort(dirs.T @ d.T, dim=1).values for d in descs)
            dist += (pa - pb).abs().mean().item() / n_repeats
        out[f"swd_{level.shape[-1]}"] = dist * 1e3
    out["swd_mean"] = float(np.mean(list(out.values())))
    return out


def best_matching_accuracy(codes: Tensor, labels: Tensor, n_codes: int, n_labels: int = 10) -> float:
    """Agreement of cluster indices ``codes`` with ``labels`` after the best one-to-one matching of
    code values to labels (Hungarian algorithm on the contingency table).

    :Example:

    >>> import torch
    >>> from invgan.metrics import best_matching_accuracy
    >>> best_matching_accuracy(torch.tensor([0, 0, 1, 2]), torch.tensor([7, 7, 3, 3]), 3, 10)
    0.75
    """
    from scipy.optimize import linear_sum_assignment

    table = torch.zeros(n_codes, n_labels)
    table.index_put_((codes.long().cpu(), labels.long().cpu()), torch.ones(len(codes)), accumulate=True)
    rows, cols = linear_sum_assignment(table.numpy(), maximize=True)
    return float(table[rows, cols].sum() / len(codes))
