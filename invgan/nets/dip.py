r"""Untrained generators :math:`R_\theta(z)` for the deep image prior.

Two families, both for grayscale or RGB images of any height and width:

* :class:`ConvDecoder` (Darestani & Heckel 2021): a stack of
  ``upsample -> conv3x3 -> ReLU -> BatchNorm`` blocks that grows a small random
  tensor :math:`z \in \mathbb{R}^{c \times h_0 \times w_0}` to the image size;
  the sizes of the intermediate grids interpolate geometrically between
  :math:`(h_0, w_0)` and :math:`(H, W)`, so no power of two is needed.
* :class:`SkipNet` (Ulyanov et al. 2018): the encoder-decoder "hourglass" with
  skip connections of the DIP paper, fed with a full-resolution random input.
  The input is reflect-padded to a multiple of :math:`2^{\text{depth}}` (and at
  least twice that) inside :meth:`SkipNet.forward` and the output is cropped back,
  so any size works, down to 1x1.

:func:`make_dip_net` builds either from a name and :func:`dip_input` draws the
matching fixed random input.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: the deep image prior's networks (``dip.net``) and their upsampling modes (``dip.upsampling``)
NET_NAMES = ("convdecoder", "skip")
UPSAMPLING_MODES = ("nearest", "bilinear", "bicubic")



def _check_upsampling(mode: str) -> str:
    if mode not in UPSAMPLING_MODES:
        raise ValueError(f"invalid upsampling={mode!r}: expected one of {UPSAMPLING_MODES}")
    return mode


def _check_img_size(img_size: tuple[int, int, int]) -> tuple[int, int, int]:
    if len(img_size) != 3 or any(int(s) <= 0 for s in img_size):
        raise ValueError(f"invalid img_size={img_size!r}: expected (channels, height, width) with positive entries")
    return tuple(int(s) for s in img_size)  # type: ignore[return-value]


def _interpolate(x: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


class ConvDecoder(nn.Module):
    r"""Convolutional decoder :math:`R_\theta(z)` of Darestani & Heckel (2021).

    .. math::

        R_\theta(z) = \sigma\big(W_{L+1} * \mathrm{BN}(\mathrm{ReLU}(W_L * U_L(\cdots
        \mathrm{BN}(\mathrm{ReLU}(W_1 * U_1(z)))\cdots)))\big)

    where :math:`U_l` resizes to the :math:`l`-th grid (geometric sizes from
    ``in_size`` to the image size), :math:`W_l` are 3x3 convolutions with
    ``channels`` channels and :math:`W_{L+1}` is a 1x1 convolution to the image
    channels; :math:`\sigma` is a sigmoid when ``sigmoid=True``.

    :param img_size: ``(C, H, W)`` of the output, any ``H, W``.
    :param in_size: spatial size ``(h0, w0)`` of the input :math:`z`.
    :param depth: number of ``upsample -> conv`` blocks :math:`L`.
    :param channels: width of every hidden layer (also the input channels).
    :param upsampling: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``.
    """

    def __init__(
        self,
        img_size: tuple[int, int, int],
        in_size: tuple[int, int] = (8, 8),
        depth: int = 6,
        channels: int = 64,
        upsampling: str = "bilinear",
        sigmoid: bool = True,
    ) -> None:
        super().__init__()
        c, h, w = _check_img_size(img_size)
        if depth < 1:
            raise ValueError(f"invalid depth={depth!r}: expected an integer >= 1")
        if channels < 1:
            raise ValueError(f"invalid channels={channels!r}: expected an integer >= 1")
        if h * w < 2:
            raise ValueError(f"ConvDecoder needs images of at least 2 pixels (BatchNorm statistics), got {h}x{w}: use the skip net")
        h0, w0 = (int(s) for s in in_size)
        if not (1 <= h0 <= h and 1 <= w0 <= w):
            raise ValueError(f"invalid in_size={in_size!r}: expected 1 <= size <= image size {(h, w)}")
        self.img_size = (c, h, w)
        self.in_channels = channels
        self.in_size = (h0, w0)
        self.upsampling = _check_upsampling(upsampling)
        self.sigmoid = sigmoid
        sh, sw = (h / h0) ** (1.0 / depth), (w / w0) ** (1.0 / depth)
        self.grid_sizes = [
            (min(h, math.ceil(h0 * sh**n - 1e-6)), min(w, math.ceil(w0 * sw**n - 1e-6))) for n in range(1, depth)
        ] + [(h, w)]
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect" if min(s) > 1 else "zeros"),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(channels),
            )
            for s in self.grid_sizes
        )
        self.head = nn.Conv2d(channels, c, 1)

    def input_shape(self) -> tuple[int, int, int]:
        """Shape ``(C_in, h0, w0)`` of one input :math:`z`."""
        return (self.in_channels, *self.in_size)

    def forward(self, z: Tensor) -> Tensor:
        x = z
        for size, block in zip(self.grid_sizes, self.blocks):
            x = block(_interpolate(x, size, self.upsampling))
        x = self.head(x)
        return torch.sigmoid(x) if self.sigmoid else x


def _conv_bn_act(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, padding_mode="replicate" if k > 1 else "zeros"),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


class _SkipLevel(nn.Module):
    """One level of the hourglass: skip branch, down/deeper/up branch, concatenated."""

    def __init__(self, c_in: int, down: int, up: int, skip: int, deeper: nn.Module | None, c_deeper_out: int, upsampling: str):
        super().__init__()
        self.skip = _conv_bn_act(c_in, skip, 1) if skip > 0 else None
        self.down = nn.Sequential(_conv_bn_act(c_in, down, 3, stride=2), _conv_bn_act(down, down, 3))
        self.deeper = deeper
        self.upsampling = upsampling
        c_cat = skip + (c_deeper_out if deeper is not None else down)
        self.up = nn.Sequential(nn.BatchNorm2d(c_cat), _conv_bn_act(c_cat, up, 3), _conv_bn_act(up, up, 1))

    def forward(self, x: Tensor) -> Tensor:
        d = self.down(x)
        if self.deeper is not None:
            d = self.deeper(d)
        d = _interpolate(d, x.shape[-2:], self.upsampling)
        parts = [self.skip(x), d] if self.skip is not None else [d]
        return self.up(torch.cat(parts, dim=1))


class SkipNet(nn.Module):
    r"""Encoder-decoder with skip connections of the DIP paper (Ulyanov et al. 2018).

    Level :math:`l` computes
    :math:`u_l = \mathrm{up}_l\big([\,s_l(x_l),\ \mathrm{U}(u_{l+1})\,]\big)` with
    :math:`x_{l+1} = d_l(x_l)` a stride-2 convolution block, :math:`s_l` a 1x1
    skip convolution and :math:`\mathrm{U}` the upsampling; the output is
    :math:`\sigma(W * u_1)`.  The full-resolution input is reflect-padded to a
    multiple of :math:`2^{\text{depth}}` (at least twice that, see :meth:`padded_size`)
    and the output cropped back, so any image size works.

    :param img_size: ``(C, H, W)`` of the output, any ``H, W``.
    :param in_channels: channels of the random input :math:`z`.
    :param depth: number of down/up levels.
    :param channels: width of the down and up branches.
    :param skip_channels: width of the skip branches (0 disables them).
    :param upsampling: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``.
    """

    def __init__(
        self,
        img_size: tuple[int, int, int],
        in_channels: int = 32,
        depth: int = 5,
        channels: int = 128,
        skip_channels: int = 4,
        upsampling: str = "bilinear",
        sigmoid: bool = True,
    ) -> None:
        super().__init__()
        c, h, w = _check_img_size(img_size)
        if depth < 1:
            raise ValueError(f"invalid depth={depth!r}: expected an integer >= 1")
        if channels < 1 or skip_channels < 0 or in_channels < 1:
            raise ValueError(
                f"invalid widths channels={channels!r}, skip_channels={skip_channels!r}, in_channels={in_channels!r}: "
                "expected channels, in_channels >= 1 and skip_channels >= 0"
            )
        self.img_size = (c, h, w)
        self.in_channels = in_channels
        self.depth = depth
        self.upsampling = _check_upsampling(upsampling)
        self.sigmoid = sigmoid
        deeper: nn.Module | None = None
        for level in reversed(range(depth)):
            c_in = in_channels if level == 0 else channels
            deeper = _SkipLevel(c_in, channels, channels, skip_channels, deeper, channels, upsampling)
        self.body = deeper
        self.head = nn.Conv2d(channels, c, 1)

    def input_shape(self) -> tuple[int, int, int]:
        """Shape ``(C_in, H, W)`` of one input :math:`z` (full image size)."""
        return (self.in_channels, self.img_size[1], self.img_size[2])

    def padded_size(self, h: int, w: int) -> tuple[int, int]:
        r"""The size the input is padded to: a multiple of :math:`m = 2^{\text{depth}}` and at
        least :math:`2m`, so that the coarsest level has at least 2x2 pixels for BatchNorm
        (any image size works, 1x1 included)."""
        m = 2**self.depth
        return max(2 * m, -(-h // m) * m), max(2 * m, -(-w // m) * m)

    def forward(self, z: Tensor) -> Tensor:
        h, w = z.shape[-2:]
        hp, wp = self.padded_size(h, w)
        ph, pw = hp - h, wp - w
        if ph or pw:
            pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
            mode = "reflect" if max(pads[:2]) < w and max(pads[2:]) < h else "replicate"
            z = F.pad(z, pads, mode=mode)
        x = self.head(self.body(z))
        x = x[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]
        return torch.sigmoid(x) if self.sigmoid else x


def make_dip_net(
    name: str,
    img_size: tuple[int, int, int],
    *,
    depth: int | None = None,
    channels: int | None = None,
    upsampling: str = "bilinear",
    **kwargs,
) -> ConvDecoder | SkipNet:
    """``"convdecoder"`` or ``"skip"`` with the given depth/width (``None``: the class default)."""
    opts = dict(kwargs, upsampling=upsampling)
    if depth is not None:
        opts["depth"] = depth
    if channels is not None:
        opts["channels"] = channels
    if name == "convdecoder":
        return ConvDecoder(img_size, **opts)
    if name == "skip":
        return SkipNet(img_size, **opts)
    raise ValueError(f"invalid net={name!r}: expected one of {NET_NAMES}")


def dip_input(net: nn.Module, batch: int = 1, scale: float = 0.1, generator: torch.Generator | None = None) -> Tensor:
    r"""The fixed random input :math:`z \sim \mathcal{U}(0, \text{scale})` of shape ``(batch, *net.input_shape())``
    (uniform noise scaled by 1/10, as in the DIP paper)."""
    shape = (batch, *net.input_shape())
    return torch.rand(shape, generator=generator) * scale
