r"""Held-out evaluation of reconstructors: PSNR/SSIM of :math:`\hat x` and of the baselines
(:math:`A^\top y` and the best-tuned Tikhonov solution
:math:`\hat x_\gamma = (A^\top A + \gamma I)^{-1}A^\top y`)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from deepinv.loss.metric import PSNR, SSIM

from ..data import MeasuredSet
from ..physics import lift

Estimator = Callable[[Tensor, nn.Module], Tensor]

#: Tikhonov weights searched for the classical baseline
TIKHONOV_GAMMAS = tuple(float(g) for g in torch.logspace(-5, 0, 21))

_psnr, _ssim = PSNR(max_pixel=1.0), SSIM(max_pixel=1.0)


def set_operator(physics: nn.Module, params: dict[str, Tensor]) -> None:
    """Restore the operator draw (e.g. mask) that produced a batch of the evaluation set."""
    if params:
        physics.update(**params)


@torch.no_grad()
def image_metrics(estimate: Tensor, truth: Tensor) -> dict[str, Tensor]:
    """Per-image PSNR and SSIM of ``estimate`` clipped to [0, 1]."""
    est = estimate.float().clamp(0, 1)
    truth = truth.float()
    return {"psnr": _psnr(est, truth), "ssim": _ssim(est, truth)}


@torch.no_grad()
def evaluate_estimator(estimator: Estimator, data: MeasuredSet, physics: nn.Module, batch_size: int = 16) -> dict[str, float]:
    """Mean PSNR/SSIM of ``estimator(y, physics)`` over ``data``."""
    sums: dict[str, list[Tensor]] = {"psnr": [], "ssim": []}
    device = next(iter(physics.buffers()), torch.empty(0)).device
    for x, y, params in data.batches(batch_size):
        x, y = x.to(device), y.to(device)
        set_operator(physics, {k: v.to(device) for k, v in params.items()})
        for k, v in image_metrics(estimator(y, physics), x).items():
            sums[k].append(v.cpu())
    return {k: float(torch.cat(v).mean()) for k, v in sums.items()}


@torch.no_grad()
def baselines(data: MeasuredSet, physics: nn.Module, back_projection: str = "adjoint") -> dict[str, float]:
    """Metrics of the back-projection (``baseline_*``) and of the best-tuned Tikhonov
    solution over :data:`TIKHONOV_GAMMAS` (``classical_*``, with its ``classical_gamma``).

    The Tikhonov weight is tuned on the evaluation set itself (an oracle choice), so the
    classical figure is an upper bound of what that method gives."""
    base = evaluate_estimator(lambda y, p: lift(p, y, back_projection), data, physics)
    best: dict[str, float] | None = None
    for gamma in TIKHONOV_GAMMAS:
        m = evaluate_estimator(lambda y, p, g=gamma: lift(p, y, "tikhonov", g), data, physics)
        if best is None or m["psnr"] > best["psnr"]:
            best = {**m, "gamma": gamma}
    assert best is not None
    return {
        "baseline_psnr": base["psnr"], "baseline_ssim": base["ssim"],
        "classical_psnr": best["psnr"], "classical_ssim": best["ssim"], "classical_gamma": best["gamma"],
    }
