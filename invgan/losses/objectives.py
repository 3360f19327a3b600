r"""GAN objectives as small pure functions of discriminator logits.

Every objective is a pair ``d(real, fake)`` (minimised by the discriminator) and
``g(fake, real)`` (minimised by the generator), where ``real`` and ``fake`` are raw
logits :math:`D(x)` and :math:`D(\hat x)` (no sigmoid: the objective owns the link
function). ``real`` is ``None`` in ``g`` unless the objective is relativistic.
Pick one by name with :func:`get_objective`; add one with :func:`register_objective`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor

DLoss = Callable[[Tensor, Tensor], Tensor]
GLoss = Callable[[Tensor, "Tensor | None"], Tensor]


@dataclass(frozen=True)
class GANObjective:
    name: str
    d: DLoss
    g: GLoss
    #: the generator loss needs :math:`D(x)` too (relativistic objectives)
    needs_real_in_g: bool = False


OBJECTIVES: dict[str, GANObjective] = {}


def register_objective(name: str, d: DLoss, g: GLoss, needs_real_in_g: bool = False) -> GANObjective:
    obj = GANObjective(name, d, g, needs_real_in_g)
    OBJECTIVES[name] = obj
    return obj


def get_objective(name: str | GANObjective) -> GANObjective:
    if isinstance(name, GANObjective):
        return name
    if name not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}: expected one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


# --- non-saturating / vanilla (Goodfellow et al. 2014) ------------------------------
def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    r""":math:`-\mathbb{E}\log\sigma(D(x)) - \mathbb{E}\log(1-\sigma(D(\hat x)))
    = \mathbb{E}\,\mathrm{softplus}(-D(x)) + \mathbb{E}\,\mathrm{softplus}(D(\hat x))`."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor, real: Tensor | None = None) -> Tensor:
    r""":math:`-\mathbb{E}\log\sigma(D(\hat x)) = \mathbb{E}\,\mathrm{softplus}(-D(\hat x))`."""
    return F.softplus(-fake).mean()


def g_minimax(fake: Tensor, real: Tensor | None = None) -> Tensor:
    r"""The original saturating loss :math:`\mathbb{E}\log(1-\sigma(D(\hat x))) = -\mathbb{E}\,\mathrm{softplus}(D(\hat x))`."""
    return -F.softplus(fake).mean()


# --- least squares (Mao et al. 2017) ------------------------------------------------
def d_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    r""":math:`\tfrac12\mathbb{E}(D(x)-1)^2 + \tfrac12\mathbb{E}D(\hat x)^2`."""
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def g_lsgan(fake: Tensor, real: Tensor | None = None) -> Tensor:
    r""":math:`\tfrac12\mathbb{E}(D(\hat x)-1)^2`."""
    return 0.5 * (fake - 1).pow(2).mean()


# --- Wasserstein (Arjovsky et al. 2017) and hinge (Lim & Ye 2017) -------------------
def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    r""":math:`\mathbb{E}D(\hat x) - \mathbb{E}D(x)` (the critic's Lipschitz constraint is a
    separate regulariser: weight clipping or gradient penalty)."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor, real: Tensor | None = None) -> Tensor:
    r""":math:`-\mathbb{E}D(\hat x)` (also the generator loss of the hinge objective)."""
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    r""":math:`\mathbb{E}\max(0, 1-D(x)) + \mathbb{E}\max(0, 1+D(\hat x))`."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


register_objective("ns", d_bce, g_nonsaturating)
register_objective("minimax", d_bce, g_minimax)
register_objective("lsgan", d_lsgan, g_lsgan)
register_objective("wgan", d_wasserstein, g_wasserstein)
register_objective("hinge", d_hinge, g_wasserstein)
