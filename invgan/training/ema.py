r"""EMA copies of networks: :math:`\bar\theta \leftarrow \beta\bar\theta + (1-\beta)\theta` after each
update of a network, with a warm-up of :math:`\beta`, on ``torch.optim.swa_utils.AveragedModel``
(buffers averaged too: BatchNorm's running statistics). Copies that hold spectral norms
power-iterate on their own averaged weights after each update (:mod:`invgan.nets.spectral`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from ..nets.spectral import has_spectral_norms, power_iterate

if TYPE_CHECKING:
    from .recipe import Recipe

__all__ = ["EMAWithWarmup", "ema_decays", "make_ema", "update_ema"]


class EMAWithWarmup:
    r"""EMA update :math:`\bar\theta \leftarrow \beta_n\bar\theta + (1-\beta_n)\theta` with the warm-up
    :math:`\beta_n = \min(\beta, \tfrac{1+n}{10+n})` after :math:`n` updates, so early evaluations are
    not dominated by the initial weights. (A multi-tensor ``multi_avg_fn`` of ``AveragedModel``.)"""

    def __init__(self, decay: float):
        self.decay = decay

    @torch.no_grad()
    def __call__(self, ema: list[Tensor], current: list[Tensor], num_averaged: Tensor | int) -> None:
        if not ema[0].is_floating_point():  # integer buffers (BatchNorm's step counter) are copied
            torch._foreach_copy_(ema, current)
            return
        n = int(num_averaged)  # AveragedModel itself already reads this counter on the host
        beta = min(self.decay, (1 + n) / (10 + n))
        torch._foreach_lerp_(ema, current, 1.0 - beta)


def ema_decays(ema: float | Mapping[str, float], recipe: Recipe) -> dict[str, float]:
    """``{network key: decay}`` of the EMA copies to keep: a number is the decay of the recipe's
    ``generator_key`` (0: none); a mapping names its networks."""
    decays = dict(ema) if isinstance(ema, Mapping) else ({recipe.generator_key: ema} if ema > 0 else {})
    for key, decay in decays.items():
        if key not in recipe.networks:
            raise ValueError(f"ema names network {key!r}, but the recipe has {sorted(recipe.networks)}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"invalid ema={decay!r} for {key!r}: expected a decay in [0, 1)")
    return decays


def make_ema(network: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``network`` with ``decay`` (and the warm-up of :class:`EMAWithWarmup`)."""
    ema = AveragedModel(network, multi_avg_fn=EMAWithWarmup(decay), use_buffers=True)
    ema.has_spectral_norms = has_spectral_norms(ema.module)
    return ema


def update_ema(ema: AveragedModel, network: nn.Module) -> None:
    """Average ``network``'s current weights and buffers into ``ema``; then one power iteration of
    each of the copy's spectral norms on its own weights, whose averaged vectors :math:`u, v`
    would otherwise shrink and inflate the copy's weights."""
    ema.update_parameters(network)
    if getattr(ema, "has_spectral_norms", True):
        power_iterate(ema.module)
