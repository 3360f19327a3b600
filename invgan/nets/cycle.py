r"""CycleGAN's networks (Zhu et al. 2017) packed as one ``"G"`` and one ``"D"`` network.

Two generators, :math:`G_c: \mathcal{Y}\to\mathcal{X}` (measured to clean) and
:math:`G_m: \mathcal{X}\to\mathcal{Y}` (clean to measured), and two critics, :math:`D_c` on clean
images and :math:`D_m` on measurements. Packed as :class:`CycleGenerators` and
:class:`PairedCritics`, they are trained by the one trainer with its two optimisers, EMA copies
and checkpoints unchanged; the deployed reconstructor is ``G(y, physics)`` :math:`= G_c(y)`
(deepinv's ``model(y, physics)`` convention; :math:`G_c` does not use the operator).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .reconstructor import UNet

#: the two directions of :class:`CycleGenerators`
TO_CLEAN, TO_MEASURED = "to_clean", "to_measured"


class ResidualUNet(nn.Module):
    r"""Image-to-image :math:`t \mapsto t + U(t)` with a U-Net :math:`U`.

    ``zero_init=True`` zeroes :math:`U`'s output layer, so training starts from the exact identity.
    That is a trap for CycleGAN (measured in docs/cyclegan.md): at a zero residual the
    :math:`\ell_1` cycle and identity losses have a subgradient that outweighs the adversarial pull,
    and both generators stay the identity. The default keeps PyTorch's initialisation: the
    identity plus a small random residual.

    :Example:

    >>> import torch
    >>> from invgan.nets.cycle import ResidualUNet
    >>> t = torch.rand(1, 1, 8, 8)
    >>> torch.equal(ResidualUNet(1, width=4, depth=2, zero_init=True)(t), t)
    True
    """

    def __init__(self, channels: int = 1, width: int = 16, depth: int = 3, norm: str = "none", zero_init: bool = False):
        super().__init__()
        self.unet = UNet(channels, channels, width=width, depth=depth, norm=norm)
        if zero_init:
            nn.init.zeros_(self.unet.out.weight)
            nn.init.zeros_(self.unet.out.bias)

    def forward(self, t: Tensor) -> Tensor:
        return t + self.unet(t)


class CycleGenerators(nn.Module):
    r"""CycleGAN's generator pair as one network.

    ``G(y, physics)`` is :math:`G_c(y)`, the reconstructor (the operator is ignored: CycleGAN
    learns the inverse map from unpaired examples alone); ``G(x, direction="to_measured")`` is
    :math:`G_m(x)`. Every call goes through ``forward``, so the pair works inside wrappers that
    only expose it (data-parallel training).

    :Example:

    >>> import torch
    >>> from invgan.nets.cycle import CycleGenerators, ResidualUNet
    >>> G = CycleGenerators(ResidualUNet(1, width=4, depth=2), ResidualUNet(1, width=4, depth=2))
    >>> y = torch.rand(2, 1, 16, 16)
    >>> tuple(G(y, None).shape), tuple(G(y, direction="to_measured").shape)
    ((2, 1, 16, 16), (2, 1, 16, 16))
    """

    def __init__(self, to_clean: nn.Module, to_measured: nn.Module):
        super().__init__()
        self.to_clean, self.to_measured = to_clean, to_measured

    def forward(self, t: Tensor, physics: Any = None, direction: str = TO_CLEAN) -> Tensor:
        if direction == TO_CLEAN:
            return self.to_clean(t)
        if direction == TO_MEASURED:
            return self.to_measured(t)
        raise ValueError(f"invalid direction={direction!r}: expected {TO_CLEAN!r} (G_c, measured to clean) or "
                         f"{TO_MEASURED!r} (G_m, clean to measured)")


class PairedCritics(nn.Module):
    r"""CycleGAN's two critics as one network: ``D(a, b)`` returns
    :math:`[D_c(a), D_m(b)]`, each critic's logits flattened per sample and concatenated, shape
    ``(B, 2n)``. Both critics must give the same number :math:`n` of logits per sample, so that an
    objective averaged over the concatenation is the mean of the two critics' objectives:
    :math:`\tfrac12(\ell(D_c) + \ell(D_m))`."""

    def __init__(self, clean: nn.Module, measured: nn.Module):
        super().__init__()
        self.clean, self.measured = clean, measured

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        la, lb = self.clean(a).flatten(1), self.measured(b).flatten(1)
        if la.shape != lb.shape:
            raise ValueError(f"the clean-image critic gives {tuple(la.shape[1:])} logits per sample and the measurement "
                             f"critic {tuple(lb.shape[1:])}: expected the same number, so that both count equally "
                             "(give both critics the same architecture and equal-sized inputs)")
        return torch.cat([la, lb], dim=1)
