r"""Spectral normalisation's state in copies of a network whose weights are averaged (EMA).

``torch.nn.utils.parametrizations.spectral_norm`` divides a weight by
:math:`\sigma = u^\top W v`, where the unit vectors :math:`u, v` are buffers that one power
iteration per training forward moves towards the top singular pair of :math:`W`. An EMA copy
averages buffers with the weights, and the average of unit vectors that turn is shorter than one:
:math:`\sigma` shrinks and the copy's weights grow (SAGAN's EMA generator, whose attention output
vectors fell to norm 0.2, drew blobs while the trained generator drew digits). The copy needs its
own power iterations on its own averaged weights, which :func:`power_iterate` gives.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["has_spectral_norms", "power_iterate", "spectral_vectors_are_unit"]


def _spectral_norms(module: nn.Module):
    """``(parametrization, its original weight)`` of every spectral norm in ``module``."""
    for m in module.modules():
        if not parametrize.is_parametrized(m):
            continue
        for plist in m.parametrizations.values():
            for p in plist:
                if hasattr(p, "_u") and hasattr(p, "_v") and hasattr(p, "n_power_iterations"):
                    yield p, plist.original


@torch.no_grad()
def power_iterate(module: nn.Module, rounds: int = 1) -> int:
    r"""Run ``rounds`` forwards of each spectral norm of ``module`` in training mode on its own
    weight: each does its ``n_power_iterations`` steps :math:`u \leftarrow Wv/\|Wv\|,\;
    v \leftarrow W^\top u/\|W^\top u\|` in place, so :math:`u, v` are unit vectors again that track
    ``module``'s weights. Returns how many spectral norms were found.

    >>> net = torch.nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3))
    >>> with torch.no_grad():
    ...     _ = net.parametrizations.weight[0]._u.mul_(0.2)
    >>> spectral_vectors_are_unit(net), power_iterate(net), spectral_vectors_are_unit(net)
    (False, 1, True)
    """
    found = 0
    for p, weight in _spectral_norms(module):
        found += 1
        was_training = p.training
        p.train()
        for _ in range(rounds):
            p(weight)
        p.train(was_training)
    return found


def has_spectral_norms(module: nn.Module) -> bool:
    """Whether ``module`` holds any spectral norm (``torch.nn.utils.parametrizations.spectral_norm``)."""
    return next(_spectral_norms(module), None) is not None


def spectral_vectors_are_unit(module: nn.Module, tol: float = 1e-3) -> bool:
    """Whether every spectral norm's vectors :math:`u, v` in ``module`` have norm 1 (within ``tol``)."""
    return all(abs(float(t.norm()) - 1.0) <= tol for p, _ in _spectral_norms(module) for t in (p._u, p._v))
