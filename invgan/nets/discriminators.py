r"""Discriminators :math:`D: \mathcal{X}\to\mathbb{R}^{\dots}` returning raw logits.

No sigmoid at the end: the GAN objective owns the link function. Every
discriminator takes ``spectral_norm=True`` to wrap its convolutions and linear
layers in spectral normalisation (Miyato et al. 2018), which then replaces
batch normalisation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .reconstructor import _norm


def _maybe_sn(layer: nn.Module, on: bool) -> nn.Module:
    return _sn(layer) if on else layer


def _check_size(img_size: int, minimum: int = 16) -> int:
    if img_size < minimum or img_size & (img_size - 1):
        raise ValueError(f"invalid img_size={img_size!r}: expected a power of two >= {minimum}")
    return int(math.log2(img_size))


class DCGANDiscriminator(nn.Module):
    r"""DCGAN critic (Radford et al. 2016) for square inputs of any power-of-two size :math:`\ge 16`:
    strided 4×4 convolutions halve the size down to 4×4, then a 4×4 convolution gives one logit
    per image (shape ``(B,)``).

    ``heads={"class": 10}`` adds heads on the shared 4×4 features (a 4×4 convolution to 128
    channels, LeakyReLU, a linear layer): ``D`` then returns ``{"logit": (B,), "class": (B, 10)}``
    (ACGAN's auxiliary classifier, InfoGAN's :math:`Q`).

    ``norm`` is the normalisation after each convolution but the first: ``"batch"`` (DCGAN's; the
    default without spectral normalisation), ``"layer"`` (WGAN-GP's choice: a gradient penalty per
    sample is wrong under batch statistics), ``"none"`` (the default with spectral normalisation)."""

    def __init__(self, in_channels: int = 1, img_size: int = 64, width: int = 64, spectral_norm: bool = False, max_width: int = 512,
                 heads: dict[str, int] | None = None, norm: str | None = None):
        super().__init__()
        n_down = _check_size(img_size) - 2
        norm = norm if norm is not None else ("none" if spectral_norm else "batch")
        layers: list[nn.Module] = []
        cin, cout = in_channels, width
        for k in range(n_down):
            layers.append(_maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=k == 0 or norm == "none"), spectral_norm))
            if k > 0 and norm != "none":
                layers.append(_norm(norm, cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin, cout = cout, min(cout * 2, max_width)
        layers.append(_maybe_sn(nn.Conv2d(cin, 1, 4, 1, 0), spectral_norm))
        self.img_size = img_size
        self.net = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({
            name: nn.Sequential(_maybe_sn(nn.Conv2d(cin, 128, 4, 1, 0), spectral_norm), nn.LeakyReLU(0.2, inplace=True), nn.Flatten(),
                                _maybe_sn(nn.Linear(128, size), spectral_norm))
            for name, size in (heads or {}).items()
        })

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        if x.shape[-1] != self.img_size or x.shape[-2] != self.img_size:
            raise ValueError(f"DCGANDiscriminator built for {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}")
        if not self.heads:
            return self.net(x).flatten()
        features = self.net[:-1](x)
        return {"logit": self.net[-1](features).flatten(), **{k: h(features) for k, h in self.heads.items()}}


class ConditionalDiscriminator(nn.Module):
    r"""A class-conditional critic (CGAN): the label enters as ``n_classes`` constant one-hot
    channels beside the image, :math:`D(x, c) = D_0([x, e_c\mathbf{1}])`, with ``base`` a critic
    :math:`D_0` of ``in_channels + n_classes`` input channels."""

    def __init__(self, base: nn.Module, n_classes: int):
        super().__init__()
        self.base, self.n_classes = base, int(n_classes)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        onehot = nn.functional.one_hot(c.long(), self.n_classes).to(x.dtype)
        return self.base(torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[-2:])], 1))


class MLPDiscriminator(nn.Module):
    r"""Fully connected critic (the vanilla GAN of Goodfellow et al. 2014) for inputs of any
    shape with ``in_features`` entries (flattened images, or measurement vectors
    :math:`y\in\mathbb{R}^m`): LeakyReLU hidden layers (with ``dropout`` after each, as the
    original GAN's discriminator had), one logit per sample."""

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (256, 256), spectral_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        if in_features < 1 or not hidden or min(hidden) < 1:
            raise ValueError(f"invalid MLPDiscriminator(in_features={in_features!r}, hidden={hidden!r}): expected positive sizes")
        layers: list[nn.Module] = []
        cin = in_features
        for h in hidden:
            layers += [_maybe_sn(nn.Linear(cin, h), spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            cin = h
        layers.append(_maybe_sn(nn.Linear(cin, 1), spectral_norm))
        self.in_features = in_features
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x[0].numel() != self.in_features:
            raise ValueError(f"MLPDiscriminator built for {self.in_features} features per sample, got {tuple(x.shape[1:])}")
        return self.net(x.flatten(1)).flatten()


class PatchGANDiscriminator(nn.Module):
    r"""PatchGAN (Isola et al. 2017): a fully convolutional critic giving one logit per
    overlapping patch, shape ``(B, 1, h, w)``; its receptive field grows with ``n_layers``."""

    def __init__(self, in_channels: int = 1, width: int = 64, n_layers: int = 3, norm: str = "batch", spectral_norm: bool = False):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"invalid n_layers={n_layers!r}: expected >= 1")
        norm = "none" if spectral_norm else norm
        layers: list[nn.Module] = [_maybe_sn(nn.Conv2d(in_channels, width, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
        cin = width
        for k in range(1, n_layers + 1):
            cout = width * min(2**k, 8)
            stride = 2 if k < n_layers else 1
            layers += [_maybe_sn(nn.Conv2d(cin, cout, 4, stride, 1, bias=norm == "none"), spectral_norm), _norm(norm, cout), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        layers.append(_maybe_sn(nn.Conv2d(cin, 1, 4, 1, 1), spectral_norm))
        self.net = nn.Sequential(*layers)
        self.min_size = 3 * 2**n_layers

    def forward(self, x: Tensor) -> Tensor:
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"PatchGANDiscriminator with {len(self.net) // 3 - 1} layers needs inputs of at least {self.min_size}x{self.min_size}, got {tuple(x.shape[-2:])}")
        return self.net(x)


class ESRGANDiscriminator(nn.Module):
    r"""VGG-style critic of ESRGAN (Wang et al. 2018): blocks of a 3×3 and a strided 4×4
    convolution with batch norm and LeakyReLU, then two linear layers to one logit per image.
    Works for any power-of-two input :math:`\ge 16` (the features are pooled to 4×4)."""

    def __init__(self, in_channels: int = 1, img_size: int = 128, width: int = 64, n_blocks: int | None = None, spectral_norm: bool = False):
        super().__init__()
        max_blocks = _check_size(img_size) - 2
        n_blocks = min(5, max_blocks) if n_blocks is None else n_blocks
        if not 1 <= n_blocks <= max_blocks:
            raise ValueError(f"invalid n_blocks={n_blocks!r}: expected 1..{max_blocks} for img_size {img_size}")
        layers: list[nn.Module] = []
        cin = in_channels
        for k in range(n_blocks):
            cout = width * min(2**k, 8)
            bn = (lambda c: nn.Identity()) if spectral_norm else nn.BatchNorm2d
            layers += [
                _maybe_sn(nn.Conv2d(cin, cout, 3, 1, 1, bias=k == 0 or spectral_norm), spectral_norm),
                bn(cout) if k > 0 else nn.Identity(), nn.LeakyReLU(0.2, inplace=True),
                _maybe_sn(nn.Conv2d(cout, cout, 4, 2, 1, bias=spectral_norm), spectral_norm), bn(cout), nn.LeakyReLU(0.2, inplace=True),
            ]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4))
        self.classifier = nn.Sequential(
            _maybe_sn(nn.Linear(cin * 16, 100), spectral_norm), nn.LeakyReLU(0.2, inplace=True), _maybe_sn(nn.Linear(100, 1), spectral_norm)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1)).flatten()


DISCRIMINATORS = {"dcgan": DCGANDiscriminator, "patchgan": PatchGANDiscriminator, "esrgan": ESRGANDiscriminator}


def make_discriminator(kind: str, in_channels: int, img_size: int, width: int = 64, spectral_norm: bool = False, **kwargs) -> nn.Module:
    """A discriminator by name: ``"dcgan"``, ``"patchgan"`` or ``"esrgan"``.

    :Example:

    >>> import torch
    >>> from invgan.nets import make_discriminator
    >>> D = make_discriminator("dcgan", 1, 32, width=8)
    >>> tuple(D(torch.rand(3, 1, 32, 32)).shape)
    (3,)
    >>> P = make_discriminator("patchgan", 1, 32, width=4, n_layers=2)
    >>> P(torch.rand(3, 1, 32, 32)).dim()
    4
    """
    if kind not in DISCRIMINATORS:
        raise ValueError(f"unknown discriminator {kind!r}: expected one of {tuple(DISCRIMINATORS)}")
    if kind == "patchgan":
        return PatchGANDiscriminator(in_channels, width=width, spectral_norm=spectral_norm, **kwargs)
    return DISCRIMINATORS[kind](in_channels, img_size=img_size, width=width, spectral_norm=spectral_norm, **kwargs)


def padded_dcgan_discriminator(in_channels: int, size: int, width: int = 32, spectral_norm: bool = False,
                               heads: dict[str, int] | None = None, norm: str | None = None) -> nn.Module:
    r"""The DCGAN discriminator behind zero padding to the next power of two :math:`\ge 16`
    (MNIST's 28×28 images and measurements are seen as 32×32)."""
    target = max(16, 1 << (size - 1).bit_length())
    D = make_discriminator("dcgan", in_channels, target, width=width, spectral_norm=spectral_norm, heads=heads, norm=norm)
    if target == size:
        return D
    lo = (target - size) // 2
    return nn.Sequential(nn.ZeroPad2d((lo, target - size - lo, lo, target - size - lo)), D)
