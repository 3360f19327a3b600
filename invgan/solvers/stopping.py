r"""Stopping rules of the deep image prior, without ground truth (:mod:`invgan.solvers.dip`
describes them): the noise level :math:`\sigma` of a measurement (from its noise model, or
estimated from the image), and :class:`StopRule`, the per-sample rule fed one :class:`StepStats`
per step, so that a recorded run can be replayed offline (:func:`invgan.solvers.dip.replay_stop`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor



class StopSettings(Protocol):
    """The settings a :class:`StopRule` reads (those of :class:`~invgan.solvers.dip.DIPConfig`)."""

    window: int
    min_steps: int
    discrepancy: float
    tolerance: float
    drift_tolerance: float
    settle_fallback: bool
    wmv_tolerance: float
    patience: int
    heldout_gate: float

#: ``dip.stop``: the stopping rules of the deep image prior (:mod:`invgan.solvers.dip`)
STOP_RULES = ("auto", "discrepancy", "convergence", "wmv", "heldout", "none")


# ---------------------------------------------------------------- noise level


def estimate_noise_sigma(y: Tensor) -> Tensor:
    r"""Per-sample Gaussian noise std of image-shaped ``y`` ``(N, C, H, W)`` from the finest
    diagonal Haar wavelet coefficients (Donoho's MAD estimator):

    .. math:: \hat\sigma = \mathrm{median}\,|d| / 0.6745,\qquad
              d = \tfrac12\,(y_{2i,2j} - y_{2i,2j+1} - y_{2i+1,2j} + y_{2i+1,2j+1}).

    Zero-valued pixels (unmeasured pixels of an inpainting mask) are left out.
    """
    if y.dim() != 4 or y.shape[-1] < 2 or y.shape[-2] < 2:
        raise ValueError(f"estimate_noise_sigma needs images (N, C, H>=2, W>=2), got shape {tuple(y.shape)}")
    h, w = y.shape[-2] // 2 * 2, y.shape[-1] // 2 * 2
    q = y[..., :h, :w].float()
    a, b, c, d = q[..., 0::2, 0::2], q[..., 0::2, 1::2], q[..., 1::2, 0::2], q[..., 1::2, 1::2]
    hh = 0.5 * (a - b - c + d)
    measured = (a != 0) & (b != 0) & (c != 0) & (d != 0)
    out = []
    for i in range(y.shape[0]):
        vals = hh[i][measured[i]]
        out.append(vals.abs().median() / 0.6745 if vals.numel() else torch.tensor(math.nan))
    return torch.stack(out).cpu()


def noise_level(physics, y: Tensor, override: float | None = None) -> Tensor:
    r"""Per-sample noise std :math:`\sigma` of ``y``: ``override`` when given; the ``sigma`` of a
    Gaussian noise model; 0 without noise (``ZeroNoise`` or none); else estimated from ``y``
    when it is image-shaped (:func:`estimate_noise_sigma`); else NaN (unknown)."""
    n = y.shape[0]
    if override is not None:
        return torch.full((n,), float(override))
    from deepinv.physics import GaussianNoise, ZeroNoise

    model = getattr(physics, "noise_model", None)
    if model is None or isinstance(model, ZeroNoise):
        return torch.zeros(n)
    if isinstance(model, GaussianNoise):
        sigma = torch.as_tensor(model.sigma, dtype=torch.float32).detach().cpu().flatten()
        return sigma.expand(n).clone() if sigma.numel() == 1 else sigma[:n].clone()
    if y.dim() == 4 and min(y.shape[-2:]) >= 2:
        return estimate_noise_sigma(y)
    return torch.full((n,), math.nan)


# ---------------------------------------------------------------- stopping rules


@dataclass
class StepStats:
    """Per-sample statistics of one step, each of shape ``(N,)`` (``variance`` and ``drift`` NaN until
    their window is full; ``drift`` ``None``: not recorded; ``heldout``: error on the withheld entries,
    ``None`` when none are withheld)."""

    step: int
    loss: Tensor
    residual: Tensor
    change: Tensor
    variance: Tensor
    drift: Tensor | None = None
    heldout: Tensor | None = None


class StopRule:
    r"""Per-sample stopping rule fed one :class:`StepStats` per step.

    ``update`` returns a boolean mask of the samples whose *current* averaged estimate
    becomes the one to return; ``done`` marks the samples whose rule has fired.
    """

    def __init__(self, cfg: StopSettings, rules: list[str], sigma: Tensor) -> None:
        self.cfg = cfg
        self.rules = rules
        self.sigma = sigma.float()
        n = len(rules)
        self.done = torch.zeros(n, dtype=torch.bool)
        self.decided_at = [0] * n
        self.chosen = [0] * n
        self.changes: deque = deque(maxlen=cfg.window)
        self.best = torch.full((n,), math.inf)  # the least windowed variance (wmv) or withheld error (heldout) so far
        self.progress_var = torch.full((n,), math.inf)
        self.progress_step = [0] * n
        self.least_heldout = torch.full((n,), math.inf)  # the least withheld error so far, any rule
        self.least_past: deque = deque(maxlen=cfg.patience + 1)  # ... over the last `patience` steps

    def _heldout_stalled(self, s: StepStats) -> Tensor:
        r"""Per sample, whether the least withheld error :math:`e^\star_t = \min_{s \le t} e_s` fell by less
        than a share :math:`g` (``heldout_gate``) over the last :math:`P` (``patience``) steps,
        :math:`e^\star_t > (1 - g)\,e^\star_{t-P}`; never before :math:`P` steps (``s.heldout`` must be given)."""
        self.least_heldout = torch.minimum(self.least_heldout, torch.nan_to_num(s.heldout.float(), nan=math.inf))
        self.least_past.append(self.least_heldout.clone())
        if len(self.least_past) <= self.cfg.patience:
            return torch.zeros(len(self.rules), dtype=torch.bool)
        then, now = self.least_past[0], self.least_heldout
        return (now > (1 - self.cfg.heldout_gate) * then) & torch.isfinite(then) & torch.isfinite(now)

    def update(self, s: StepStats) -> Tensor:
        cfg = self.cfg
        keep = torch.zeros(len(self.rules), dtype=torch.bool)
        self.changes.append(s.change.float())
        mean_change = torch.stack(tuple(self.changes)).mean(0) if len(self.changes) == cfg.window else None
        gate_on = s.heldout is not None and cfg.heldout_gate > 0
        gated = self._heldout_stalled(s) if gate_on else None
        for i, rule in enumerate(self.rules):
            if self.done[i]:
                continue
            fire = False
            drift = math.nan if s.drift is None else float(s.drift[i])
            settled = (mean_change is not None and float(mean_change[i]) < cfg.tolerance) or drift < cfg.drift_tolerance
            if gated is not None:  # the estimate settles and the withheld error stopped falling
                settled = settled and bool(gated[i])
            if rule == "discrepancy":  # the residual reaches the noise level, or (never reaching it) the estimate settles
                keep[i] = True
                reached = float(s.residual[i]) <= cfg.discrepancy * float(self.sigma[i]) ** 2
                fire = s.step >= cfg.min_steps and (reached or (cfg.settle_fallback and settled))
            elif rule == "convergence":
                keep[i] = True
                fire = s.step >= cfg.min_steps and settled
            elif rule == "wmv":
                v = float(s.variance[i])
                if not math.isnan(v):
                    if v < (1 - cfg.wmv_tolerance) * float(self.progress_var[i]):
                        self.progress_var[i], self.progress_step[i] = v, s.step
                    if v < float(self.best[i]):
                        self.best[i] = v
                        keep[i] = True
                fire = s.step >= cfg.min_steps and self.chosen[i] > 0 and s.step - self.progress_step[i] >= cfg.patience
            elif rule == "heldout":  # the least error on the withheld entries, once it stopped falling for `patience` steps
                e = math.inf if s.heldout is None else float(s.heldout[i])
                if e < float(self.best[i]):
                    self.best[i], self.progress_step[i] = e, s.step
                    keep[i] = True
                fire = s.step >= cfg.min_steps and s.step - self.progress_step[i] >= cfg.patience
            else:  # "none": the last step
                keep[i] = True
            if keep[i]:
                self.chosen[i] = s.step
            if fire:
                self.done[i] = True
                self.decided_at[i] = s.step
        return keep

    def finish(self, step: int) -> None:
        """Mark the samples still running as decided at the last step."""
        for i in range(len(self.rules)):
            if not self.done[i]:
                self.decided_at[i] = step
                if self.chosen[i] == 0:
                    self.chosen[i] = step


def resolve_rules(stop: str, sigma: Tensor) -> list[str]:
    """``stop`` per sample; ``"auto"``: discrepancy where :math:`\\sigma > 0`, convergence where
    :math:`\\sigma = 0`, WMV where it is unknown (NaN)."""
    if stop != "auto":
        return [stop] * len(sigma)
    return ["wmv" if math.isnan(s) else ("discrepancy" if s > 0 else "convergence") for s in sigma.tolist()]


def replay_stop(result: Any, config: Any = None, sigma: Tensor | None = None) -> tuple[list[int], list[int], list[str]]:
    """The ``(stopped_at, decided_at, rules)`` a stopping rule would have given on a recorded run.

    ``result`` (a :class:`~invgan.solvers.dip.DIPResult`) must come from a run with ``stop="none"`` (it records every statistic, the
    variance included) and at least as many steps as the rule needs; ``config`` holds the rule
    (default: the run's config with ``stop="auto"``); ``sigma``: the noise level per sample
    (default: ``config.noise_sigma`` when set, else the one the run recorded).
    """
    cfg = config if dataclasses.is_dataclass(config) else dataclasses.replace(result.config, **{"stop": "auto", **dict(config or {})})
    if result.residual_history is None or result.change_history is None or result.variance_history is None:
        raise ValueError("replay_stop needs a run recorded with stop='none' (residual, change and variance histories)")
    if sigma is None:
        n = result.loss_history.shape[1]
        sigma = torch.full((n,), float(cfg.noise_sigma)) if cfg.noise_sigma is not None else torch.as_tensor(result.noise_sigma)
    sig = torch.as_tensor(sigma, dtype=torch.float32).flatten()
    rules = resolve_rules(cfg.stop, sig)
    rule = StopRule(cfg, rules, sig)
    steps = result.loss_history.shape[0]
    drift = getattr(result, "drift_history", None)  # absent from runs recorded before it existed
    heldout = getattr(result, "heldout_history", None)
    for t in range(steps):
        rule.update(StepStats(t + 1, result.loss_history[t], result.residual_history[t], result.change_history[t], result.variance_history[t],
                              None if drift is None else drift[t], None if heldout is None else heldout[t]))
        if bool(rule.done.all()):
            break
    rule.finish(t + 1)
    return list(rule.chosen), list(rule.decided_at), rules


def heldout_beats_stop(err_stop: Tensor, err_best: Tensor, gap: Tensor, sigma: Tensor, z: float) -> Tensor:
    r"""Per sample, whether the withheld entries :math:`S` show, beyond their noise, that the averaged
    estimate of least error on them, :math:`\bar x_h`, is better than the one the stopping rule chose,
    :math:`\bar x_d`: with :math:`e_\cdot = \|(A\bar x_\cdot - y)_S\|^2` (``err_stop``, ``err_best``) and
    :math:`D = (A\bar x_d - A\bar x_h)_S` (``gap`` :math:`= \|D\|`),

    .. math:: e_d - e_h = \|(A\bar x_d - Ax)_S\|^2 - \|(A\bar x_h - Ax)_S\|^2 - 2\langle D, n_S\rangle ,

    and the noise's share :math:`2\langle D, n_S\rangle` has std :math:`2\sigma\|D\|` when neither estimate
    saw :math:`y_S`. True where :math:`e_d - e_h > z \cdot 2\sigma\|D\|` (a one-sided test at level
    :math:`\approx 0.13\,\%` for :math:`z = 3` and two fixed estimates; :math:`\bar x_h` is the least of
    many, which biases :math:`e_h` low); never where :math:`\sigma` is 0 or unknown, or ``z`` is 0.

    :Example:

    >>> import torch
    >>> from invgan.solvers.stopping import heldout_beats_stop
    >>> s = torch.tensor([0.1, 0.1, 0.0])
    >>> heldout_beats_stop(torch.tensor([5.0, 5.0, 5.0]), torch.tensor([4.0, 4.9, 4.0]), torch.tensor([1.0, 1.0, 1.0]), s, 2.0).tolist()
    [True, False, False]
    """
    s = torch.nan_to_num(sigma.float(), nan=0.0)
    return (z > 0) & (s > 0) & (err_stop - err_best > z * 2 * s * gap)
