r"""The entries a deep-image-prior run withholds from its fit (``holdout``, the blend, ``net="auto"``):
the split, the averaged estimate of least error on them so far, and ``heldout_check``, which returns
that estimate where it beats the stopping rule's beyond the noise."""

from __future__ import annotations

import torch
from torch import Tensor

from .stopping import StopRule, heldout_beats_stop


def holdout_split(physics, y: Tensor, img_shape: tuple[int, int, int], share: float, gen) -> tuple[Tensor | float, Tensor | None]:
    """The weight of each entry of ``y`` in the fit (1, or 0 where withheld) and the withheld entries
    (``None`` when ``share`` is 0): a ``share`` of the informative entries of each measurement, at random."""
    if share <= 0:
        return 1.0, None
    from .heldout import informative_entries, withhold_pixels

    informative = informative_entries(physics, img_shape, y.shape[0], y.device)
    held = withhold_pixels(informative, share, gen).float()
    return 1.0 - held, held


def track_least(least: tuple, heldout: Tensor, step: int, ema: Tensor, done: Tensor) -> tuple:
    """The averaged estimate of least withheld error so far, per sample still running."""
    err, steps, x = least
    better = (heldout < err) & ~done
    if not bool(better.any()):
        return least
    mask = better.view(-1, 1, 1, 1).to(ema.device)
    return (torch.where(better, heldout, err), [step if b else s for b, s in zip(better.tolist(), steps)],
            ema.clone() if x is None else torch.where(mask, ema, x))


def check_heldout(physics, y: Tensor, held: Tensor, sigma: Tensor, z: float, x_stop: Tensor, least: tuple, rule: StopRule) -> Tensor:
    """``heldout_check``: the estimate of least withheld error where it beats the stop's beyond the noise
    (:func:`~invgan.solvers.stopping.heldout_beats_stop`); the step it returns is updated."""
    _, steps, x_best = least
    with torch.no_grad():
        a_stop, a_best = physics.A(x_stop), physics.A(x_best)
        sq = lambda e: (e.pow(2) * held).flatten(1).sum(1).cpu()  # noqa: E731
        better = heldout_beats_stop(sq(a_stop - y), sq(a_best - y), sq(a_stop - a_best).sqrt(), sigma, z)
    for i in better.nonzero().flatten().tolist():
        rule.chosen[i] = steps[i]
    return torch.where(better.view(-1, 1, 1, 1).to(x_stop.device), x_best, x_stop)
