r"""What one training step computes, shared by every loss term of every phase.

A GAN step draws what the generator is given, runs :math:`G` once and decides what
:math:`D` judges as real and as fake; the phases (``D``, ``G``, regularisers) then only
read this record. Discriminator outputs are a logit tensor, or a dict with the logit
under ``"logit"`` and named heads beside it (an auxiliary classifier, an InfoGAN code
head); :func:`logit` and :func:`head` read either form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from torch import Tensor, nn

DOutput = Union[Tensor, dict[str, Tensor]]


@dataclass
class GANStep:
    r"""The shared computations of one step.

    :param x_hat: the generator's output (a reconstruction :math:`\\hat x` or a sample :math:`G(z)`).
    :param x: clean images of the batch, when the data have them.
    :param y: measurements, and ``physics`` the operator (with its draws) that made them.
    :param z: the latents given to the generator; ``label`` a class label or code ``c``.
    :param model: the generator (for losses that call it again, e.g. a cycle term).
    :param real: what the discriminator judges as real, a tuple of its positional inputs.
    :param fake: what it judges as fake, the same way.
    :param d_real: the discriminator's output on ``real``, set by the adversarial loss of the running
        phase so that head losses reuse it instead of calling ``D`` again.
    :param d_fake: its output on ``fake``, the same way.
    :param extras: further outputs of the step's generator forward, by name (CycleGAN's fake
        measurement :math:`\hat y = G_m(x)` under ``"y_hat"``), for the loss terms that read them.
    """

    x_hat: Tensor
    x: Tensor | None = None
    y: Tensor | None = None
    physics: Any = None
    z: Tensor | None = None
    label: Tensor | None = None
    model: nn.Module | None = None
    batch: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    real: tuple[Tensor, ...] = ()
    fake: tuple[Tensor, ...] = ()
    d_real: DOutput | None = None
    d_fake: DOutput | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def logit(out: DOutput) -> Tensor:
    """The adversarial logit of a discriminator output."""
    return out["logit"] if isinstance(out, dict) else out


def head(out: DOutput | None, name: str) -> Tensor:
    """A named head of a discriminator output, with a clear error when ``D`` has none.

    :Example:

    >>> import torch
    >>> from invgan.losses.step import head, logit
    >>> out = {"logit": torch.tensor([0.5]), "class": torch.tensor([[1.0, 2.0]])}
    >>> logit(out).tolist(), head(out, "class").tolist()
    ([0.5], [[1.0, 2.0]])
    """
    if out is None:
        raise ValueError(f"no discriminator output to read the {name!r} head from: D is not run in this phase at this step")
    if not isinstance(out, dict) or name not in out:
        have = sorted(out) if isinstance(out, dict) else ["logit"]
        raise ValueError(f"the discriminator has no {name!r} head (its outputs: {have})")
    return out[name]
