r"""Classical estimators of :math:`x` from :math:`y` for one operator each, the baselines every
learned method is measured against (:func:`invgan.metrics.baselines`): bicubic interpolation on a
downsampling operator's own sampling grid, scikit-image's biharmonic inpainting, its
Wiener-Hunt deconvolution, and its TV and non-local-means denoisers chosen by SURE. They are also importable from :mod:`invgan.physics`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

import deepinv.physics as dphys


def sampling_grid(physics: dphys.Physics) -> tuple[int, float]:
    r"""The factor :math:`f` and offset :math:`c` of a downsampling operator: low-resolution pixel
    :math:`i` sits at high-resolution position :math:`f i + c`. A symmetric filter that sums to one
    maps a ramp :math:`r_j = j` to itself shifted by the filter's centre, so :math:`c` is read off
    :math:`A r` in the middle of the image (away from the circular boundary).

    :Example:

    >>> from invgan.classical import sampling_grid
    >>> from invgan.physics import make_physics
    >>> physics = make_physics("downsampling", (1, 32, 32), factor=4, noise="none").physics
    >>> factor, offset = sampling_grid(physics)
    >>> factor, round(offset, 2)
    (4, 0.5)
    """
    factor = getattr(physics, "factor", None)
    if not isinstance(physics, dphys.Downsampling) or factor is None:
        raise ValueError(f"a sampling grid needs a downsampling operator, got {type(physics).__name__}")
    c, h, w = physics.imsize
    ramp = torch.arange(w, dtype=torch.float32, device=physics.filter.device).expand(1, c, h, w)
    with torch.no_grad():
        row = physics.A(ramp)[0, 0, h // (2 * factor)]
    mid = w // (2 * factor)
    return int(factor), float(row[mid] - factor * mid)


def bicubic_upsample(y: Tensor, physics: dphys.Physics) -> Tensor:
    r"""Bicubic interpolation of low-resolution ``y`` onto the operator's own sampling grid
    (:func:`sampling_grid`): ``F.interpolate`` assumes pixel :math:`i` at :math:`f i + (f-1)/2`, so
    its output is shifted by :math:`c - (f-1)/2` (circularly, as the operator pads). The fair
    "bicubic" baseline of super-resolution: unshifted, deepinv's ×4 grid loses about 3 dB.

    :Example:

    >>> import torch
    >>> from invgan.classical import bicubic_upsample
    >>> from invgan.physics import make_physics
    >>> model = make_physics("downsampling", (1, 16, 16), factor=2, noise="none")
    >>> y = model.measure(torch.rand(1, 1, 16, 16))
    >>> tuple(y.shape), tuple(bicubic_upsample(y, model.physics).shape)
    ((1, 1, 8, 8), (1, 1, 16, 16))
    """
    factor, offset = sampling_grid(physics)
    up = torch.nn.functional.interpolate(y, scale_factor=factor, mode="bicubic", align_corners=False)
    shift = offset - (factor - 1) / 2
    whole = round(shift)
    if abs(shift - whole) > 1e-3:  # a sub-pixel phase (even filters at factor 2): a Fourier shift
        h, w = up.shape[-2:]
        ky, kx = torch.fft.fftfreq(h, device=up.device), torch.fft.fftfreq(w, device=up.device)
        phase = torch.exp(-2j * math.pi * shift * (ky[:, None] + kx[None, :]))
        return torch.fft.ifft2(torch.fft.fft2(up) * phase).real
    return torch.roll(up, (whole, whole), (-2, -1)) if whole else up


def biharmonic_inpaint(y: Tensor, physics: dphys.Physics, keep: Tensor | None = None) -> Tensor:
    r"""Classical inpainting of ``y`` through an :class:`~deepinv.physics.Inpainting` operator:
    the missing pixels (mask 0) are filled by scikit-image's
    :func:`~skimage.restoration.inpaint_biharmonic`, the smooth solution of
    :math:`\Delta^2 x = 0` that agrees with the kept pixels; each image and channel on its own.
    ``keep`` (boolean, broadcastable to ``y``) uses only some of the kept pixels, e.g. all but those
    withheld to score the result: a pixel counts as missing where any channel is not kept.

    :Example:

    >>> import torch
    >>> from invgan.classical import biharmonic_inpaint
    >>> from invgan.physics import make_physics
    >>> model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", seed=0)
    >>> ramp = torch.linspace(0, 1, 16).expand(1, 1, 16, 16)
    >>> y = model.measure(ramp)
    >>> bool((biharmonic_inpaint(y, model.physics) - ramp).abs().max() < 0.05 < (y - ramp).abs().max())
    True
    """
    mask = getattr(physics, "mask", None)
    if not isinstance(physics, dphys.Inpainting) or mask is None:
        raise ValueError(f"biharmonic inpainting needs an inpainting operator, got {type(physics).__name__}")
    missing = mask.expand_as(y) == 0
    if keep is not None:
        missing = missing | ~keep.to(device=y.device, dtype=torch.bool).expand_as(y)
    return fill_biharmonic(y, missing)


def fill_biharmonic(y: Tensor, missing: Tensor) -> Tensor:
    r"""Images ``y`` ``(N, C, H, W)`` with the ``missing`` pixels (boolean, broadcastable; a pixel is
    missing where any channel is) filled by scikit-image's :func:`~skimage.restoration.inpaint_biharmonic`,
    :math:`\Delta^2 x = 0` there; the other pixels unchanged."""
    from skimage.restoration import inpaint_biharmonic

    holes = missing.to(device=y.device, dtype=torch.bool).expand_as(y).cpu().numpy()
    arr = y.detach().double().cpu().numpy()
    out = [inpaint_biharmonic(arr[i], holes[i].any(0), channel_axis=0) if holes[i].any() else arr[i] for i in range(arr.shape[0])]
    return torch.as_tensor(np.stack(out), dtype=y.dtype, device=y.device)


def wiener_deconvolve(y: Tensor, physics: dphys.Physics, balance: float = 0.01) -> Tensor:
    r"""Wiener-Hunt deconvolution of ``y`` through a blur operator, by scikit-image's
    :func:`~skimage.restoration.wiener` with its Laplacian regulariser :math:`\Lambda`:

    .. math::

        \hat x = \mathcal{F}^{-1}\Big[\frac{\overline{H}}{|H|^2 + \beta|\Lambda|^2}\,\mathcal{F}y\Big],

    :math:`\beta` = ``balance``, with each sample's own kernel (a fresh draw per sample included).
    The filter is circular, exact for ``padding="circular"``.

    :Example:

    >>> import torch
    >>> from invgan.classical import wiener_deconvolve
    >>> from invgan.physics import make_physics
    >>> model = make_physics("blur", (1, 16, 16), sigma=1.0, kernel_size=5, noise="none")
    >>> x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> y = model.measure(x)
    >>> bool((wiener_deconvolve(y, model.physics, 1e-4) - x).abs().mean() < (y - x).abs().mean())
    True
    """
    from skimage.restoration import wiener

    k = getattr(physics, "filter", None)
    if not isinstance(physics, (dphys.Blur, dphys.BlurFFT)) or k is None:
        raise ValueError(f"Wiener deconvolution needs a blur operator, got {type(physics).__name__}")
    if not balance > 0:
        raise ValueError(f"invalid balance={balance!r}: expected a value > 0")
    k = k.detach().double().cpu().numpy()
    arr = y.detach().double().cpu().numpy()
    out = np.empty_like(arr)
    for i in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            out[i, c] = wiener(arr[i, c], k[min(i, k.shape[0] - 1), min(c, k.shape[1] - 1)], balance, clip=False)
    return torch.as_tensor(out, dtype=y.dtype, device=y.device)


def classical_estimate(y: Tensor, physics: dphys.Physics) -> Tensor:
    r"""The classical estimator of the operator's kind: biharmonic inpainting for
    :class:`~deepinv.physics.Inpainting`, Wiener deconvolution (balance 0.01) for a blur, bicubic
    interpolation for :class:`~deepinv.physics.Downsampling`, else the pseudo-inverse
    :math:`A^\dagger y`. It is the ``lift="classical"`` input of
    :class:`~invgan.nets.ConditionalReconstructor`, computed without gradients.

    :Example:

    >>> import torch
    >>> from invgan.classical import classical_estimate
    >>> from invgan.physics import make_physics
    >>> model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", seed=0)
    >>> ramp = torch.linspace(0, 1, 16).expand(1, 1, 16, 16)
    >>> bool((classical_estimate(model.measure(ramp), model.physics) - ramp).abs().max() < 0.05)
    True
    """
    with torch.no_grad():
        if isinstance(physics, dphys.Inpainting):
            return biharmonic_inpaint(y, physics)
        if isinstance(physics, (dphys.Blur, dphys.BlurFFT)):
            return wiener_deconvolve(y, physics)
        if isinstance(physics, dphys.Downsampling):
            return bicubic_upsample(y, physics)
        return physics.A_dagger(y)


#: ``(kind, factor)`` of the denoisers :func:`choose_denoiser` picks from: scikit-image's TV
#: (Chambolle, weight = factor :math:`\sigma`) and fast non-local means (:math:`h` = factor :math:`\sigma`,
#: 5x5 patches, 13x13 search window)
DENOISERS: tuple[tuple[str, float], ...] = (
    ("tv", 0.3), ("tv", 0.45), ("tv", 0.6), ("tv", 0.8), ("tv", 1.0), ("tv", 1.3),
    ("nlm", 0.4), ("nlm", 0.6), ("nlm", 0.8), ("nlm", 1.0),
)


def denoiser_name(kind: str, factor: float) -> str:
    """The name of a :data:`DENOISERS` entry as the results report it, e.g. ``"nlm h=0.6 sigma"``."""
    return f"tv weight={factor:g} sigma" if kind == "tv" else f"nlm h={factor:g} sigma"


def denoise(y: Tensor, sigma: Tensor, choice: list[tuple[str, float]]) -> Tensor:
    r"""``y`` ``(N, C, H, W)`` denoised sample by sample: ``choice[i]`` a :data:`DENOISERS` entry,
    ``sigma[i]`` the noise std of sample ``i`` (scikit-image's
    :func:`~skimage.restoration.denoise_tv_chambolle` or :func:`~skimage.restoration.denoise_nl_means`;
    the channels of a colour image together)."""
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    if y.dim() != 4:
        raise ValueError(f"denoise needs images (N, C, H, W), got shape {tuple(y.shape)}")
    arr = y.detach().double().cpu().numpy()
    out = np.empty_like(arr)
    for i, (kind, factor) in enumerate(choice):
        s, img = float(sigma[i]), arr[i]
        axis, one = (0, img) if img.shape[0] > 1 else (None, img[0])
        if kind == "tv":
            res = denoise_tv_chambolle(one, weight=factor * s, channel_axis=axis)
        elif kind == "nlm":
            res = denoise_nl_means(one, h=factor * s, sigma=s, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=axis)
        else:
            raise ValueError(f"unknown denoiser {kind!r}: expected 'tv' or 'nlm'")
        out[i] = np.asarray(res).reshape(img.shape)
    return torch.as_tensor(out, dtype=y.dtype, device=y.device)


def mc_divergence(f, y: Tensor, fy: Tensor | None = None, *, where: Tensor | None = None, eps: float = 1e-3,
                  generator: torch.Generator | None = None) -> Tensor:
    r"""Per sample, the divergence of ``f`` at ``y`` by one Monte-Carlo probe (Ramani, Blu and Unser 2008),

    .. math:: \sum_{j \in S} \frac{\partial f_j}{\partial y_j}(y) \approx
              \frac{1}{\epsilon}\, b^\top \big(f(y + \epsilon b) - f(y)\big),\qquad b_j = \pm 1 \text{ on } S,\ 0 \text{ elsewhere},

    :math:`S` the entries ``where`` (boolean, ``y``'s shape; default all). Unbiased for any ``f``
    whose Jacobian exists; ``fy``: :math:`f(y)` when already known.

    :Example:

    >>> import torch
    >>> from invgan.classical import mc_divergence
    >>> y = torch.rand(2, 1, 8, 8)
    >>> [round(d, 2) for d in mc_divergence(lambda v: 0.5 * v, y).tolist()]   # 0.5 for each of the 64 entries
    [32.0, 32.0]
    """
    fy = f(y) if fy is None else fy
    b = torch.randint(0, 2, y.shape, generator=generator).to(device=y.device, dtype=y.dtype) * 2 - 1
    if where is not None:
        b = b * where.to(device=y.device, dtype=y.dtype)
    return (b * (f(y + eps * b) - fy)).flatten(1).sum(1) / eps


def sure(fy: Tensor, y: Tensor, sigma: Tensor, divergence: Tensor) -> Tensor:
    r"""Stein's unbiased estimate of the squared error :math:`\|f(y) - x\|^2` per sample, for
    :math:`y = x + \sigma n`, :math:`n` standard Gaussian:
    :math:`\|f(y) - y\|^2 - m\sigma^2 + 2\sigma^2\,\mathrm{div} f(y)`, :math:`m` the entries of a sample."""
    s2 = sigma.to(y).pow(2)
    return (fy - y).pow(2).flatten(1).sum(1) - y[0].numel() * s2 + 2 * s2 * divergence


def choose_denoiser(y: Tensor, sigma: Tensor, *, seed: int = 0) -> tuple[Tensor, list[tuple[str, float]]]:
    r"""Per sample, the :data:`DENOISERS` entry with the least SURE (:func:`sure`, divergence by
    :func:`mc_divergence`), and its estimate: the denoiser and its strength chosen without ground truth
    for Gaussian noise of std ``sigma`` (a tensor, one per sample).

    :Example:

    >>> import torch
    >>> from invgan.classical import choose_denoiser
    >>> x = torch.linspace(0, 1, 32).expand(1, 1, 32, 32)
    >>> y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    >>> est, choice = choose_denoiser(y, torch.tensor([0.1]))
    >>> bool((est - x).pow(2).mean() < 0.2 * (y - x).pow(2).mean())
    True
    """
    sigma = torch.as_tensor(sigma, dtype=torch.float64).flatten().expand(y.shape[0])
    if not bool(torch.isfinite(sigma).all() & (sigma > 0).all()):
        raise ValueError(f"choosing a denoiser needs a known noise level > 0 per sample, got {sigma.tolist()}")
    gen = torch.Generator().manual_seed(seed)
    best, scores = None, None
    choice: list[tuple[str, float]] = [DENOISERS[0]] * y.shape[0]
    for entry in DENOISERS:
        f = lambda v, e=entry: denoise(v, sigma, [e] * y.shape[0])  # noqa: E731
        fy = f(y)
        score = sure(fy, y, sigma, mc_divergence(f, y, fy, generator=gen))
        if best is None:
            best, scores = fy.clone(), score.clone()
            continue
        better = score < scores
        best[better], scores[better] = fy[better], score[better]
        choice = [entry if bool(b) else c for b, c in zip(better, choice)]
    return best, choice
