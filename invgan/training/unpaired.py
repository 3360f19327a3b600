r"""Unpaired training (CycleGAN, Zhu et al. 2017) as a configuration of the GAN core.

* :class:`UnpairedInput`: the batch holds clean crops :math:`x` and clean crops
  :math:`x'` of *other* images; :math:`y = \mathcal{N}(A x')` is measured here, so no
  measurement is ever paired with its clean image. ``G`` (a
  :class:`~invgan.nets.cycle.CycleGenerators`) gives :math:`\hat x = G_c(y)` and
  :math:`\hat y = G_m(x)`.
* :class:`UnpairedView`: ``D`` (a :class:`~invgan.nets.cycle.PairedCritics`) judges
  :math:`(x, y)` against :math:`(\hat x, \hat y)`; in ``D``'s phase the fakes come through a
  :class:`HistoryPool` per domain (Shrivastava et al. 2017), in ``G``'s phase they are the step's own.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..losses import GANStep
from ..nets.cycle import TO_MEASURED
from ..physics import MeasurementModel
from .distributed import offset_generator
from .gan import MeasurementInput


class HistoryPool:
    r"""A buffer of up to ``size`` past fakes that ``D`` is shown instead of only the newest.

    Each sample of a batch, in order: while the pool holds fewer than ``size`` samples, it is
    stored and returned as is; afterwards, with probability :math:`\tfrac12` it is swapped with a
    uniformly chosen stored sample (the stored one is returned, the new one takes its place), else
    returned as is. ``size = 0`` returns every batch unchanged. The draws come from a seeded
    stream; :meth:`rng_state` holds it and the stored samples, for exact resume."""

    def __init__(self, size: int = 50, seed: int = 0):
        if size < 0:
            raise ValueError(f"invalid history pool size={size!r}: expected an integer >= 0 (0: no pool)")
        self.size = size
        self.rng = torch.Generator().manual_seed(seed)
        self.stored: Tensor | None = None  # (size, ...) once the first batch arrived
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def __call__(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        if self.stored is None:
            self.stored = fakes.new_zeros(self.size, *fakes.shape[1:])
        elif self.stored.shape[1:] != fakes.shape[1:]:
            raise ValueError(f"the history pool holds samples of shape {tuple(self.stored.shape[1:])}, got {tuple(fakes.shape[1:])}")
        elif self.stored.device != fakes.device:  # restored from a checkpoint loaded on the CPU
            self.stored = self.stored.to(fakes.device)
        out = fakes.clone()
        for i in range(fakes.shape[0]):
            if self.count < self.size:
                self.stored[self.count] = fakes[i]
                self.count += 1
            elif torch.rand((), generator=self.rng).item() < 0.5:
                j = int(torch.randint(self.size, (), generator=self.rng))
                out[i] = self.stored[j]
                self.stored[j] = fakes[i]
        return out

    def state(self) -> dict[str, Tensor]:
        state = {"rng": self.rng.get_state(), "count": torch.tensor(self.count)}
        if self.stored is not None:
            state["stored"] = self.stored.clone()
        return state

    def load_state(self, state: dict[str, Tensor]) -> None:
        self.rng.set_state(state["rng"])
        self.count = int(state["count"])
        stored = state.get("stored")
        if stored is not None and stored.shape[0] != self.size:
            raise ValueError(f"the saved history pool holds {stored.shape[0]} samples, this one {self.size}")
        self.stored = stored.clone() if stored is not None else None


class UnpairedInput(MeasurementInput):
    r""":math:`\hat x = G_c(y)` and :math:`\hat y = G_m(x)`, with :math:`y = \mathcal{N}(A x')`
    measured from the batch's ``other_key`` images :math:`x'` (disjoint from its ``"x"`` images)."""

    def __init__(self, measurement: MeasurementModel, other_key: str = "x_other"):
        super().__init__(measurement)  # its operator's random streams are this input's
        self.other_key = other_key

    def __call__(self, G: nn.Module, batch: dict[str, Any], step: int) -> GANStep:
        if "x" not in batch or self.other_key not in batch:
            raise ValueError(f"unpaired training needs clean images 'x' and images {self.other_key!r} to measure, "
                             f"but the batch has {sorted(batch)} (use UnpairedCropStream)")
        x = batch["x"]
        y = self.measurement.measure(batch[self.other_key])
        if y.shape[1:] != x.shape[1:]:
            raise ValueError(f"unpaired training maps measurements to images of the same shape, but the operator gives "
                             f"{tuple(y.shape[1:])} from images of {tuple(x.shape[1:])} (use an image-to-image operator: "
                             "blur, circular padding, or denoising)")
        physics = self.measurement.physics
        x_hat = G(y, physics)
        y_hat = G(x, physics, direction=TO_MEASURED)
        return GANStep(x_hat=x_hat, x=x, y=y, physics=physics, model=G, batch=batch, step=step, extras={"y_hat": y_hat})


class UnpairedView:
    r"""``D`` = :math:`[D_c, D_m]` judges :math:`(x, y)` as real and :math:`(\hat x, \hat y)` as
    fake; in ``D``'s phase each fake goes through its domain's :class:`HistoryPool` of
    ``pool_size`` samples."""

    def __init__(self, pool_size: int = 50, seed: int = 0):
        self.pools = {"clean": HistoryPool(pool_size, seed), "measured": HistoryPool(pool_size, seed + 1)}

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if s.x is None or s.y is None or "y_hat" not in s.extras:
            raise ValueError("an unpaired view needs x, y, x_hat and extras['y_hat'] (use UnpairedInput)")
        return (s.x, s.y), (s.x_hat, s.extras["y_hat"])

    def for_discriminator(self, fake: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x_hat, y_hat = fake
        return self.pools["clean"](x_hat), self.pools["measured"](y_hat)

    def rng_state(self) -> dict[str, Tensor]:
        return {f"pool/{name}/{k}": v for name, pool in self.pools.items() for k, v in pool.state().items()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        for name, pool in self.pools.items():
            prefix = f"pool/{name}/"
            mine = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if mine:
                pool.load_state(mine)

    def shard_streams(self, rank: int) -> None:
        for pool in self.pools.values():
            offset_generator(pool.rng, rank)
