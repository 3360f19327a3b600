r"""Losses on named heads of the discriminator (ACGAN's classifier, InfoGAN's :math:`Q`).

They read ``D``'s outputs that the adversarial loss left on the step (``s.d_real``, ``s.d_fake``),
so ``D`` runs once per side and phase. Use them as :class:`~invgan.training.gan.LossTerm` s of
``D`` (``d_losses``) and of ``G`` (``g_losses``).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..nets.generators import LatentCodes
from .step import GANStep, head

#: ``gan.conditioning``: none, the label into G and D (CGAN), a class head on D (ACGAN), latent codes with a Q head (InfoGAN)
CONDITIONINGS = ("none", "cgan", "acgan", "infogan")


class ClassHeadLoss:
    r"""ACGAN (Odena et al. 2017): the log-likelihood of the right class,
    :math:`\mathcal{L}_C = -\mathbb{E}\log p(C = c\,|\,x) - \mathbb{E}\log p(C = c\,|\,\hat x)`, as a
    cross-entropy of the head ``name`` with the step's labels, over the ``sides`` given: both for
    ``D``, ``("fake",)`` for ``G``.

    :Example:

    >>> import math, torch
    >>> from invgan.losses import ClassHeadLoss, GANStep
    >>> out = {"logit": torch.zeros(2), "class": torch.zeros(2, 4)}
    >>> s = GANStep(x_hat=torch.zeros(2), label=torch.tensor([0, 3]), d_real=out, d_fake=out)
    >>> round(float(ClassHeadLoss()(s)) / math.log(4), 4)
    2.0
    """

    def __init__(self, name: str = "class", sides: tuple[str, ...] = ("real", "fake")):
        if not sides or set(sides) - {"real", "fake"}:
            raise ValueError(f"invalid sides={sides!r}: expected 'real' and/or 'fake'")
        self.name, self.sides = name, tuple(sides)

    def __call__(self, s: GANStep) -> Tensor:
        if s.label is None:
            raise ValueError("a class-head loss needs labels: give the generator input a label_key")
        outs = {"real": s.d_real, "fake": s.d_fake}
        return sum(F.cross_entropy(head(outs[side], self.name).float(), s.label) for side in self.sides)  # type: ignore[return-value]


class InfoLoss:
    r"""InfoGAN's variational lower bound of :math:`I(c; G(z, c))`, as a loss (minimised by ``G`` and by
    :math:`Q`, a head ``name`` of ``D``): with :math:`Q`'s categorical logits and continuous means
    :math:`\mu` on the generated images,

    .. math::

        \mathcal{L}_I = \sum_i \mathrm{CE}\big(Q_i(\hat x), c_i\big)
        + w_\text{cont}\,\tfrac12\,\mathbb{E}\,\|\mu(\hat x) - u\|^2,

    the negative log-likelihood of a factored Gaussian of unit variance for :math:`u` (up to a
    constant); :math:`-\mathcal{L}_I + H(c)` is the bound. ``continuous_weight`` scales the continuous part."""

    def __init__(self, codes: LatentCodes, name: str = "code", continuous_weight: float = 1.0):
        self.codes, self.name, self.continuous_weight = codes, name, continuous_weight

    def __call__(self, s: GANStep) -> Tensor:
        if s.z is None:
            raise ValueError("the information loss needs the step's latents (z)")
        q = head(s.d_fake, self.name).float()
        if q.shape[1] != self.codes.head_size:
            raise ValueError(f"the {self.name!r} head has {q.shape[1]} outputs, the codes need {self.codes.head_size}")
        cats, cont = self.codes.split(s.z)
        loss, start = q.new_zeros(()), 0
        for k, c in zip(self.codes.categorical, cats):
            loss = loss + F.cross_entropy(q[:, start : start + k], c)
            start += k
        if self.codes.continuous:
            loss = loss + self.continuous_weight * 0.5 * (q[:, start:] - cont).pow(2).sum(1).mean()
        return loss
