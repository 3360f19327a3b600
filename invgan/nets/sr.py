r"""Super-resolution generators :math:`\hat x = R(y, A)` that work at the low resolution and
upsample at the end (sub-pixel convolution), so that a ×4 network costs a sixteenth of one run
on the lifted image:

* :class:`SRResNet` (SRGAN, Ledig et al. 2017): residual blocks with batch norm, then
  :math:`\log_2 f` stages of convolution + PixelShuffle (Shi et al. 2016).
* :class:`RRDBNet` (ESRGAN, Wang et al. 2018): residual-in-residual dense blocks without batch
  norm, each residual scaled by ``res_scale``, then nearest-neighbour upsampling + convolution.

Both follow deepinv's ``model(y, physics)`` convention. The factor :math:`f` is the operator's
(``physics.factor``); with ``bicubic_skip`` the network predicts a residual on the bicubic
interpolation of :math:`y` on the operator's own sampling grid
(:func:`invgan.classical.bicubic_upsample`), which the papers do not have but which makes short
CPU budgets converge (zero-initialised last layer: training starts from bicubic).

:func:`interpolate_networks` is ESRGAN's network interpolation
:math:`\theta_\alpha = (1-\alpha)\,\theta_\text{PSNR} + \alpha\,\theta_\text{GAN}`.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from ..classical import bicubic_upsample


def _check_factor(factor: int) -> int:
    if factor < 2 or factor & (factor - 1):
        raise ValueError(f"invalid factor={factor!r}: expected a power of two >= 2")
    return int(math.log2(factor))


class _SRBase(nn.Module):
    """What both SR networks share: the factor check against the operator and the bicubic skip."""

    factor: int
    bicubic_skip: bool

    def body(self, y: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, y: Tensor, physics: nn.Module | None = None) -> Tensor:
        if y.dim() != 4 or y.shape[1] != self.channels:
            raise ValueError(f"{type(self).__name__} expects (B, {self.channels}, h, w) low-resolution images, got {tuple(y.shape)}")
        op_factor = getattr(physics, "factor", None) if physics is not None else None
        if op_factor is not None and int(op_factor) != self.factor:
            raise ValueError(f"{type(self).__name__} upsamples x{self.factor}, but the operator downsamples x{op_factor}")
        out = self.body(y)
        if self.bicubic_skip:
            if physics is None:
                raise ValueError(f"{type(self).__name__} with bicubic_skip needs the downsampling operator: call model(y, physics)")
            out = out + bicubic_upsample(y, physics)
        return out


class _ResidualBlock(nn.Module):
    """SRResNet's block: conv-BN-PReLU-conv-BN plus the identity."""

    def __init__(self, width: int, batch_norm: bool):
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(width)) if batch_norm else nn.Identity
        self.net = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), norm(), nn.PReLU(width),
                                 nn.Conv2d(width, width, 3, padding=1), norm())

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class SRResNet(_SRBase):
    r"""SRResNet, the generator of SRGAN (Ledig et al. 2017):

    .. math::

        h_0 = \mathrm{PReLU}(W_{9\times9} * y),\quad h = h_0 + \mathrm{BN}(W * B_K(\cdots B_1(h_0))),\quad
        \hat x = W_{9\times9} * U_{\log_2 f}(\cdots U_1(h))

    with residual blocks :math:`B_k` and upsampling stages :math:`U = \mathrm{PReLU}\circ
    \mathrm{PixelShuffle}_2\circ W_{3\times3}` (64 wide and 16 blocks in the paper).

    :Example:

    >>> import torch
    >>> from invgan.nets.sr import SRResNet
    >>> from invgan.physics import make_physics
    >>> model = make_physics("downsampling", (1, 32, 32), factor=4, noise="none")
    >>> y = model.measure(torch.rand(2, 1, 32, 32))
    >>> G = SRResNet(1, 4, width=8, blocks=1)
    >>> tuple(y.shape), tuple(G(y, model.physics).shape)
    ((2, 1, 8, 8), (2, 1, 32, 32))
    """

    def __init__(self, channels: int = 1, factor: int = 4, width: int = 64, blocks: int = 16, batch_norm: bool = True,
                 bicubic_skip: bool = True):
        super().__init__()
        stages = _check_factor(factor)
        if width < 1 or blocks < 1:
            raise ValueError(f"invalid SRResNet(width={width!r}, blocks={blocks!r}): expected positive sizes")
        self.channels, self.factor, self.bicubic_skip = channels, factor, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(*(_ResidualBlock(width, batch_norm) for _ in range(blocks)))
        self.trunk = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width) if batch_norm else nn.Identity())
        self.upsample = nn.Sequential(*(m for _ in range(stages) for m in (nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width))))
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        if not batch_norm:  # He initialisation for PReLU, each residual branch scaled down by 0.1 (no norm to rescale it)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, a=0.25)
                    nn.init.zeros_(m.bias)
            for block in self.blocks:
                block.net[3].weight.data.mul_(0.1)
        if bicubic_skip:
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def body(self, y: Tensor) -> Tensor:
        h = self.head(y)
        return self.tail(self.upsample(h + self.trunk(self.blocks(h))))


class _DenseBlock(nn.Module):
    r"""ESRGAN's residual dense block: five 3×3 convolutions, each fed every earlier output,
    :math:`x + \beta\,W_5 * [x, h_1, \dots, h_4]`."""

    def __init__(self, width: int, growth: int, res_scale: float):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(width + k * growth, growth if k < 4 else width, 3, padding=1) for k in range(5))
        self.act, self.res_scale = nn.LeakyReLU(0.2, inplace=True), res_scale

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for conv in self.convs[:-1]:
            feats.append(self.act(conv(torch.cat(feats, 1))))
        return x + self.res_scale * self.convs[-1](torch.cat(feats, 1))


class _RRDB(nn.Module):
    r"""Residual in residual dense block: :math:`x + \beta\,D_3(D_2(D_1(x)))`."""

    def __init__(self, width: int, growth: int, res_scale: float):
        super().__init__()
        self.dense = nn.Sequential(*(_DenseBlock(width, growth, res_scale) for _ in range(3)))
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        return x + self.res_scale * self.dense(x)


class RRDBNet(_SRBase):
    r"""The generator of ESRGAN (Wang et al. 2018): no batch norm, ``blocks`` RRDBs with residual
    scaling :math:`\beta` = ``res_scale`` (0.2), a trunk skip, then :math:`\log_2 f` stages of
    nearest-neighbour ×2 upsampling + 3×3 convolution + LeakyReLU (64 wide, growth 32, 23 blocks
    in the paper)."""

    def __init__(self, channels: int = 1, factor: int = 4, width: int = 64, blocks: int = 23, growth: int = 32, res_scale: float = 0.2,
                 bicubic_skip: bool = True):
        super().__init__()
        stages = _check_factor(factor)
        if width < 1 or blocks < 1 or growth < 1:
            raise ValueError(f"invalid RRDBNet(width={width!r}, blocks={blocks!r}, growth={growth!r}): expected positive sizes")
        if not 0 < res_scale <= 1:
            raise ValueError(f"invalid res_scale={res_scale!r}: expected a value in (0, 1]")
        self.channels, self.factor, self.bicubic_skip = channels, factor, bicubic_skip
        act = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*(_RRDB(width, growth, res_scale) for _ in range(blocks)))
        self.trunk = nn.Conv2d(width, width, 3, padding=1)
        self.upsample = nn.Sequential(*(m for _ in range(stages) for m in (nn.Upsample(scale_factor=2, mode="nearest"),
                                                                          nn.Conv2d(width, width, 3, padding=1), act())))
        self.tail = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), act(), nn.Conv2d(width, channels, 3, padding=1))
        if bicubic_skip:
            nn.init.zeros_(self.tail[-1].weight)
            nn.init.zeros_(self.tail[-1].bias)

    def body(self, y: Tensor) -> Tensor:
        h = self.head(y)
        return self.tail(self.upsample(h + self.trunk(self.blocks(h))))


def interpolate_networks(psnr: Mapping[str, Tensor] | nn.Module, gan: Mapping[str, Tensor] | nn.Module, alpha: float) -> dict[str, Tensor]:
    r"""ESRGAN's network interpolation: the state dict :math:`(1-\alpha)\,\theta_\text{PSNR} +
    \alpha\,\theta_\text{GAN}` of two networks of one architecture (``alpha = 0``: the PSNR-oriented
    network, ``1``: the GAN-trained one). Integer buffers (batch-norm counters) come from ``gan``.

    :Example:

    >>> import torch
    >>> from torch import nn
    >>> from invgan.nets.sr import interpolate_networks
    >>> a, b = nn.Linear(1, 1), nn.Linear(1, 1)
    >>> _ = nn.init.constant_(a.weight, 0.0), nn.init.constant_(b.weight, 1.0)
    >>> mixed = interpolate_networks(a, b, 0.25)
    >>> round(float(mixed["weight"]), 4)
    0.25
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"invalid alpha={alpha!r}: expected a value in [0, 1]")
    a = psnr.state_dict() if isinstance(psnr, nn.Module) else psnr
    b = gan.state_dict() if isinstance(gan, nn.Module) else gan
    if a.keys() != b.keys():
        missing = sorted(set(a) ^ set(b))[:3]
        raise ValueError(f"the two networks differ in architecture (keys {missing} are in one only)")
    out = {}
    for k, vb in b.items():
        va = a[k]
        if va.shape != vb.shape:
            raise ValueError(f"the two networks differ in architecture: {k} is {tuple(va.shape)} vs {tuple(vb.shape)}")
        out[k] = torch.lerp(va, vb, alpha) if vb.is_floating_point() else vb.clone()
    return out
