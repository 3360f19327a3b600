"""The trainer's contract, on a stand-in recipe that is not a GAN: dict batches, phases that start
late and run lazily with their gain and optimiser correction, EMA copies of any network,
schedulers counted per network, exact resume."""

from __future__ import annotations


import pytest
import torch
from torch import nn

from invgan.training import Phase, Recipe, Trainer
from invgan.training.trainer import move_batch


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


def test_ema_of_any_set_of_networks_and_resume(tmp_path):
    def run(stop, resume=None):
        torch.manual_seed(0)
        recipe = ThreePhases()
        opts = {k: torch.optim.Adam(v.parameters(), 1e-2) for k, v in recipe.networks.items()}
        tr = Trainer(recipe, opts, steps=6, device="cpu", progress=False, ema={"a": 0.9, "b": 0.5}, scheduler="cosine")
        tr.steps = stop
        if resume:
            tr.resume(resume)
        tr.fit(batches(6))
        return tr

    full = run(6)
    assert set(full.emas) == {"a", "b"}
    nets = full.eval_networks()
    assert nets["a"] is full.emas["a"].module and nets["b"] is full.emas["b"].module
    half = run(3)
    half.save(tmp_path / "mid.pt")
    resumed = run(6, tmp_path / "mid.pt")
    for key in ("a", "b"):
        for p, q in zip(full.networks[key].parameters(), resumed.networks[key].parameters()):
            assert torch.equal(p, q)
        for p, q in zip(full.emas[key].parameters(), resumed.emas[key].parameters()):
            assert torch.equal(p, q)


def test_move_batch_moves_nested_structures_and_keeps_non_images_contiguous():
    batch = {"x": torch.rand(2, 3, 4, 4), "label": torch.tensor([1, 2]), "pair": (torch.rand(2, 3, 4, 4), "name")}
    moved = move_batch(batch, torch.device("cpu"), torch.channels_last)
    assert moved["x"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(moved["label"], batch["label"]) and moved["pair"][1] == "name"
    assert moved["pair"][0].is_contiguous(memory_format=torch.channels_last)


def test_bad_ema_and_phase_settings_are_refused():
    recipe = ThreePhases()
    opts = {k: torch.optim.Adam(v.parameters(), 1e-2) for k, v in recipe.networks.items()}
    with pytest.raises(ValueError, match="ema names network 'G'"):
        Trainer(recipe, opts, steps=1, device="cpu", ema={"G": 0.9})
    with pytest.raises(ValueError, match="invalid ema=1.5"):
        Trainer(recipe, opts, steps=1, device="cpu", ema={"a": 1.5})
    with pytest.raises(ValueError, match="invalid every=0"):
        Phase("x", ("a",), None, every=0)
    with pytest.raises(ValueError, match="invalid scheduler='step'"):
        Trainer(recipe, opts, steps=1, device="cpu", scheduler="step")


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
