r"""CycleGAN's losses (Zhu et al. 2017) of the generator pair :math:`G_c: y\mapsto x`,
:math:`G_m: x\mapsto y` (:class:`~invgan.nets.cycle.CycleGenerators`, the step's ``model``), on
unpaired clean images :math:`x` and measurements :math:`y` of other images.

The step holds :math:`\hat x = G_c(y)` (``x_hat``) and :math:`\hat y = G_m(x)`
(``extras["y_hat"]``), from :class:`~invgan.training.unpaired.UnpairedInput`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..nets.cycle import TO_CLEAN, TO_MEASURED
from .step import GANStep


def _parts(s: GANStep, loss: str) -> tuple[nn.Module, Tensor, Tensor]:
    if s.model is None or s.x is None or s.y is None:
        raise ValueError(f"the {loss} loss needs the generator pair (step.model), clean images x and measurements y")
    return s.model, s.x, s.y


class CycleConsistencyLoss(nn.Module):
    r"""Both cycles, each an average absolute error:

    .. math::

        \mathcal{L}_\text{cyc} = \|G_c(G_m(x)) - x\|_1 + \|G_m(G_c(y)) - y\|_1 .

    :Example:

    >>> import torch
    >>> from invgan.losses import CycleConsistencyLoss, GANStep
    >>> from invgan.nets.cycle import CycleGenerators
    >>> class Scale(torch.nn.Module):
    ...     def __init__(self, a):
    ...         super().__init__()
    ...         self.a = a
    ...     def forward(self, t):
    ...         return self.a * t
    >>> G = CycleGenerators(Scale(2.0), Scale(0.5))
    >>> x, y = torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    >>> s = GANStep(x_hat=G(y, None), x=x, y=y, model=G, extras={"y_hat": G(x, direction="to_measured")})
    >>> float(CycleConsistencyLoss()(s))
    0.0
    """

    def forward(self, s: GANStep) -> Tensor:
        G, x, y = _parts(s, "cycle")
        if "y_hat" not in s.extras:
            raise ValueError("the cycle loss needs the fake measurement G_m(x) (step.extras['y_hat']): use UnpairedInput")
        x_back = G(s.extras["y_hat"], s.physics, direction=TO_CLEAN)
        y_back = G(s.x_hat, s.physics, direction=TO_MEASURED)
        return F.l1_loss(x_back, x) + F.l1_loss(y_back, y)


class IdentityLoss(nn.Module):
    r"""Each generator leaves an image of its own output domain as it is (the paper's identity
    mapping loss), each an average absolute error:

    .. math::

        \mathcal{L}_\text{id} = \|G_c(x) - x\|_1 + \|G_m(y) - y\|_1 .

    :Example:

    >>> import torch
    >>> from invgan.losses import GANStep, IdentityLoss
    >>> from invgan.nets.cycle import CycleGenerators
    >>> G = CycleGenerators(torch.nn.Identity(), torch.nn.Identity())
    >>> x, y = torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4)
    >>> float(IdentityLoss()(GANStep(x_hat=y, x=x, y=y, model=G)))
    0.0
    """

    def forward(self, s: GANStep) -> Tensor:
        G, x, y = _parts(s, "identity")
        return F.l1_loss(G(x, s.physics, direction=TO_CLEAN), x) + F.l1_loss(G(y, s.physics, direction=TO_MEASURED), y)
