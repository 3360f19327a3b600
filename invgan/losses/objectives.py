r"""GAN objectives as small pure functions of discriminator logits.

Every objective is a pair ``d(real, fake)`` (minimised by the discriminator) and
``g(fake, real)`` (minimised by the generator), where ``real`` and ``fake`` are raw
logits :math:`D(x)` and :math:`D(\hat x)` (no sigmoid: the objective owns the link
function). ``real`` is ``None`` in ``g`` unless the objective is relativistic.
Pick one by name with :func:`get_objective`; add one with :func:`register_objective`.

Names: ``ns`` (non-saturating), ``minimax`` (saturating), ``maxlik`` (maximum likelihood),
``lsgan``, ``wgan`` (for WGAN and WGAN-GP: the Lipschitz constraint is a regulariser),
``hinge``, ``rsgan``, ``ragan``, ``ralsgan`` (relativistic) and ``fgan-kl``, ``fgan-reverse-kl``,
``fgan-js``, ``fgan-pearson``, ``fgan-hellinger`` (f-GAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import torch
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


#: the objective of a conditional run when none is named: least squares (Mao et al. 2017)
CONDITIONAL_OBJECTIVE = "lsgan"
#: the objective of an unconditional run when none is named: the non-saturating loss (Goodfellow et al. 2014)
UNCONDITIONAL_OBJECTIVE = "ns"

OBJECTIVES: dict[str, GANObjective] = {}


def register_objective(name: str, d: DLoss, g: GLoss, needs_real_in_g: bool = False) -> GANObjective:
    r"""Add an objective pair :math:`(\ell_D, \ell_G)` under ``name`` (``needs_real_in_g``: :math:`\ell_G`
    also reads :math:`D(x)`, as relativistic objectives do) and return it."""
    obj = GANObjective(name, d, g, needs_real_in_g)
    OBJECTIVES[name] = obj
    return obj


def get_objective(name: str | GANObjective) -> GANObjective:
    """The registered objective ``name`` (an objective given as such is returned as is).

    :Example:

    >>> import torch
    >>> from invgan.losses.objectives import get_objective
    >>> ns = get_objective("ns")
    >>> real, fake = torch.tensor([2.0, 0.0]), torch.tensor([1.0, -1.0])
    >>> round(float(ns.d(real, fake)), 4), round(float(ns.g(fake)), 4)
    (1.2233, 0.8133)
    >>> get_objective("rsgan").needs_real_in_g
    True
    """
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


def g_maximum_likelihood(fake: Tensor, real: Tensor | None = None) -> Tensor:
    r"""Goodfellow's maximum-likelihood generator loss (NIPS 2016 tutorial, eq. 15; Goodfellow 2014,
    "On distinguishability criteria"): :math:`-\tfrac12\mathbb{E}\exp\big(\sigma^{-1}(D(\hat x))\big)
    = -\tfrac12\mathbb{E}\,e^{D(\hat x)}` on logits; with an optimal ``D`` its gradient is that of
    :math:`\mathrm{KL}(p_\text{data}\,\|\,p_G)`."""
    return -0.5 * fake.exp().mean()


# --- least squares (Mao et al. 2017) ------------------------------------------------
def d_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    r""":math:`\tfrac12\mathbb{E}(D(x)-1)^2 + \tfrac12\mathbb{E}D(\hat x)^2`.

    :Example:

    >>> import torch
    >>> from invgan.losses.objectives import d_lsgan, g_lsgan
    >>> float(d_lsgan(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))), float(g_lsgan(torch.tensor([1.0])))
    (0.5, 0.0)
    """
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
    r""":math:`\mathbb{E}\max(0, 1-D(x)) + \mathbb{E}\max(0, 1+D(\hat x))`.

    :Example:

    >>> import torch
    >>> from invgan.losses.objectives import d_hinge
    >>> float(d_hinge(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])))
    0.75
    """
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


# --- relativistic (Jolicoeur-Martineau 2019) -------------------------------------
def d_relativistic(real: Tensor, fake: Tensor) -> Tensor:
    r"""RSGAN: :math:`\mathbb{E}_{x,\hat x}\,\mathrm{softplus}\big(-(D(x) - D(\hat x))\big)
    = -\mathbb{E}\log\sigma(D(x) - D(\hat x))` over the pairs of the batch (sample :math:`i` with :math:`i`)."""
    return F.softplus(fake - real).mean()


def g_relativistic(fake: Tensor, real: Tensor | None) -> Tensor:
    r"""RSGAN: :math:`-\mathbb{E}\log\sigma(D(\hat x) - D(x))`; the gradient reaches ``G`` through
    :math:`D(\hat x)` while :math:`D(x)` sets the reference (so ``D`` is run on real data in ``G``'s step)."""
    return F.softplus(real - fake).mean()


def d_relativistic_average(real: Tensor, fake: Tensor) -> Tensor:
    r"""RaGAN: :math:`-\mathbb{E}_x\log\sigma\big(D(x) - \bar D(\hat x)\big)
    - \mathbb{E}_{\hat x}\log\big(1-\sigma(D(\hat x) - \bar D(x))\big)`, with :math:`\bar D` the batch mean."""
    return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()


def g_relativistic_average(fake: Tensor, real: Tensor | None) -> Tensor:
    r"""RaGAN, both terms (the real term carries gradient to ``G`` through :math:`\bar D(\hat x)`):
    :math:`-\mathbb{E}_{\hat x}\log\sigma\big(D(\hat x) - \bar D(x)\big) - \mathbb{E}_x\log\big(1-\sigma(D(x) - \bar D(\hat x))\big)`."""
    return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()


def d_relativistic_average_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    r"""RaLSGAN: :math:`\mathbb{E}_x(D(x) - \bar D(\hat x) - 1)^2 + \mathbb{E}_{\hat x}(D(\hat x) - \bar D(x) + 1)^2`."""
    return (real - fake.mean() - 1).pow(2).mean() + (fake - real.mean() + 1).pow(2).mean()


def g_relativistic_average_lsgan(fake: Tensor, real: Tensor | None) -> Tensor:
    r"""RaLSGAN, both terms: :math:`\mathbb{E}_{\hat x}(D(\hat x) - \bar D(x) - 1)^2 + \mathbb{E}_x(D(x) - \bar D(\hat x) + 1)^2`."""
    return (fake - real.mean() - 1).pow(2).mean() + (real - fake.mean() + 1).pow(2).mean()


# --- f-GAN (Nowozin et al. 2016) ----------------------------------------------------------
@dataclass(frozen=True)
class FDivergence:
    r"""An f-divergence of f-GAN (Nowozin et al. 2016, table 6): ``D``'s output :math:`v` goes through
    the output activation :math:`T = g_f(v)` into the variational bound
    :math:`D_f(P\|Q) \ge \mathbb{E}_P[T(x)] - \mathbb{E}_Q[f^*(T(\hat x))]` with :math:`f^*` the
    Fenchel conjugate of :math:`f`. ``conjugate_of_activation`` is :math:`f^*(g_f(v))` in a
    numerically stable closed form."""

    name: str
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        r"""``D`` maximises the bound: :math:`-\mathbb{E}_P[g_f(v(x))] + \mathbb{E}_Q[f^*(g_f(v(\hat x)))]`."""
        return -self.activation(real).mean() + self.conjugate_of_activation(fake).mean()

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        r"""The paper's practical generator loss (section 3.2): maximise :math:`\mathbb{E}_Q[g_f(v(\hat x))]`."""
        return -self.activation(fake).mean()


LOG2 = math.log(2.0)
F_DIVERGENCES: dict[str, FDivergence] = {
    d.name: d
    for d in (
        # KL: g_f(v) = v, f*(t) = exp(t - 1)
        FDivergence("kl", lambda v: v, lambda t: torch.exp(t - 1), lambda v: torch.exp(v - 1)),
        # reverse KL: g_f(v) = -exp(-v), f*(t) = -1 - log(-t)
        FDivergence("reverse-kl", lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t), lambda v: v - 1),
        # Jensen-Shannon: g_f(v) = log 2 - log(1 + exp(-v)), f*(t) = -log(2 - exp(t))
        FDivergence("js", lambda v: LOG2 - F.softplus(-v), lambda t: -torch.log(2 - torch.exp(t)), lambda v: F.softplus(v) - LOG2),
        # Pearson chi^2: g_f(v) = v, f*(t) = t^2/4 + t
        FDivergence("pearson", lambda v: v, lambda t: t * t / 4 + t, lambda v: v * v / 4 + v),
        # squared Hellinger: g_f(v) = 1 - exp(-v), f*(t) = t / (1 - t)
        FDivergence("hellinger", lambda v: 1 - torch.exp(-v), lambda t: t / (1 - t), lambda v: torch.expm1(v)),
    )
}


register_objective("ns", d_bce, g_nonsaturating)
register_objective("minimax", d_bce, g_minimax)
register_objective("lsgan", d_lsgan, g_lsgan)
register_objective("wgan", d_wasserstein, g_wasserstein)
register_objective("hinge", d_hinge, g_wasserstein)
register_objective("maxlik", d_bce, g_maximum_likelihood)
register_objective("rsgan", d_relativistic, g_relativistic, needs_real_in_g=True)
register_objective("ragan", d_relativistic_average, g_relativistic_average, needs_real_in_g=True)
register_objective("ralsgan", d_relativistic_average_lsgan, g_relativistic_average_lsgan, needs_real_in_g=True)
for _div in F_DIVERGENCES.values():
    register_objective(f"fgan-{_div.name}", _div.d, _div.g)
