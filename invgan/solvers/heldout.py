r"""The held-out choice of latent search (:func:`~invgan.solvers.latent_search` with what is left to
choice): an operator restricted to some entries of each measurement, the one-standard-error rule
that decides whether a candidate beats the reference on the entries held out, and the layer spaces
the choice also tries. Nothing here reads the ground truth."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def auto_layers(generator: nn.Module) -> tuple[str, ...]:
    """The intermediate-layer spaces ``deviation="auto"`` also tries: the last two ``layer:l`` the
    generator declares before its output (none for a generator without layer spaces)."""
    spaces = generator.latent_spaces() if hasattr(generator, "latent_spaces") else {}
    layers = [k for k in spaces if k.startswith("layer:") and k != "layer:0"]
    return tuple(layers[-2:])


class Entries:
    r"""An operator restricted to some entries of each measurement, :math:`A'x = M \odot Ax`
    (``mask`` of ``y``'s shape): the fitting half of a held-out split."""

    def __init__(self, physics, mask: Tensor):
        self.physics, self.mask = physics, mask

    def A(self, x: Tensor) -> Tensor:
        return self.physics.A(x) * self.mask

    def compute_norm(self, *args, **kwargs) -> Tensor:  # an upper bound of the restricted operator's
        return self.physics.compute_norm(*args, **kwargs)


def wins_by_one_se(ref_sq: Tensor, cand_sq: Tensor, held: Tensor) -> Tensor:
    r"""Per measurement: does the candidate's held-out error beat the reference's by more than one
    standard error? With the paired differences :math:`d_j = e^\text{ref}_j - e^\text{cand}_j` over
    the :math:`n` held-out entries, :math:`\bar d > s_d / \sqrt n` (the one-standard-error rule of
    cross-validation, Hastie, Tibshirani and Friedman, 2009, §7.10).

    :Example:

    >>> import torch
    >>> from invgan.solvers.heldout import wins_by_one_se
    >>> held = torch.ones(2, 4)
    >>> ref = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    >>> cand = torch.tensor([[0.5, 0.5, 0.6, 0.4], [0.0, 2.0, 0.0, 1.9]])  # a steady gain; a noisy one
    >>> wins_by_one_se(ref, cand, held).tolist()
    [True, False]
    """
    n = held.sum(1).clamp_min(2)
    d = (ref_sq - cand_sq) * held
    mean = d.sum(1) / n
    var = ((d - mean[:, None]) ** 2 * held).sum(1) / (n - 1)
    return mean > (var / n).sqrt()


def pick_candidate(candidates: list[Tensor], ref: int | None, held: Tensor) -> Tensor:
    """Per measurement, the index of the candidate of lowest held-out error among those that beat
    ``candidates[ref]`` by one standard error (:func:`wins_by_one_se`), else ``ref``; the lowest error outright
    when there is no reference."""
    totals = torch.stack([c.sum(1) for c in candidates])
    if ref is None:
        return totals.argmin(0)
    eligible = torch.stack([wins_by_one_se(candidates[ref], c, held) if k != ref else torch.ones_like(totals[0], dtype=torch.bool)
                            for k, c in enumerate(candidates)])
    return totals.masked_fill(~eligible, float("inf")).argmin(0)
