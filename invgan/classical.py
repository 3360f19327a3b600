r"""Classical estimators of :math:`x` from :math:`y` for one operator each, the baselines every
learned method is measured against (:func:`invgan.metrics.baselines`): bicubic interpolation on a
downsampling operator's own sampling grid, scikit-image's biharmonic inpainting, and its
Wiener-Hunt deconvolution. They are also importable from :mod:`invgan.physics`."""

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
    from skimage.restoration import inpaint_biharmonic

    mask = getattr(physics, "mask", None)
    if not isinstance(physics, dphys.Inpainting) or mask is None:
        raise ValueError(f"biharmonic inpainting needs an inpainting operator, got {type(physics).__name__}")
    missing_t = mask.expand_as(y) == 0
    if keep is not None:
        missing_t = missing_t | ~keep.to(device=y.device, dtype=torch.bool).expand_as(y)
    missing = missing_t.cpu().numpy()
    arr = y.detach().double().cpu().numpy()
    out = [inpaint_biharmonic(arr[i], missing[i].any(0), channel_axis=0) if missing[i].any() else arr[i] for i in range(arr.shape[0])]
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
