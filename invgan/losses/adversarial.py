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

from torch import Tensor, nn
from torch.nn.utils import parametrize

from .objectives import UNCONDITIONAL_OBJECTIVE, GANObjective, get_objective
from .step import GANStep, logit


def _detached(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(t.detach() for t in inputs)


class AdversarialLoss(nn.Module):
    """Both sides of a GAN objective on the step's ``(real, fake)``; each side calls ``D``
    once per input and leaves the outputs on the step (``d_real``, ``d_fake``) for head losses.

    :Example:

    >>> import torch
    >>> from torch import nn
    >>> from invgan.losses import GANStep
    >>> from invgan.losses.adversarial import AdversarialLoss
    >>> D = nn.Identity()
    >>> s = GANStep(x_hat=torch.zeros(2), real=(torch.tensor([1.0, 1.0]),), fake=(torch.tensor([-1.0, -1.0]),))
    >>> loss, logs = AdversarialLoss("hinge").discriminator_loss(D, s)
    >>> float(loss), float(logs["real_logit"]), float(logs["fake_logit"])
    (0.0, 1.0, -1.0)
    >>> float(AdversarialLoss("hinge")(D, s))
    1.0
    """

    def __init__(self, objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE):
        super().__init__()
        self.objective = get_objective(objective)

    def discriminator_loss(self, D: nn.Module, s: GANStep, fake: tuple[Tensor, ...] | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``D``'s side on ``s.real`` and the detached ``s.fake``, or on ``fake`` when given (what the
        view shows ``D`` in its phase, e.g. fakes from a history pool; already without gradient)."""
        fake = _detached(s.fake) if fake is None else fake
        # One evaluation of D's parametrised weights (spectral norm) for both calls: real and fake
        # are judged by the same D, and the normalisation is differentiated once, not twice.
        with parametrize.cached():
            s.d_real, s.d_fake = D(*s.real), D(*fake)
        real, fake = logit(s.d_real), logit(s.d_fake)
        return self.objective.d(real, fake), {"real_logit": real.detach().mean(), "fake_logit": fake.detach().mean()}

    def forward(self, D: nn.Module, s: GANStep) -> Tensor:
        """The generator side (``D`` is frozen by the trainer in this phase)."""
        with parametrize.cached():
            s.d_real = D(*s.real) if self.objective.needs_real_in_g else None
            s.d_fake = D(*s.fake)
        return self.objective.g(logit(s.d_fake), logit(s.d_real) if s.d_real is not None else None)
