r"""What a training recipe is: networks, one shared forward per step, and phases.

The :class:`~invgan.training.trainer.Trainer` only runs phases, logs, evaluates
and checkpoints; everything model-specific lives in a :class:`Recipe`.

A step of the trainer is

.. code-block:: text

    ctx = recipe.forward(batch, step)        # e.g. y = A(x), x_hat = G(y)  (one G forward)
    for phase in recipe.phases():
        if phase.due(step):
            only phase.networks require grad
            loss, logs = phase.loss(ctx)
            backward of phase.weight * phase.gain * loss, clip, optimiser step per network

:func:`updates_per_network` counts the steps that update each network (a cosine schedule's
length) and :func:`correct_for_lazy_phases` adapts the optimisers of lazy phases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torch import Tensor, nn
from torch.optim import Optimizer

Logs = dict[str, Tensor]
LossFn = Callable[[Any], tuple[Tensor, Logs]]


@dataclass
class Phase:
    r"""One optimisation phase: ``weight * loss(ctx)`` is minimised over ``networks`` (keys of
    ``recipe.networks``) at steps :math:`t \ge` ``start`` with :math:`(t - \text{start}) \bmod`
    ``every`` :math:`= 0`; all other networks are frozen.

    A ``lazy`` phase (StyleGAN2's lazy regularisation) runs every :math:`k` = ``every`` steps with
    its loss multiplied by the gain :math:`k`, and the trainer corrects the optimisers of its
    networks for the extra updates: with :math:`c = k/(k+1)`, :math:`\eta \leftarrow c\,\eta` and
    :math:`\beta_i \leftarrow \beta_i^{\,c}`.

    ``after`` (optional) runs without gradients right after the optimiser steps of the phase, for
    constraints that act on the weights themselves (WGAN's weight clipping)."""

    name: str
    networks: tuple[str, ...]
    loss: LossFn
    every: int = 1
    start: int = 0
    weight: float = 1.0
    lazy: bool = False
    after: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"phase {self.name!r}: invalid every={self.every!r}: expected >= 1")
        if self.start < 0:
            raise ValueError(f"phase {self.name!r}: invalid start={self.start!r}: expected >= 0")

    def due(self, step: int) -> bool:
        return step >= self.start and (step - self.start) % self.every == 0

    @property
    def gain(self) -> int:
        return self.every if self.lazy else 1


class Recipe(nn.Module):
    r"""Base class of training recipes.

    Subclasses set ``self.networks`` (an :class:`~torch.nn.ModuleDict`, e.g. ``{"G": R, "D": D}``)
    and implement :meth:`forward` (the shared computations of a step) and :meth:`phases`.
    ``generator_key`` names the network that is evaluated and exported (and keeps an EMA copy
    when the trainer's ``ema`` is a number); ``best_metric`` the key of :meth:`evaluate` whose
    maximum is kept as ``best.pt``; ``preview_columns`` the width of the preview grid;
    ``snapshots`` maps a step to a checkpoint name the trainer also writes when it reaches that
    step (``{t: "pretrained"}``: ``pretrained.pt``, the weights at the end of a warm-up).
    """

    generator_key: str = "G"
    best_metric: str | None = None
    preview_columns: int = 8
    snapshots: dict[int, str] = {}
    #: ``{step: name}``: the trainer also writes the preview grid ``samples/<name>.png`` when it
    #: reaches that step (ProGAN: the end of each resolution)
    preview_steps: dict[int, str] = {}

    def __init__(self) -> None:
        super().__init__()
        self.networks = nn.ModuleDict()

    def forward(self, batch: Any, step: int) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def phases(self) -> list[Phase]:  # pragma: no cover - interface
        raise NotImplementedError

    # --- evaluation hooks (optional) -------------------------------------------------
    def evaluate(self, nets: Mapping[str, nn.Module], data: Any, full: bool = False) -> dict[str, float]:
        """Held-out metrics of the networks ``nets`` (EMA copies where kept); ``{}`` if none.
        ``full=True`` (``invgan eval``) adds metrics too slow to log during training."""
        return {}

    def preview(self, nets: Mapping[str, nn.Module], data: Any) -> Tensor | None:
        """A ``(N, C, H, W)`` image grid to log (e.g. measurement | reconstruction | truth)."""
        return None

    # --- random streams the recipe owns (latents, operator draws, noise) -------------
    def rng_state(self) -> dict[str, Tensor]:
        return {}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        pass

    def shard_streams(self, rank: int) -> None:
        """Re-seed the recipe's random streams for process ``rank`` of a data-parallel run (rank 0
        keeps its seeds; see :func:`invgan.training.distributed.rank_seed`)."""


def freeze_all_but(networks: nn.ModuleDict, trainable: tuple[str, ...]) -> None:
    """Only the named networks require gradients (so a G step puts no work into D)."""
    for key, net in networks.items():
        flag = key in trainable
        for p in net.parameters():
            p.requires_grad_(flag)


def updates_per_network(phases: list[Phase], steps: int) -> dict[str, int]:
    """How many steps of ``range(steps)`` update each network (a step counts once per network,
    however many of its phases are due)."""
    counts: dict[str, int] = {}
    for t in range(steps):
        for key in {k for p in phases if p.due(t) for k in p.networks}:
            counts[key] = counts.get(key, 0) + 1
    return counts


def correct_for_lazy_phases(phases: list[Phase], optimizers: Mapping[str, Optimizer]) -> None:
    r"""StyleGAN2's correction for lazy regularisation every :math:`k` steps: :math:`c = k/(k+1)`,
    learning rate :math:`\eta \leftarrow c\,\eta` and Adam's :math:`\beta_i \leftarrow \beta_i^{\,c}`,
    for each optimiser of a network a lazy phase trains."""
    for phase in phases:
        if not phase.lazy or phase.every == 1:
            continue
        c = phase.every / (phase.every + 1)
        for key in phase.networks:
            for group in optimizers[key].param_groups:
                group["lr"] *= c
                if "betas" in group:
                    group["betas"] = tuple(b**c for b in group["betas"])
