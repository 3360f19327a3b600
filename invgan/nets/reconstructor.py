r"""Conditional reconstructor :math:`\hat x = R(y, A, z) = x_0 + U([x_0, z])`, :math:`x_0 = L_A(y)`.

:math:`L_A` lifts the measurement to image space (:math:`A^\top y`, :math:`A^\dagger y`,
a Tikhonov solution, or the operator's classical estimate: biharmonic inpainting, Wiener
deconvolution, bicubic upsampling); a U-Net :math:`U` predicts the residual. Optional latent
channels :math:`z\sim\mathcal{N}(0, I)` let several draws give several plausible
reconstructions. The call follows deepinv's ``model(y, physics)`` convention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..classical import classical_estimate
from ..physics import CONSISTENCIES, GUIDES, LIFTS, enforce_consistency, guide, lift
from .posterior import PosteriorSamples, check_sample_count


#: the reconstructor's inputs: :data:`invgan.physics.LIFTS` and ``"classical"``
#: (:func:`invgan.classical.classical_estimate`: biharmonic inpainting, Wiener deconvolution, bicubic)
RECONSTRUCTOR_LIFTS = (*LIFTS, "classical")


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"invalid norm={kind!r}: expected 'batch', 'instance', 'group', 'layer' or 'none'")


class ConvBlock(nn.Sequential):
    """Two 3×3 convolutions, each followed by a norm and a LeakyReLU."""

    def __init__(self, cin: int, cout: int, norm: str = "none"):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1), _norm(norm, cout), _act(),
            nn.Conv2d(cout, cout, 3, padding=1), _norm(norm, cout), _act(),
        )


class UNet(nn.Module):
    r"""A U-Net of ``depth`` scales; widths ``width·2^k`` (capped at ``8·width``).
    Any input size: the input is reflect-padded to a multiple of :math:`2^{\text{depth}-1}` and
    the output cropped back.

    :Example:

    >>> import torch
    >>> from invgan.nets import UNet
    >>> tuple(UNet(1, 1, width=4, depth=2)(torch.rand(1, 1, 20, 28)).shape)
    (1, 1, 20, 28)
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, depth: int = 3, norm: str = "none"):
        super().__init__()
        if depth < 1:
            raise ValueError(f"invalid depth={depth!r}: expected >= 1")
        if width < 1:
            raise ValueError(f"invalid width={width!r}: expected >= 1")
        widths = [width * min(2**k, 8) for k in range(depth)]
        self.depth = depth
        self.inc = ConvBlock(in_channels, widths[0], norm)
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[k], widths[k], 3, stride=2, padding=1), _act(), ConvBlock(widths[k], widths[k + 1], norm))
            for k in range(depth - 1)
        )
        self.up = nn.ModuleList(nn.Conv2d(widths[k + 1], widths[k], 3, padding=1) for k in reversed(range(depth - 1)))
        self.dec = nn.ModuleList(ConvBlock(2 * widths[k], widths[k], norm) for k in reversed(range(depth - 1)))
        self.out = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        mult = 2 ** (self.depth - 1)
        ph, pw = (-h) % mult, (-w) % mult
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        u = skips.pop()
        for up, dec in zip(self.up, self.dec):
            skip = skips.pop()
            u = F.interpolate(u, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            u = dec(torch.cat([up(u), skip], dim=1))
        return self.out(u)[..., :h, :w]


class ConditionalReconstructor(nn.Module):
    r"""The cGAN generator :math:`R(y, A, z) = L_A(y) + U([L_A(y), z])`.

    :param channels: image channels.
    :param lift: ``"adjoint"`` (:math:`A^\top y`), ``"pinv"`` (:math:`A^\dagger y`),
        ``"tikhonov"`` (:math:`(A^\top A+\gamma I)^{-1}A^\top y`) or ``"classical"``
        (:func:`~invgan.classical.classical_estimate`, computed without gradients).
    :param gamma: Tikhonov weight for ``lift="tikhonov"``.
    :param latent_channels: number of noise channels :math:`z` (0: deterministic).
    :param latent_scale: :math:`z` is drawn on a grid ``latent_scale`` times coarser than the image
        (:math:`\lceil H/s\rceil \times \lceil W/s\rceil`) and upsampled bilinearly, so that the draws
        differ by structures of that size rather than by a per-pixel grain (1: a value per pixel).
    :param guide: extra input channels of the U-Net beside the lift (:func:`~invgan.physics.guide`):
        ``"none"``, ``"adjoint"`` (:math:`A^\top y`) or ``"coverage"`` (:math:`A^\top A\mathbf 1`, the mask
        of inpainting).
    :param consistency: what is done to the output with the measurement
        (:func:`~invgan.physics.enforce_consistency`): ``"none"``, ``"project"``
        (:math:`\hat x + A^\dagger(y - A\hat x)`: for inpainting, the measured pixels are those of :math:`y`)
        or ``"wiener"`` (part of the way, by the noise level).

    :Example:

    >>> import torch
    >>> from invgan.nets import ConditionalReconstructor
    >>> from invgan.physics import make_physics
    >>> model = make_physics("blur", (1, 16, 16), sigma=1.0, kernel_size=5, noise="none")
    >>> R = ConditionalReconstructor(1, width=4, depth=2)
    >>> y = model.measure(torch.rand(2, 1, 16, 16))
    >>> tuple(R(y, model.physics).shape)
    (2, 1, 16, 16)
    """

    def __init__(
        self, channels: int = 1, width: int = 32, depth: int = 3, lift: str = "adjoint", gamma: float = 0.05,
        latent_channels: int = 0, norm: str = "none", guide: str = "none", consistency: str = "none",
        latent_scale: int = 1,
    ):
        super().__init__()
        if lift not in RECONSTRUCTOR_LIFTS:
            raise ValueError(f"invalid lift={lift!r}: expected one of {RECONSTRUCTOR_LIFTS}")
        if latent_channels < 0:
            raise ValueError(f"invalid latent_channels={latent_channels!r}: expected >= 0")
        if latent_scale < 1:
            raise ValueError(f"invalid latent_scale={latent_scale!r}: expected an integer >= 1")
        self.latent_scale = latent_scale
        if guide not in GUIDES:
            raise ValueError(f"invalid guide={guide!r}: expected one of {GUIDES}")
        self.channels, self.lift_mode, self.gamma, self.latent_channels = channels, lift, gamma, latent_channels
        if consistency not in CONSISTENCIES:
            raise ValueError(f"invalid consistency={consistency!r}: expected one of {CONSISTENCIES}")
        self.guide_mode, self.consistency = guide, consistency
        guide_channels = 0 if guide == "none" else channels
        self.unet = UNet(channels + guide_channels + latent_channels, channels, width=width, depth=depth, norm=norm)
        # Zero residual at initialisation: training starts from the lifted estimate itself.
        nn.init.zeros_(self.unet.out.weight)
        nn.init.zeros_(self.unet.out.bias)

    def lift(self, y: Tensor, physics: nn.Module) -> Tensor:
        if self.lift_mode == "classical":
            return classical_estimate(y, physics)
        return lift(physics, y, self.lift_mode, self.gamma)

    def forward(self, y: Tensor, physics: nn.Module, z: Tensor | None = None) -> Tensor:
        x0 = self.lift(y, physics)
        if x0.shape[1] != self.channels:
            raise ValueError(f"the operator gives {x0.shape[1]}-channel images, the reconstructor expects {self.channels}")
        inp = x0
        extra = guide(physics, y, self.guide_mode)
        if extra is not None:
            inp = torch.cat([inp, extra.to(x0)], dim=1)
        if self.latent_channels:
            if z is None:
                z = self.draw_latent(x0)
            if z.shape[-2:] != x0.shape[-2:]:  # a coarse z: upsampled to the image grid
                z = F.interpolate(z.to(x0), size=x0.shape[-2:], mode="bilinear", align_corners=False)
            inp = torch.cat([inp, z.to(x0)], dim=1)
        return enforce_consistency(physics, x0 + self.unet(inp), y, self.consistency)

    def draw_latent(self, x0: Tensor) -> Tensor:
        r""":math:`z \sim \mathcal{N}(0, I)` for a batch shaped like ``x0``, on the grid of ``latent_scale``
        (from torch's global generator)."""
        h, w = (-(-n // self.latent_scale) for n in x0.shape[-2:])
        return torch.randn(x0.shape[0], self.latent_channels, h, w, device=x0.device, dtype=x0.dtype)

    @torch.no_grad()
    def sample(self, y: Tensor, physics: nn.Module, k: int) -> PosteriorSamples:
        r""":math:`K` reconstructions :math:`\hat x_k = R(y, A, z_k)`, :math:`z_k \sim \mathcal{N}(0, I)`
        independent (drawn from torch's global generator), with their mean and per-pixel std
        (:class:`~invgan.nets.PosteriorSamples`); without gradients, in the network's current mode.

        :Example:

        >>> import torch
        >>> from invgan.nets import ConditionalReconstructor
        >>> from invgan.physics import make_physics
        >>> model = make_physics("blur", (1, 16, 16), sigma=1.0, kernel_size=5, noise="none")
        >>> R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=1)
        >>> p = R.sample(model.measure(torch.rand(2, 1, 16, 16)), model.physics, 3)
        >>> tuple(p.samples.shape), tuple(p.std.shape)
        ((2, 3, 1, 16, 16), (2, 1, 16, 16))
        """
        check_sample_count(k)
        if not self.latent_channels:
            raise ValueError("this reconstructor is deterministic (latent_channels=0): every sample would be the same; "
                             "train one with model.latent_channels > 0 (e.g. the rcgan-deblur preset)")
        return PosteriorSamples.from_samples(torch.stack([self(y, physics) for _ in range(k)], 1))
