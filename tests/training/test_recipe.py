"""Tests of invgan.training.recipe."""

from __future__ import annotations
import math
import pytest
import torch
from torch import nn
from invgan.training import Phase, Recipe, Trainer
from invgan.training.trainer import correct_for_lazy_phases, updates_per_network


class ThreePhases(Recipe):
    """Fits ``a`` and ``b`` to a dict batch: phase ``A`` every step, ``B`` from step 2, and a lazy
    ``reg`` on ``b`` every 3 steps. The batch is a dict {"x": images, "label": integer labels}."""

    generator_key = "a"

    def __init__(self):
        super().__init__()
        self.networks["a"] = nn.Linear(4, 1)
        self.networks["b"] = nn.Linear(4, 1)
        self.calls: list[tuple[int, str]] = []
        self.seen: list[dict] = []

    def forward(self, batch, step):
        self.seen.append(batch)
        return {"x": batch["x"].flatten(1)[:, :4], "label": batch["label"].float(), "step": step}

    def _loss(self, name, key):
        def fn(ctx):
            self.calls.append((ctx["step"], name))
            out = self.networks[key](ctx["x"]).squeeze(1)
            return (out - ctx["label"]).pow(2).mean(), {"mean": out.mean()}
        return fn

    def phases(self):
        return [
            Phase("A", ("a",), self._loss("A", "a")),
            Phase("B", ("b",), self._loss("B", "b"), start=2),
            Phase("reg", ("b",), lambda ctx: (self.networks["b"].weight.pow(2).sum(), {}), every=3, lazy=True, weight=0.5),
        ]


def batches(n):
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.rand(4, 1, 2, 2, generator=g), "label": torch.randint(3, (4,), generator=g)} for _ in range(n)]


def test_phases_due_start_every_and_lazy():
    recipe = ThreePhases()
    opts = {k: torch.optim.Adam(v.parameters(), 1e-2) for k, v in recipe.networks.items()}
    tr = Trainer(recipe, opts, steps=7, device="cpu", progress=False)
    tr.fit(batches(7))
    due = {name: [t for t, n in recipe.calls if n == name] for name in ("A", "B")}
    assert due == {"A": list(range(7)), "B": list(range(2, 7))}
    assert [t for t in range(7) if tr.phases[2].due(t)] == [0, 3, 6]
    # dict batches reach the recipe as dicts, with integer labels untouched
    assert set(recipe.seen[0]) == {"x", "label"} and recipe.seen[0]["label"].dtype == torch.int64


def test_lazy_phase_gain_and_optimiser_correction():
    recipe = ThreePhases()
    opts = {k: torch.optim.Adam(v.parameters(), 1e-2, betas=(0.5, 0.99)) for k, v in recipe.networks.items()}
    tr = Trainer(recipe, opts, steps=1, device="cpu", progress=False)
    c = 3 / 4  # k / (k + 1) for k = 3
    group = tr.optimizers["b"].param_groups[0]
    assert group["lr"] == pytest.approx(1e-2 * c)
    assert group["betas"] == pytest.approx((0.5**c, 0.99**c))
    assert tr.optimizers["a"].param_groups[0]["lr"] == pytest.approx(1e-2)  # no lazy phase trains a
    # the lazy phase's backward carries weight * gain = 0.5 * 3 times its loss: with plain SGD the
    # update of b's weight at step 0 (reg is due, B is not) is exactly lr * 1.5 * d||w||^2/dw
    recipe = ThreePhases()
    w0 = recipe.networks["b"].weight.detach().clone()
    sgd = {k: torch.optim.SGD(v.parameters(), lr=0.1) for k, v in recipe.networks.items()}
    tr = Trainer(recipe, sgd, steps=1, device="cpu", progress=False)
    lr = tr.optimizers["b"].param_groups[0]["lr"]
    assert lr == pytest.approx(0.1 * c)  # SGD has no betas: only its rate is corrected
    tr.train_step(batches(1)[0])
    assert torch.allclose(recipe.networks["b"].weight, w0 - lr * 1.5 * 2 * w0)


def test_correction_leaves_eager_phases_alone():
    net = nn.Linear(2, 1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    correct_for_lazy_phases([Phase("R", ("D",), lambda c: c, every=4)], {"D": opt})  # not lazy
    assert opt.param_groups[0]["lr"] == 1e-3


def test_scheduler_counts_the_steps_that_update_each_network():
    recipe = ThreePhases()
    assert updates_per_network(recipe.phases(), 7) == {"a": 7, "b": 6}  # b: reg at 0, then B from 2 on (reg at 3, 6 too)
    phases = [Phase("G", ("G",), None, every=3), Phase("D", ("D",), None, start=4)]
    assert updates_per_network(phases, 10) == {"G": math.ceil(10 / 3), "D": 6}
