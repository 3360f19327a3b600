r"""Optimisers and learning-rate schedules of a run, by name.

The vocabularies (:data:`OPTIMIZERS`, :data:`SCHEDULERS`) live here, beside the functions that use
them; the config schema imports them from this module.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch
from torch import nn
from torch.optim import Optimizer



class OptimSettings(Protocol):
    """What :func:`make_optimizers` reads (the ``optim`` section, :class:`invgan.config.OptimConfig`)."""

    optimizer: str
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    weight_decay: float

#: ``optim.optimizer``: Adam (with the config's betas) or RMSProp (WGAN's)
OPTIMIZERS = ("adam", "rmsprop")
#: ``optim.scheduler``: a constant rate, or a cosine decay to 1 % over each network's updates
SCHEDULERS = ("none", "cosine")


def make_optimizers(networks: nn.ModuleDict, o: OptimSettings) -> dict[str, Optimizer]:
    """Adam (with the config's betas) or RMSProp (WGAN's) for ``G`` (``lr_g``, ``weight_decay``) and ``D`` (``lr_d``);
    ``o.optimizer`` is one of :data:`OPTIMIZERS` (checked by :class:`~invgan.config.OptimConfig`).

    :Example:

    >>> from types import SimpleNamespace
    >>> from torch import nn
    >>> from invgan.optim import make_optimizers
    >>> nets = nn.ModuleDict({"G": nn.Linear(2, 2), "D": nn.Linear(2, 1)})
    >>> o = SimpleNamespace(optimizer="adam", lr_g=1e-3, lr_d=2e-4, beta1=0.5, beta2=0.999, weight_decay=0.0)
    >>> opts = make_optimizers(nets, o)
    >>> sorted(opts), opts["D"].param_groups[0]["lr"], opts["G"].param_groups[0]["betas"]
    (['D', 'G'], 0.0002, (0.5, 0.999))
    """

    def make(params, lr: float, weight_decay: float = 0.0) -> Optimizer:
        if o.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
        return torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2), weight_decay=weight_decay)

    opts = {"G": make(networks["G"].parameters(), o.lr_g, o.weight_decay)}
    if "D" in networks:
        opts["D"] = make(networks["D"].parameters(), o.lr_d)
    return opts


def make_schedulers(optimizers: dict[str, Optimizer], name: str, updates: dict[str, int]) -> dict[str, Any]:
    r"""Learning-rate schedulers by name: ``"none"``, or ``"cosine"`` from the initial rate down to 1 %
    over each network's number of optimiser ``updates`` (stepped once per step that updates it).

    :Example:

    >>> import torch
    >>> from invgan.optim import make_schedulers
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = make_schedulers({"G": opt}, "cosine", {"G": 4})["G"]
    >>> for _ in range(2):
    ...     opt.step(); sched.step()
    >>> round(opt.param_groups[0]["lr"], 4)
    0.505
    >>> make_schedulers({"G": opt}, "none", {"G": 4})
    {}
    """
    if name not in SCHEDULERS:
        raise ValueError(f"invalid scheduler={name!r}: expected one of {SCHEDULERS}")
    if name == "none":
        return {}
    return {
        k: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, updates.get(k, 0)), eta_min=0.01 * opt.param_groups[0]["lr"])
        for k, opt in optimizers.items()
    }


def continue_cosine(sched: torch.optim.lr_scheduler.CosineAnnealingLR, total: int) -> None:
    r"""Re-aim a restored cosine schedule at a new number of updates ``total`` (a run resumed with
    more, or fewer, steps): the cosine from each base rate down to ``eta_min`` is re-built over
    ``total`` updates and positioned at the updates already made, :math:`t`, so the rate becomes
    :math:`\eta_\min + (\eta_0 - \eta_\min)(1 + \cos(\pi t / T))/2` and keeps decreasing from
    there (it never climbs back as the restored ``T_max`` would make it).

    :Example:

    >>> import torch
    >>> from invgan.optim import continue_cosine, make_schedulers
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = make_schedulers({"G": opt}, "cosine", {"G": 4})["G"]
    >>> for _ in range(2):
    ...     opt.step(); sched.step()
    >>> continue_cosine(sched, 8)
    >>> round(opt.param_groups[0]["lr"], 4)
    0.855
    """
    total = max(1, int(total))
    t = min(sched.last_epoch, total)
    sched.T_max = total
    for group, base in zip(sched.optimizer.param_groups, sched.base_lrs):
        group["lr"] = sched.eta_min + (base - sched.eta_min) * (1 + math.cos(math.pi * t / total)) / 2
    sched._last_lr = [group["lr"] for group in sched.optimizer.param_groups]
