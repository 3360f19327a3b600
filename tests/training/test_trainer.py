"""The trainer: phases touch only their network, one G forward per step, exact resume,
atomic checkpoints, NaN stop, evaluation in eval mode."""

from __future__ import annotations

import json
import math

import pytest
import torch

from invgan.config import resolve
from invgan.training import NonFiniteLossError, build_conditional
from invgan.training import checkpoint as ckpt


def params(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def build(overrides, *extra):
    return build_conditional(resolve("conditional", overrides=list(overrides) + list(extra)))


def test_d_step_changes_only_d(tiny_overrides):
    run = build(tiny_overrides, "optim.n_critic=2")
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    tr.step = 1  # step 1: D is due, G (every 2 steps) is not
    g0, d0 = params(G), params(D)
    logs = tr.train_step(run.stream[1])
    assert {k.split("/")[0] for k in logs} == {"D"}
    assert same(g0, params(G)) and not same(d0, params(D))
    assert all(p.grad is None for p in G.parameters())


def test_g_step_changes_only_g_and_puts_no_gradient_into_d(tiny_overrides):
    run = build(tiny_overrides)
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    tr.phases = [p for p in tr.phases if p.name == "G"]  # a G-only step
    g0, d0 = params(G), params(D)
    grads_into_d = []
    for p in D.parameters():
        p.register_hook(lambda g: grads_into_d.append(g))
    logs = tr.train_step(run.stream[0])
    assert "G/adv" in logs and logs["G/adv"].item() != 0
    assert not same(g0, params(G)) and same(d0, params(D))
    assert grads_into_d == [] and all(p.grad is None for p in D.parameters())


def test_one_generator_forward_per_step_shared_by_both_phases(tiny_overrides):
    run = build(tiny_overrides)
    calls = []
    run.trainer.networks["G"].register_forward_hook(lambda *a: calls.append(1))
    logs = run.trainer.train_step(run.stream[0])
    assert {"D", "G"} <= set(logs) and len(calls) == 1


def test_d_sees_the_fake_detached(tiny_overrides):
    run = build(tiny_overrides)
    recipe = run.trainer.recipe
    batch = recipe(run.stream[0], 0)
    loss = recipe.discriminator_loss(batch)[0]
    G = run.trainer.networks["G"]
    grads = torch.autograd.grad(loss, list(G.parameters()), allow_unused=True)
    assert all(g is None for g in grads)


@pytest.mark.parametrize("extra", [
    ["optim.ema=0.9"],
    ["physics.name='inpainting'", "physics.fresh_per_sample=true", "model.latent_channels=1", "optim.n_critic=2"],
    ["physics.name='inpainting'", "physics.fresh_per_sample=true"],
    ["physics.name='inpainting'", "physics.fresh_per_sample=true", "loss.adversarial='measurement'", "loss.fresh_operator=true",
     "loss.reconstruction='none'", "loss.mc_weight=1", "loss.self_supervised='splitting'"],  # the splitting masks' stream
    ["model.latent_channels=1"],
    ["optim.n_critic=2"],
    # rcGAN with the adapted std reward: its scale is part of the state
    ["model.latent_channels=1", "loss.reconstruction='l1'", "loss.posterior_samples=2", "loss.std_weight=1", "loss.std_adapt=0.5"],
])
def test_resume_gives_the_same_next_steps_as_an_uninterrupted_run(tiny_overrides, tmp_path, extra):
    full = build(tiny_overrides, *extra, f"train.out_dir='{tmp_path / 'a'}'", "train.eval_every=2")
    full.fit()
    train_rows = lambda h: [r for r in h if "D" in r and r["step"] > 2]  # noqa: E731
    ref_losses = train_rows(full.trainer.history)

    half = build(tiny_overrides, *extra, f"train.out_dir='{tmp_path / 'b'}'", "train.eval_every=2")
    half.trainer.steps = 2
    half.fit()
    half.trainer.save(tmp_path / "b" / "mid.pt")

    torch.manual_seed(123)  # a resumed process starts from other global random state
    resumed = build(tiny_overrides, *extra, f"train.out_dir='{tmp_path / 'c'}'", "train.eval_every=2")
    resumed.trainer.resume(tmp_path / "b" / "mid.pt")
    assert resumed.trainer.step == 2
    resumed.fit()
    assert train_rows(resumed.trainer.history) == ref_losses and len(ref_losses) == 2
    for key in ("G", "D"):
        assert same(params(full.trainer.networks[key]), params(resumed.trainer.networks[key]))
    for key, ema in full.trainer.emas.items():
        assert same(params(ema), params(resumed.trainer.emas[key]))


def test_half_written_checkpoint_never_replaces_a_good_one(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ckpt.save_atomic({"step": 1, "w": torch.ones(3)}, path)

    def crash(obj, f, *a, **k):
        f.write(b"partial bytes")
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_atomic({"step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    good = ckpt.load(path)
    assert good["step"] == 1 and torch.equal(good["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_checkpoint_loads_with_weights_only(tiny_overrides, tmp_path):
    run = build(tiny_overrides, "train.checkpoint_every=2", "optim.ema=0.5")
    run.fit()
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 4 and set(state["networks"]) == {"G", "D"}
    assert {"optimizers", "schedulers", "ema", "rng", "recipe_rng", "config"} <= set(state)


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match="not a readable invgan checkpoint"):
        ckpt.load(tmp_path / "bad.pt")


@pytest.mark.parametrize("log_every", [1, 10])
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_overrides, tmp_path, log_every):
    """With log_every=10 the losses are read on the host only after the NaN; a checkpoint written
    in between must still not hold weights past it (the finiteness flag is checked before it)."""
    run = build(tiny_overrides, "train.checkpoint_every=1", f"train.log_every={log_every}", "train.steps=6")
    original = run.trainer.recipe.generator_loss

    def poisoned(b):
        loss, terms = original(b)
        return (loss * float("nan") if run.trainer.step >= 3 else loss), terms

    for p in run.trainer.phases:
        if p.name == "G":
            p.loss = poisoned
    with pytest.raises(NonFiniteLossError, match=r"'G' became nan at step 4.*last.pt"):
        run.fit()
    good = ckpt.load(tmp_path / "run" / "last.pt")
    assert good["step"] == 3
    assert all(torch.isfinite(v).all() for v in good["networks"]["G"].values())


def test_evaluation_uses_eval_mode_restores_it_and_logs_files(tiny_overrides, tmp_path):
    run = build(tiny_overrides, "train.eval_every=2", "model.norm='batch'")
    tr = run.trainer
    seen = []
    tr.networks["G"].register_forward_pre_hook(lambda m, a: seen.append(m.training))
    run.fit()
    assert False in seen and True in seen and tr.networks["G"].training
    out = tmp_path / "run"
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [r["eval"] for r in rows if "eval" in r]
    assert len(evals) == 2 and {"psnr", "ssim", "baseline_psnr", "classical_psnr"} <= set(evals[0])
    assert evals[0]["classical_psnr"] >= evals[0]["baseline_psnr"]
    assert (out / "latest.png").exists() and (out / "best.pt").exists()


def test_fp16_on_cpu_is_refused(tiny_overrides):
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        build(tiny_overrides, "train.precision='fp16'")


def test_bf16_autocast_on_cpu_trains(tiny_overrides):
    run = build(tiny_overrides, "train.precision='bf16'", "train.steps=2")
    g0 = params(run.trainer.networks["G"])
    run.fit()
    assert not same(g0, params(run.trainer.networks["G"]))
    assert all(p.dtype == torch.float32 for p in run.trainer.networks["G"].parameters())


def test_gradient_clipping_bounds_the_update(tiny_overrides):
    run = build(tiny_overrides, "optim.grad_clip=1e-6", "optim.lr_g=1.0", "loss.adv_weight=0", "optim.scheduler='none'")
    g0 = params(run.trainer.networks["G"])
    # SGD-like bound: with Adam the step is lr-sized anyway, so check the clipped gradient norm instead
    norms = []
    G = run.trainer.networks["G"]
    orig_step = run.trainer.optimizers["G"].step

    def step(*a, **k):
        norms.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in G.parameters()])).item())
        return orig_step(*a, **k)

    run.trainer.optimizers["G"].step = step
    run.trainer.train_step(run.stream[0])
    assert norms and norms[0] <= 1e-6 * 1.01
    assert not same(g0, params(G))


@pytest.mark.parametrize("mode", ["measurement", "uair"])
def test_self_supervised_modes_never_use_ground_truth(tiny_overrides, mode):
    run = build(tiny_overrides, f"loss.adversarial='{mode}'", "loss.reconstruction='none'", "loss.mc_weight=1.0", "loss.adv_weight=1.0")
    recipe = run.trainer.recipe
    batch = recipe(run.stream[0], 0)
    batch.x = None  # any use of the truth would raise
    d_loss, _ = recipe.discriminator_loss(batch)
    g_loss, terms = recipe.generator_loss(batch)
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss) and {"adv", "mc"} <= set(terms)


def test_ema_warms_up_and_handles_batchnorm_buffers(tiny_overrides):
    run = build(tiny_overrides, "optim.ema=0.999", "model.norm='batch'", "train.steps=3")
    run.fit()
    G, ema = run.trainer.networks["G"], run.trainer.emas["G"].module
    # with warm-up the copy follows the early weights closely instead of staying at the initial ones
    gap = max((a - b).abs().max().item() for a, b in zip(G.parameters(), ema.parameters()))
    moved = max((a - b).abs().max().item() for a, b in zip(G.parameters(), params(build(tiny_overrides, "model.norm='batch'").trainer.networks["G"])))
    assert gap < 0.5 * moved
    bn = [m for m in ema.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert bn.num_batches_tracked.item() == 3


def test_spectral_norm_is_evaluated_once_per_discriminator_phase(tiny_overrides):
    run = build(tiny_overrides, "model.spectral_norm=true")
    D = run.trainer.networks["D"]
    sn_calls = []
    for m in D.modules():
        if hasattr(m, "parametrizations"):
            m.parametrizations.weight[0].register_forward_hook(lambda *a: sn_calls.append(1))
    n_sn = len([m for m in D.modules() if hasattr(m, "parametrizations")])
    run.trainer.train_step(run.stream[0])
    assert n_sn > 0 and len(sn_calls) == 2 * n_sn  # once in the D phase (real and fake), once in the G phase


def test_auto_precision_is_fp32_on_every_device_and_bf16_only_when_asked(tiny_overrides, monkeypatch):
    import invgan.precision as prec
    from invgan.precision import choose_precision

    assert build(tiny_overrides).trainer.precision == "fp32"  # train.precision defaults to "auto"
    for native in (True, False):
        monkeypatch.setattr(prec, "native_bf16", lambda device, n=native: n)
        assert choose_precision("auto", torch.device("cpu"), "training") == "fp32"
        assert choose_precision("auto", torch.device("cuda"), "training") == "fp32"  # bf16 never faster on an H200
        assert choose_precision("bf16", torch.device("cpu"), "training") == "bf16"


def test_checkpoints_get_the_same_permissions_as_other_outputs(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        ckpt.save_atomic({"step": 1}, tmp_path / "last.pt")
        (tmp_path / "log.jsonl").write_text("{}\n")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "last.pt") == mode(tmp_path / "log.jsonl") == 0o644


def test_resuming_with_more_steps_continues_the_cosine_down(tiny_overrides, tmp_path):
    """A run of 4 steps resumed for 8: the schedule is re-aimed at 8 steps at update 4 (the rate
    never climbs back up as the restored T_max=4 made it), and ends where an 8-step run ends."""
    short = build(tiny_overrides, "optim.scheduler='cosine'", "train.steps=4")
    short.fit()
    short.trainer.save(tmp_path / "four.pt")
    lr = lambda tr: tr.optimizers["G"].param_groups[0]["lr"]  # noqa: E731
    longer = build(tiny_overrides, "optim.scheduler='cosine'", "train.steps=8", f"train.out_dir='{tmp_path / 'b'}'")
    longer.trainer.resume(tmp_path / "four.pt")
    lrs = [lr(longer.trainer)]
    for t in range(4, 8):
        longer.trainer.train_step(longer.stream[t])
        lrs.append(lr(longer.trainer))
    full = build(tiny_overrides, "optim.scheduler='cosine'", "train.steps=8", f"train.out_dir='{tmp_path / 'c'}'")
    lr0, eta_min = lr(full.trainer), 0.01 * lr(full.trainer)
    expected = [eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(4, 9)]
    assert lrs == pytest.approx(expected, rel=1e-6)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_resume_trims_the_log_and_removes_stale_checkpoint_files(tiny_overrides, tmp_path):
    run = build(tiny_overrides, "train.checkpoint_every=2", "train.steps=4")
    run.fit()
    out = tmp_path / "run"
    ckpt.save_atomic(torch.load(out / "last.pt", weights_only=True), out / "mid.pt")
    with open(out / "log.jsonl", "a") as f:
        f.write('{"step": 5, "D": 0.1}\n{"step": 6, "D"')  # a killed run: rows past the checkpoint, a torn line
    (out / ".last.pt.abc123.tmp").write_bytes(b"x" * 1000)  # a kill during a checkpoint write
    state = torch.load(out / "last.pt", weights_only=True)
    state["step"] = 2
    torch.save(state, out / "two.pt")
    again = build(tiny_overrides, "train.checkpoint_every=2", "train.steps=4")
    again.trainer.resume(out / "two.pt")
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    again.fit()
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if not r.get("done")] == [1, 2, 3, 4]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
