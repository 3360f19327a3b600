r"""What a training recipe is: networks, one shared forward per step, and phases.

The :class:`~invgan.training.trainer.Trainer` only runs phases, logs, evaluates
and checkpoints; everything model-specific lives in a :class:`Recipe`.

A step of the trainer is

.. code-block:: text

    ctx = recipe.forward(batch, step)        # e.g. y = A(x), x_hat = G(y)  (one G forward)
    for phase in recipe.phases():
        if step % phase.every == 0:
            only phase.networks require grad
            loss, logs = phase.loss(ctx)
            backward, clip, optimiser step for each network of the phase
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

Logs = dict[str, Tensor]
LossFn = Callable[[Any], tuple[Tensor, Logs]]


@dataclass
class Phase:
    """One optimisation phase: ``loss(ctx)`` is minimised over ``networks`` (keys of
    ``recipe.networks``) on every ``every``-th step; all other networks are frozen."""

    name: str
    networks: tuple[str, ...]
    loss: LossFn
    every: int = 1


class Recipe(nn.Module):
    r"""Base class of training recipes.

    Subclasses set ``self.networks`` (an :class:`~torch.nn.ModuleDict`, e.g. ``{"G": R, "D": D}``)
    and implement :meth:`forward` (the shared computations of a step, returned as a dict) and
    :meth:`phases`. ``generator_key`` names the network whose EMA copy is kept and evaluated.
    """

    generator_key: str = "G"

    def __init__(self) -> None:
        super().__init__()
        self.networks = nn.ModuleDict()

    def forward(self, batch: Tensor, step: int) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def phases(self) -> list[Phase]:  # pragma: no cover - interface
        raise NotImplementedError

    # --- evaluation hooks (optional) -------------------------------------------------
    def evaluate(self, generator: nn.Module, data: Any, full: bool = False) -> dict[str, float]:
        """Held-out metrics for ``generator`` (the EMA copy when enabled); ``{}`` if none.
        ``full=True`` (``invgan eval``) adds metrics too slow to log during training."""
        return {}

    def preview(self, generator: nn.Module, data: Any) -> Tensor | None:
        """A ``(N, C, H, W)`` image grid to log (e.g. measurement | reconstruction | truth)."""
        return None

    # --- random streams the recipe owns (operator draws, noise) ----------------------
    def rng_state(self) -> dict[str, Tensor]:
        return {}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        pass


def freeze_all_but(networks: nn.ModuleDict, trainable: tuple[str, ...]) -> None:
    """Only the named networks require gradients (so a G step puts no work into D)."""
    for key, net in networks.items():
        flag = key in trainable
        for p in net.parameters():
            p.requires_grad_(flag)
