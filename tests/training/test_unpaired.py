"""CycleGAN's unpaired training: the history pool, the unpaired stream and input, the preset end to end,
which network each phase updates, and exact resume (pool included)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from invgan.cli import main
from invgan.config import resolve
from invgan.data import UnpairedCropStream, split_by_image
from invgan.losses import GANStep
from invgan.nets import CycleGenerators
from invgan.physics import make_physics
from invgan.training import HistoryPool, UnpairedInput, UnpairedView, build_run

CYCLE = ["loss.adversarial='unpaired'", "loss.reconstruction='none'", "loss.adv_weight=1.0", "loss.cycle_weight=10.0",
         "loss.pool_size=3", "model.d_layers=1"]


def params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def build(overrides, *extra):
    return build_run(resolve("conditional", overrides=list(overrides) + CYCLE + list(extra)))


# ---------------------------------------------------------------- the history pool
def test_history_pool_fills_then_swaps_half_the_time_and_resumes():
    pool = HistoryPool(size=4, seed=0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool(first), first) and len(pool) == 4  # filling: the new fakes come back
    seen = set(range(4))
    swapped = total = 0
    for k in range(1, 201):
        new = (100.0 * k + torch.arange(3.0)).view(3, 1, 1, 1)
        out = pool(new)
        assert out.shape == new.shape and len(pool) == 4
        for o, n in zip(out.flatten().tolist(), new.flatten().tolist()):
            total += 1
            if o != n:
                swapped += 1
                assert o in seen  # an older fake, stored before (possibly by an earlier sample of this batch)
            seen.add(n)
        assert set(pool.stored.flatten().tolist()) <= seen
    assert 0.42 < swapped / total < 0.58  # probability 1/2 of 600 draws
    state = pool.state()
    a = pool(torch.full((3, 1, 1, 1), -1.0))
    pool.load_state(state)
    assert torch.equal(pool(torch.full((3, 1, 1, 1), -1.0)), a)
    assert torch.equal(HistoryPool(0)(first), first)  # size 0: no pool
    with pytest.raises(ValueError, match="pool size"):
        HistoryPool(-1)


def test_unpaired_view_pools_fakes_for_d_only_and_saves_both_pools():
    view = UnpairedView(pool_size=2, seed=0)
    x, y, x_hat, y_hat = (torch.full((2, 1, 2, 2), v) for v in (1.0, 2.0, 3.0, 4.0))
    s = GANStep(x_hat=x_hat, x=x, y=y, extras={"y_hat": y_hat})
    real, fake = view(s)
    assert real == (x, y) and fake == (x_hat, y_hat)
    assert all(torch.equal(a, b) for a, b in zip(view.for_discriminator(fake), fake))  # filling
    state = view.rng_state()
    assert {"pool/clean/stored", "pool/measured/stored", "pool/clean/rng", "pool/measured/count"} <= set(state)
    newer = (torch.full((2, 1, 2, 2), 5.0), torch.full((2, 1, 2, 2), 6.0))
    out = view.for_discriminator(newer)
    fresh = UnpairedView(pool_size=2, seed=0)
    fresh.set_rng_state(state)
    assert all(torch.equal(a, b) for a, b in zip(fresh.for_discriminator(newer), out))


# ---------------------------------------------------------------- losses and networks by hand
class Affine(nn.Module):
    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, t):
        return self.scale * t + self.shift


# ---------------------------------------------------------------- data and input
def test_unpaired_stream_uses_disjoint_images_and_depends_only_on_the_step():
    images = [torch.full((1, 8, 8), float(i)) for i in range(5)]
    clean, other = split_by_image(images)
    assert {int(im[0, 0, 0]) for im in clean} == {0, 2, 4} and {int(im[0, 0, 0]) for im in other} == {1, 3}
    stream = UnpairedCropStream(clean, other, 4, 6, seed=3)
    b = stream[7]
    assert set(b["x"].flatten().tolist()) <= {0.0, 2.0, 4.0} and set(b["x_other"].flatten().tolist()) <= {1.0, 3.0}
    assert torch.equal(stream[7]["x"], b["x"]) and torch.equal(stream[7]["x_other"], b["x_other"])
    assert [torch.equal(u["x"], v["x"]) for u, v in zip(stream.loader(7, 8), [b])] == [True]
    with pytest.raises(ValueError, match="at least 2"):
        split_by_image(images[:1])


def test_unpaired_input_measures_the_other_images_and_runs_both_generators():
    op = make_physics("blur", (1, 16, 16), sigma=1.0, noise="none")
    G = CycleGenerators(Affine(2, 0), Affine(1, 1))
    x, other = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    s = UnpairedInput(op)(G, {"x": x, "x_other": other}, 0)
    assert torch.allclose(s.y, op.physics.A(other)) and torch.allclose(s.x_hat, 2 * s.y) and torch.allclose(s.extras["y_hat"], x + 1)
    with pytest.raises(ValueError, match="x_other"):
        UnpairedInput(op)(G, {"x": x}, 0)


# ---------------------------------------------------------------- runs: preset, phases, resume
def test_cyclegan_preset_trains_from_the_cli_and_evaluates(image_root, tmp_path, capsys):
    out = tmp_path / "cyc"
    sets = [f"data.source='{image_root}'", "data.crop=16", "data.batch_size=2", "data.eval_crops=4", "model.width=4", "model.depth=2",
            "model.d_width=4", "model.d_layers=1", "train.steps=3", "train.eval_every=3", "train.progress=false",
            "train.tensorboard=false", "train.device='cpu'"]
    args = ["train", "--preset", "cyclegan-deblur", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert any("G/cycle" in r and "G/identity" in r and "D" in r for r in rows)
    capsys.readouterr()
    assert main(["eval", str(out), "--checkpoint", "last", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"psnr", "ssim", "baseline_psnr", "classical_psnr"} <= set(metrics)
    img = tmp_path / "img.png"
    from invgan.data import write_image
    write_image(torch.rand(1, 16, 16), img)
    assert main(["reconstruct", "--checkpoint", str(out / "last.pt"), str(img), "--out", str(tmp_path / "rec")]) == 0


def test_unpaired_needs_no_pairs_in_its_losses(tiny_overrides):
    with pytest.raises(ValueError, match="loss.reconstruction='none'"):
        build(tiny_overrides, "loss.reconstruction='mse'")
    with pytest.raises(ValueError, match="mc_weight"):
        build(tiny_overrides, "loss.mc_weight=1.0")
    with pytest.raises(ValueError, match="pool_size"):
        build(tiny_overrides, "loss.pool_size=-1")


def test_d_phase_updates_only_the_critics_and_g_phase_only_the_generators(tiny_overrides):
    run = build(tiny_overrides, "optim.n_critic=2")
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    tr.step = 1  # D is due, G (every 2 steps) is not
    g0, d0 = params(G), params(D)
    logs = tr.train_step(run.stream[1])
    assert {k.split("/")[0] for k in logs} == {"D"}
    assert same(g0, params(G)) and not same(d0, params(D)) and all(p.grad is None for p in G.parameters())

    run = build(tiny_overrides)
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    tr.phases = [p for p in tr.phases if p.name == "G"]
    g0, d0 = params(G), params(D)
    logs = tr.train_step(run.stream[0])
    assert {"G/adv", "G/cycle", "G/identity"} <= set(logs)
    assert same(d0, params(D)) and all(p.grad is None for p in D.parameters())
    # both generators learn (G_m gets gradients from D_m and the cycles, G_c from D_c and the cycles)
    assert not same(params(G.to_clean), g0[: len(params(G.to_clean))]) and not same(params(G.to_measured), g0[len(params(G.to_clean)):])


def test_resume_gives_the_same_next_steps_pool_included(tiny_overrides, tmp_path):
    full = build(tiny_overrides, f"train.out_dir='{tmp_path / 'a'}'", "train.eval_every=2")
    full.fit()
    rows = lambda h: [r for r in h if "D" in r and r["step"] > 2]  # noqa: E731
    ref = rows(full.trainer.history)

    half = build(tiny_overrides, f"train.out_dir='{tmp_path / 'b'}'", "train.eval_every=2")
    half.trainer.steps = 2
    half.fit()
    assert len(half.trainer.recipe.view.pools["clean"]) == 3  # full (pool_size 3, 2 steps of 2): swaps from then on
    half.trainer.save(tmp_path / "b" / "mid.pt")

    torch.manual_seed(123)
    resumed = build(tiny_overrides, f"train.out_dir='{tmp_path / 'c'}'", "train.eval_every=2")
    resumed.trainer.resume(tmp_path / "b" / "mid.pt")
    resumed.fit()
    assert rows(resumed.trainer.history) == ref and len(ref) == 2
    for key in ("G", "D"):
        assert same(params(full.trainer.networks[key]), params(resumed.trainer.networks[key]))
    for name, pool in full.trainer.recipe.view.pools.items():
        assert torch.equal(pool.stored, resumed.trainer.recipe.view.pools[name].stored)


def test_d_phase_judges_the_views_pooled_fakes_and_g_phase_the_steps_own(tiny_overrides):
    recipe = build(tiny_overrides).trainer.recipe
    D = recipe.networks["D"].eval()  # spectral norm's power iteration stands still: D is the same function in each call
    s = recipe({"x": torch.rand(2, 1, 16, 16), "x_other": torch.rand(2, 1, 16, 16)}, 0)
    shown = []
    recipe.view.for_discriminator = lambda fake: shown.append(fake) or tuple(torch.zeros_like(t) for t in fake)
    recipe.discriminator_loss(s)
    assert len(shown) == 1 and all(not t.requires_grad for t in shown[0])  # the hook gets detached fakes
    with torch.no_grad():
        assert torch.equal(s.d_fake, D(torch.zeros_like(s.x_hat), torch.zeros_like(s.y)))
        recipe.generator_loss(s)
        assert len(shown) == 1 and torch.equal(s.d_fake, D(s.x_hat, s.extras["y_hat"]))


def test_history_pool_returns_the_first_size_samples_as_they_are_and_checks_its_input():
    pool = HistoryPool(size=3, seed=0)
    first = torch.arange(3.0).view(3, 1)
    assert torch.equal(pool(first), first) and len(pool) == 3  # filling: every sample stored and returned
    assert torch.equal(pool.stored, first)
    later = pool(torch.full((40, 1), 9.0))
    swapped = later[later != 9.0]
    assert 0 < swapped.numel() < 40 and set(swapped.tolist()) <= {0.0, 1.0, 2.0}  # about half swapped, for stored ones
    assert len(pool) == 3
    with pytest.raises(ValueError, match="shape"):
        pool(torch.zeros(2, 2))
    with pytest.raises(ValueError, match=">= 0"):
        HistoryPool(size=-1)
    with pytest.raises(ValueError, match="holds 3 samples, this one 5"):
        HistoryPool(size=5).load_state(pool.state())
    off = HistoryPool(size=0)
    x = torch.rand(4, 1)
    assert off(x) is x and len(off) == 0 and "stored" not in off.state()
