r"""What ``D`` judges when no clean image exists and no fresh operator draw changes the picture:
the reconstruction against coarser copies of the measurements themselves.

Natural images look alike across scales (the internal patch recurrence of ZSSR, Shocher, Cohen and
Irani 2018, and of KernelGAN, Bell-Kligler, Shocher and Irani 2019, whose critic compares an
image's patches with those of its own down-scaled copy). Down-scaling a blurred, noisy measurement
by :math:`s` divides its blur width by about :math:`s` and its noise std by :math:`s` or more, so the patches of
:math:`y\!\downarrow_s` stand in for sharp ones: ``D`` compares them with patches of
:math:`\hat x` of the same size at its own scale,

.. math::

    \text{real} = y\!\downarrow_s, \qquad \text{fake} = \mathrm{crop}_{H/s \times W/s}(\hat x),

a crop at a random place of each reconstruction (drawn from the step's number, so a resumed run
takes the same crops). What the critic can see is whatever separates :math:`\hat x` from a sharp
image of the same kind: blur left in, ringing, amplified noise. Its bias is the blur of
:math:`y` divided by :math:`s` (a kernel of width 3 pixels leaves 0.75 at :math:`s = 4`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..losses import GANStep


def downscale(y: Tensor, factor: int) -> Tensor:
    r""":math:`y\!\downarrow_s`: anti-aliased bilinear down-scaling by ``factor`` (torch's ``antialias``)."""
    h, w = y.shape[-2] // factor, y.shape[-1] // factor
    return F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False, antialias=True)


def random_crops(x: Tensor, size: tuple[int, int], seed: int) -> Tensor:
    """One crop of ``size`` per image of ``x``, at places drawn from a generator seeded with ``seed``."""
    h, w = size
    H, W = x.shape[-2:]
    gen = torch.Generator().manual_seed(seed)
    top = torch.randint(0, H - h + 1, (x.shape[0],), generator=gen).tolist()
    left = torch.randint(0, W - w + 1, (x.shape[0],), generator=gen).tolist()
    return torch.stack([x[b, :, i:i + h, j:j + w] for b, (i, j) in enumerate(zip(top, left))])


class CrossScaleView:
    r"""``D`` compares :math:`y\!\downarrow_s` (real) with crops of :math:`\hat x` of that size (fake):
    cross-scale self-supervision for operators whose measurement is an image (blur, denoising,
    down-sampling). ``factor``: :math:`s`, an integer :math:`\ge 2`."""

    def __init__(self, factor: int = 2):
        if int(factor) != factor or factor < 2:
            raise ValueError(f"invalid factor={factor!r}: expected an integer >= 2")
        self.factor = int(factor)

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        y, x_hat = s.y, s.x_hat
        if y is None or y.dim() != 4 or y.shape[1] != x_hat.shape[1]:
            raise ValueError(f"the cross-scale view needs image-shaped measurements with the image's channels, got "
                             f"{None if y is None else tuple(y.shape)} for images of shape {tuple(x_hat.shape)}")
        real = downscale(y, self.factor)
        if real.shape[-2] < 1 or real.shape[-1] < 1 or real.shape[-2] > x_hat.shape[-2] or real.shape[-1] > x_hat.shape[-1]:
            raise ValueError(f"measurements of size {tuple(y.shape[-2:])} down-scaled by {self.factor} give "
                             f"{tuple(real.shape[-2:])}: not a patch of images of size {tuple(x_hat.shape[-2:])}")
        return (real,), (random_crops(x_hat, real.shape[-2:], s.step),)
