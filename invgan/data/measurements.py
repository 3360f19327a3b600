"""Measurements, online (fresh noise and operator draws at every call) or fixed and seeded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from ..physics import MeasurementModel


@dataclass
class MeasuredSet:
    """A fixed evaluation set ``(x, y)``; ``operator_params`` holds the per-sample operator
    draws (e.g. masks) so that ``physics`` can be restored to the draw that made ``y``."""

    x: Tensor
    y: Tensor
    operator_params: dict[str, Tensor]

    def __len__(self) -> int:
        return self.x.shape[0]

    def batches(self, batch_size: int) -> Iterator[tuple[Tensor, Tensor, dict[str, Tensor]]]:
        for s in range(0, len(self), batch_size):
            params = {k: v[s : s + batch_size] for k, v in self.operator_params.items()}
            yield self.x[s : s + batch_size], self.y[s : s + batch_size], params


def fixed_measurements(model: MeasurementModel, x: Tensor, seed: int = 0) -> MeasuredSet:
    """Measure ``x`` once with noise and operator draws from ``seed``, leaving the model's own
    random streams (those of online training) untouched.

    :Example:

    >>> import torch
    >>> from invgan.data import fixed_measurements
    >>> from invgan.physics import make_physics
    >>> model = make_physics("inpainting", (1, 8, 8), keep=0.5, fresh_per_sample=True)
    >>> data = fixed_measurements(model, torch.rand(3, 1, 8, 8), seed=0)
    >>> tuple(data.y.shape), sorted(data.operator_params)
    ((3, 1, 8, 8), ['mask'])
    >>> torch.equal(data.y, fixed_measurements(model, data.x, seed=0).y)
    True
    """
    saved = model.rng_state()
    cpu_state = torch.get_rng_state()
    try:
        torch.manual_seed(seed)
        noise_rng = getattr(getattr(model.physics, "noise_model", None), "rng", None)
        if noise_rng is not None:
            noise_rng.manual_seed(seed)
        params: dict[str, Tensor] = {}
        if model.generator is not None:
            if getattr(model.generator, "rng", None) is not None:
                model.generator.rng.manual_seed(seed + 1)
            params = model.generator.step(batch_size=x.shape[0])
            y = model.physics(x, **params)
        else:
            y = model.physics(x)
    finally:
        model.set_rng_state(saved)
        torch.set_rng_state(cpu_state)
    return MeasuredSet(x=x, y=y.detach(), operator_params={k: v.detach() for k, v in params.items()})
