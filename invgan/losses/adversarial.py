r"""The adversarial term of a GAN and the regularisers of its discriminator.

Given what :math:`D` judges (``step.real``, ``step.fake``, tuples of ``D``'s inputs) and an
objective pair :math:`(\ell_D, \ell_G)` of :mod:`invgan.losses.objectives`:

.. math::

    \mathcal{L}_D = \ell_D\big(D(\text{real}), D(\text{fake}^{\dashv})\big), \qquad
    \mathcal{L}_G^\text{adv} = \ell_G\big(D(\text{fake}), D(\text{real})\big),

where :math:`^{\dashv}` stops the gradient into :math:`G` and :math:`D(\text{real})` enters
:math:`\ell_G` only for relativistic objectives.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from .objectives import GANObjective, get_objective
from .step import GANStep, logit


def _detached(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(t.detach() for t in inputs)


class AdversarialLoss(nn.Module):
    """Both sides of a GAN objective on the step's ``(real, fake)``; each side calls ``D``
    once per input and leaves the outputs on the step (``d_real``, ``d_fake``) for head losses."""

    def __init__(self, objective: str | GANObjective = "ns"):
        super().__init__()
        self.objective = get_objective(objective)

    def discriminator_loss(self, D: nn.Module, s: GANStep) -> tuple[Tensor, dict[str, Tensor]]:
        # One evaluation of D's parametrised weights (spectral norm) for both calls: real and fake
        # are judged by the same D, and the normalisation is differentiated once, not twice.
        with parametrize.cached():
            s.d_real, s.d_fake = D(*s.real), D(*_detached(s.fake))
        real, fake = logit(s.d_real), logit(s.d_fake)
        return self.objective.d(real, fake), {"real_logit": real.detach().mean(), "fake_logit": fake.detach().mean()}

    def forward(self, D: nn.Module, s: GANStep) -> Tensor:
        """The generator side (``D`` is frozen by the trainer in this phase)."""
        with parametrize.cached():
            s.d_real = D(*s.real) if self.objective.needs_real_in_g else None
            s.d_fake = D(*s.fake)
        return self.objective.g(logit(s.d_fake), logit(s.d_real) if s.d_real is not None else None)


def r1_penalty(D: nn.Module, s: GANStep) -> Tensor:
    r"""R1 (Mescheder et al. 2018): :math:`\tfrac{1}{2}\,\mathbb{E}\,\|\nabla_x D(x)\|_2^2` on real
    inputs, the squared gradient norm taken per sample over all of its entries."""
    real = tuple(t.detach().requires_grad_(t.is_floating_point()) for t in s.real)
    out = logit(D(*real))
    grads = torch.autograd.grad(out.sum(), [t for t in real if t.requires_grad], create_graph=True)
    penalty = 0.5 * sum(g.flatten(1).pow(2).sum(1) for g in grads).mean()
    # + 0 * D(x): the output layer's bias has no gradient in the penalty; this term gives every
    # parameter one (zero), which DistributedDataParallel needs to finish its reduction.
    return penalty + 0.0 * out.sum()
