"""The deep-image-prior solver on tiny images (fixed seeds): config, stopping rules, backtracking, reconstructor."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from invgan.nets.dip import ConvDecoder, SkipNet
from invgan.physics import make_physics
from invgan.solvers.dip import DIPConfig, deep_image_prior

torch.set_num_threads(1)

def tiny(**overrides) -> DIPConfig:
    values = dict(net="convdecoder", blend="none", precision="fp32", channels=16, depth=3, in_size=4, lr=0.02, max_steps=60, window=10, patience=20, min_steps=20)
    values.update(overrides)
    return DIPConfig.from_dict(values)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / (a - b).pow(2).mean()))


# ---------------------------------------------------------------- config

def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match="unknown DIPConfig option .learning_rate."):
        DIPConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="ema"):
        DIPConfig(ema=1.0)
    with pytest.raises(ValueError, match="stop"):
        DIPConfig(stop="oracle")
    assert DIPConfig.from_dict(dataclasses.asdict(DIPConfig())) == DIPConfig()


# ---------------------------------------------------------------- solver

def test_stopping_rule_stops_near_psnr_peak(synthetic):
    """Denoising a 32x32 image: the fit first improves then reproduces the noise; the
    windowed-variance stop (no ground truth) returns an estimate close to the best one."""
    x = synthetic(32)
    model = make_physics("denoising", (1, 32, 32), noise_sigma=0.2, seed=1)
    torch.manual_seed(1)
    y = model.measure(x)
    common = dict(net="convdecoder", precision="fp32", channels=32, depth=3, in_size=4, lr=0.02, max_steps=200, ema=0.0, window=15, patience=30, min_steps=30,
                  input_noise=0.0, tv=0.0)  # the rule's mechanics on a fit that over-fits: no input perturbation, no TV
    full = deep_image_prior(y, model.physics, config=DIPConfig(stop="none", **common), reference=x, progress=False)
    curve = full.psnr_history[:, 0]
    peak, noisy = float(curve.max()), psnr(y, x)
    assert peak > noisy + 4, "the test case must have a PSNR peak well above the noisy input"
    assert float(curve[-1]) < peak - 1, "the test case must overfit after the peak"
    stopped = deep_image_prior(y, model.physics, config=DIPConfig(stop="wmv", **common), reference=x, progress=False)
    assert stopped.steps < 200
    assert psnr(stopped.x_hat, x) > peak - 1.0
    assert psnr(stopped.x_hat, x) > float(curve[-1])


def test_batch_gives_one_estimate_per_measurement_without_graph(synthetic):
    xs = torch.cat([synthetic(32, seed=s) for s in range(3)])
    model = make_physics("inpainting", (1, 32, 32), keep=0.6, noise="none", seed=0)
    y = model.measure(xs)
    with torch.enable_grad():
        res = deep_image_prior(y, model.physics, config=tiny(stop="none", max_steps=80), reference=xs, progress=False)
    assert res.x_hat.shape == xs.shape
    assert not res.x_hat.requires_grad and res.x_hat.grad_fn is None
    assert res.loss_history.shape == (80, 3) and res.psnr_history.shape == (80, 3)
    assert len(res.stopped_at) == 3
    # each estimate matches its own image better than any other one of the batch
    errors = torch.stack([(res.x_hat[i:i + 1] - xs).pow(2).flatten(1).mean(1) for i in range(3)])
    assert torch.equal(errors.argmin(dim=1), torch.arange(3))


def test_a_sample_whose_rule_fired_is_not_fitted_further(synthetic):
    """In a batch, a sample whose stop fired keeps its averaged output (its loss stays put) while the
    others run on; their runs are those of a batch whose first sample runs to the end."""
    xs = torch.cat([torch.full((1, 1, 32, 32), 0.5), synthetic(32, seed=2)])
    model = make_physics("denoising", (1, 32, 32), noise_sigma=0.1, seed=1)
    torch.manual_seed(0)
    y = model.measure(xs)
    res = deep_image_prior(y, model.physics, config=tiny(net="skip", depth=2, max_steps=300, discrepancy=1.0), progress=False)
    first, last = res.decided_at
    assert first < last == res.steps, "the test case needs the flat image to stop first"
    assert torch.allclose(res.loss_history[first:, 0], res.loss_history[first, 0].expand(res.steps - first), rtol=1e-5, atol=0)
    full = deep_image_prior(y, model.physics, config=tiny(net="skip", depth=2, max_steps=last, stop="none"), progress=False)
    assert torch.allclose(res.loss_history[:, 1], full.loss_history[:, 1])


def test_rgb_and_odd_size_with_skip_net(synthetic):
    x = synthetic(30, channels=3)[..., :27]
    model = make_physics("inpainting", (3, 30, 27), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, config=tiny(net="skip", depth=2, max_steps=40, stop="none"), progress=False)
    assert res.x_hat.shape == (1, 3, 30, 27)
    assert res.x_hat.grad_fn is None
    assert float(res.loss_history[-1, 0]) < float(res.loss_history[0, 0])


def test_the_fit_returns_freed_memory_every_fifty_steps(synthetic, monkeypatch):
    """A long channels-last run otherwise grows in resident memory (freed pages kept by glibc, invgan.memory)."""
    import invgan.solvers.dip as dip

    calls = []
    monkeypatch.setattr(dip, "release_free_memory", lambda: calls.append(1) or True)
    model = make_physics("denoising", (1, 16, 16), noise_sigma=0.1, seed=0)
    deep_image_prior(model.measure(synthetic(16)), model.physics, config=tiny(stop="none", max_steps=120), progress=False)
    assert len(calls) == 120 // dip._TRIM_EVERY


@pytest.mark.parametrize("net", ["skip", "convdecoder"])
def test_channels_last_is_a_layout_not_a_different_fit(synthetic, net):
    """The NHWC layout changes only the order of the floating-point sums: the same seed gives the
    same first output to rounding, and the same run after a few steps, whatever the layout."""
    x = synthetic(24, channels=3)
    model = make_physics("inpainting", (3, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    runs = [deep_image_prior(y, model.physics, config=tiny(net=net, depth=2, max_steps=5, stop="none", consistency="none",
                                                           channels_last=layout, lr=1e-3), progress=False)
            for layout in (False, True)]
    assert runs[0].config.channels_last is False and runs[1].config.channels_last is True
    torch.testing.assert_close(runs[1].loss_history[0], runs[0].loss_history[0], rtol=1e-5, atol=0)  # before any update
    # Adam's first steps are about lr * sign(gradient), so rounding can flip the update of a near-zero
    # gradient by 2 lr: at lr 0.02 the convdecoder runs differed by 5 % at step 3 on one CPU (AMX, one
    # thread); at lr 1e-3 they agree to about 3e-7 (the loss falls by half over the 5 steps)
    torch.testing.assert_close(runs[1].loss_history, runs[0].loss_history, rtol=1e-3, atol=0)
    torch.testing.assert_close(runs[1].x_hat, runs[0].x_hat, rtol=0, atol=1e-3)
    assert runs[1].x_hat.is_contiguous() or runs[1].x_hat.is_contiguous(memory_format=torch.channels_last)


def test_rerun_starts_from_fresh_weights_and_leaves_the_given_net_untouched(synthetic):
    x = synthetic(16)
    model = make_physics("denoising", (1, 16, 16), noise_sigma=0.1, seed=0)
    y = model.measure(x)
    net = ConvDecoder((1, 16, 16), in_size=(4, 4), depth=2, channels=8)
    before = [p.detach().clone() for p in net.parameters()]
    cfg = tiny(stop="none", max_steps=15)
    first = deep_image_prior(y, model.physics, net=net, config=cfg, progress=False)
    second = deep_image_prior(y, model.physics, net=net, config=cfg, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert torch.equal(first.x_hat, second.x_hat)  # same seed, fresh weights: same run, no warm start
    assert torch.equal(first.loss_history, second.loss_history)


@pytest.mark.parametrize("name,kwargs", [
    ("inpainting", dict(keep=0.5)),
    ("denoising", dict(noise_sigma=0.1)),
    ("blur", dict(sigma=1.0)),
    ("downsampling", dict(factor=2)),
    ("cs", dict(m=128)),
])
def test_every_operator_of_the_factory(synthetic, name, kwargs):
    x = synthetic(16)
    model = make_physics(name, (1, 16, 16), **kwargs)
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, config=tiny(stop="none", max_steps=40), progress=False)
    assert res.x_hat.shape == x.shape and torch.isfinite(res.x_hat).all()
    assert float(res.loss_history[-5:].mean()) < float(res.loss_history[:5].mean())


def test_input_noise_defaults_to_the_sr_value_for_downsampling_only(synthetic):
    from invgan.solvers.dip import SR_INPUT_NOISE

    x = synthetic(16)
    for name, kwargs, expected in (("downsampling", dict(factor=2), SR_INPUT_NOISE), ("inpainting", dict(keep=0.5), 0.0)):
        model = make_physics(name, (1, 16, 16), **kwargs)
        res = deep_image_prior(model.measure(x), model.physics, config=tiny(stop="none", max_steps=3), progress=False)
        assert res.config.input_noise == expected  # the result says what ran
    model = make_physics("downsampling", (1, 16, 16), factor=2)
    y = model.measure(x)
    a, b = (deep_image_prior(y, model.physics, config=tiny(stop="none", max_steps=5, input_noise=v), progress=False) for v in (0.0, None))
    assert a.config.input_noise == 0.0 and not torch.equal(a.x_hat, b.x_hat)  # an explicit 0 is kept, and it matters


class _JumpOnce(nn.Module):
    """ConvDecoder whose 12th forward pass is blown up, to trigger a backtrack."""

    def __init__(self):
        super().__init__()
        self.inner = ConvDecoder((1, 16, 16), in_size=(4, 4), depth=2, channels=8, sigmoid=False)
        self.calls = 0

    def input_shape(self):
        return self.inner.input_shape()

    def forward(self, z):
        self.calls += 1
        out = self.inner(z)
        return out * 1e3 if self.calls == 12 else out


def test_backtracks_when_the_loss_jumps(synthetic):
    x = synthetic(16)
    model = make_physics("denoising", (1, 16, 16), noise_sigma=0.05)
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, net=_JumpOnce(), config=tiny(stop="none", max_steps=30, checkpoint_every=5, ema=0.0, input_noise=0.0),
                           progress=False)
    assert res.backtracks == 1
    assert float(res.loss_history[10, 0]) > 100 * float(res.loss_history[9, 0])  # the jump was seen ...
    assert float(res.loss_history[-1, 0]) < float(res.loss_history[9, 0])  # ... and undone
    assert torch.isfinite(res.x_hat).all()


def test_measurement_that_does_not_fit_the_operator_is_a_clear_error(synthetic):
    model = make_physics("inpainting", (1, 32, 32), keep=0.5)
    with pytest.raises(ValueError, match="does not fit the operator"):
        deep_image_prior(torch.rand(1, 1, 24, 24), model.physics, config=tiny(progress=False))
    y = model.measure(synthetic(32))
    with pytest.raises(ValueError, match="reference"):
        deep_image_prior(y, model.physics, reference=torch.rand(1, 1, 16, 16), config=tiny(progress=False))
    with pytest.raises(ValueError, match="network outputs"):
        deep_image_prior(y, model.physics, net=ConvDecoder((1, 16, 16), in_size=(4, 4), depth=2, channels=4), config=tiny(progress=False))


def test_seeded_run_leaves_the_callers_random_stream_alone():
    from invgan.physics import make_physics
    from invgan.solvers.dip import DIPConfig, deep_image_prior

    mm = make_physics("denoising", (1, 32, 32), noise_sigma=0.1)
    y = mm.measure(torch.rand(1, 1, 32, 32))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    deep_image_prior(y, mm.physics, config=DIPConfig(max_steps=3, min_steps=1, seed=0, depth=3, channels=8), progress=False)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- stopping rules on synthetic traces

def _trace(steps: int, residual, change, variance=None, sigma: float = 0.0, drift=None, **cfg):
    """A recorded run (one sample) built from closed-form per-step statistics."""
    from invgan.solvers.dip import DIPResult

    t = torch.arange(1, steps + 1, dtype=torch.float32)
    col = lambda f: f(t).float()[:, None]  # noqa: E731
    var = col(variance) if variance is not None else torch.full((steps, 1), float("nan"))
    return DIPResult(x_hat=torch.empty(0), stopped_at=[], steps=steps, loss_history=col(residual), psnr_history=None, seconds=0.0,
                     residual_history=col(residual), change_history=col(change), variance_history=var, noise_sigma=[sigma],
                     drift_history=col(drift) if drift is not None else None, config=DIPConfig(stop="none", **cfg))


def test_convergence_rule_fires_on_the_drift_when_a_jitter_keeps_the_mean_change_up():
    from invgan.solvers.dip import replay_stop

    # a perturbed input: the per-step change stays at a jitter floor of 5e-4 (above the tolerance) for ever,
    # while the net motion over the window decays; the drift threshold fires where it crosses
    drift = lambda t: 1e-3 * torch.exp(-t / 300)  # noqa: E731
    run = _trace(3000, lambda t: 1e-3 + 0 * t, lambda t: 5e-4 + drift(t), drift=drift, tolerance=1.5e-4, window=100)
    stopped, _, _ = replay_stop(run, {"drift_tolerance": 0.0})
    assert stopped == [3000], "with drift_tolerance 0 (off) only the cap ends it"
    stopped, decided, rules = replay_stop(run, {"drift_tolerance": 1e-5})
    crossing = int(torch.nonzero(drift(torch.arange(1, 3001).float()) < 1e-5)[0]) + 1
    assert rules == ["convergence"] and stopped == decided == [crossing]
    # a run recorded before the drift existed replays as before
    old = dataclasses.replace(run, drift_history=None)
    assert replay_stop(old, {"drift_tolerance": 1e-5})[0] == [3000]


def test_drift_is_the_net_motion_of_the_averaged_estimate_and_online_equals_replay(synthetic):
    from invgan.solvers.dip import replay_stop

    x = synthetic(16)
    model = make_physics("downsampling", (1, 16, 16), factor=2, noise="none", seed=0)
    y = model.measure(x)
    cfg = tiny(max_steps=200, min_steps=10, window=10, tolerance=0.0, input_noise=0.05, drift_tolerance=2e-3)
    full = deep_image_prior(y, model.physics, config=cfg, stop="none", progress=False)
    d, c = full.drift_history[:, 0], full.change_history[:, 0]
    assert torch.isnan(d[:10]).all() and torch.isfinite(d[10:]).all()
    window_mean = torch.stack([c[t - 9 : t + 1].mean() for t in range(10, 200)])
    assert (d[10:] <= 1.05 * window_mean).all(), "the drift never exceeds the mean change (triangle inequality)"
    online = deep_image_prior(y, model.physics, config=cfg, progress=False)
    stopped, decided, _ = replay_stop(full, cfg)
    assert online.stopped_at == stopped and online.decided_at == decided and decided[0] < 200


def test_total_variation_by_hand_and_tv_weight_follows_the_noise_level(synthetic):
    from invgan.solvers.dip import total_variation

    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 1, 1] = 1.0  # four unit jumps over 9 pixels
    assert total_variation(x).tolist() == pytest.approx([4 / 9])
    flat = torch.ones(2, 3, 4, 4, requires_grad=True)
    total_variation(flat).sum().backward()
    assert torch.isfinite(flat.grad).all(), "a flat image has a finite gradient"

    img = synthetic(16)
    clean = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", seed=0)
    y = clean.measure(img)
    cfg = tiny(max_steps=30, stop="none")
    a = deep_image_prior(y, clean.physics, config=cfg, progress=False)
    b = deep_image_prior(y, clean.physics, config=cfg, tv=100.0, progress=False)
    assert torch.equal(a.x_hat, b.x_hat), "lambda = tv sigma^2 is 0 on a noiseless problem"
    noisy = make_physics("denoising", (1, 16, 16), noise="gaussian", noise_sigma=0.2, seed=0)
    y = noisy.measure(img)
    a = deep_image_prior(y, noisy.physics, config=cfg, progress=False)
    b = deep_image_prior(y, noisy.physics, config=cfg, tv=100.0, progress=False)
    assert total_variation(b.x_hat) < total_variation(a.x_hat), "the TV term smooths the noisy estimate"


def test_discrepancy_rule_stops_where_the_residual_reaches_the_noise_level():
    from invgan.solvers.dip import replay_stop

    sigma = 0.1
    # residual of the averaged estimate decays from 0.05 towards 0.2 sigma^2 (over-fitting the noise)
    run = _trace(2000, lambda t: 0.2 * sigma**2 + 0.05 * torch.exp(-t / 300), lambda t: 1e-3 * torch.ones_like(t), sigma=sigma)
    tau = DIPConfig().discrepancy
    crossing = int(torch.nonzero(run.residual_history[:, 0] <= tau * sigma**2)[0]) + 1
    stopped, decided, rules = replay_stop(run)
    assert rules == ["discrepancy"] and stopped == decided == [crossing]
    stopped, _, _ = replay_stop(run, {"discrepancy": tau + 0.3})
    assert stopped[0] < crossing  # a looser factor stops earlier


def test_convergence_rule_waits_for_the_averaged_output_to_settle_on_noiseless_problems():
    from invgan.solvers.dip import replay_stop

    # the residual plateaus early (a windowed-variance rule would stop there) but the output still moves
    change = lambda t: 1e-2 * torch.exp(-t / 400)  # noqa: E731
    run = _trace(3000, lambda t: 1e-3 + 0.05 * torch.exp(-t / 50), change, variance=lambda t: 1e-4 + 0 * t, tolerance=1e-4, window=100)
    stopped, decided, rules = replay_stop(run)
    assert rules == ["convergence"]
    below = torch.nonzero(change(torch.arange(1, 3001).float()) < 1e-4).flatten()
    assert stopped == decided and below[0] < stopped[0] < below[0] + 100  # the window mean lags by at most the window
    wmv_stopped, _, _ = replay_stop(run, {"stop": "wmv"})
    assert wmv_stopped[0] < 500 < stopped[0]  # WMV would have stopped on the flat variance


def test_auto_rule_follows_the_noise_level_and_online_equals_replay(synthetic):
    from invgan.solvers.dip import replay_stop

    x = synthetic(16)
    for noisy in (True, False):
        model = make_physics("denoising" if noisy else "inpainting", (1, 16, 16), noise="gaussian" if noisy else "none",
                             noise_sigma=0.1, seed=0, **({} if noisy else {"keep": 0.5}))
        y = model.measure(x)
        cfg = tiny(max_steps=300, min_steps=10, window=10, tolerance=2e-3, input_noise=0.0)
        full = deep_image_prior(y, model.physics, config=cfg, stop="none", progress=False)
        online = deep_image_prior(y, model.physics, config=cfg, progress=False)
        assert online.rules == (["discrepancy"] if noisy else ["convergence"])
        assert online.noise_sigma == pytest.approx([0.1 if noisy else 0.0])
        stopped, decided, _ = replay_stop(full, cfg)
        assert online.stopped_at == stopped and online.decided_at == decided and online.steps == decided[0]
        assert decided[0] < 300, "the tiny problem must stop before max_steps"


# ---------------------------------------------------------------- sizes, reconstructor

@pytest.mark.parametrize("hw", [(1, 1), (8, 8), (37, 53), (32, 32)])
def test_default_skip_net_takes_any_image_size(hw):
    x = torch.rand(1, 1, *hw)
    model = make_physics("denoising", (1, *hw), noise_sigma=0.1, seed=0)
    res = deep_image_prior(model.measure(x), model.physics, max_steps=3, precision="fp32", progress=False)
    assert res.x_hat.shape == x.shape and torch.isfinite(res.x_hat).all()


def test_reconstructor_follows_deepinvs_convention(synthetic):
    from deepinv.models import Reconstructor

    from invgan.solvers.dip import DeepImagePrior

    x = synthetic(16)
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    dip = DeepImagePrior(tiny(stop="none", max_steps=30, progress=False))
    assert isinstance(dip, Reconstructor)
    x_hat = dip(y, model.physics)
    assert x_hat.shape == x.shape and x_hat.grad_fn is None
    assert torch.equal(x_hat, dip(y, model.physics))  # a fresh network per call: the same run again
    factory = DeepImagePrior(tiny(stop="none", max_steps=5, progress=False), net_factory=lambda shape: SkipNet(shape, depth=2, channels=4, in_channels=2))
    assert factory(y, model.physics).shape == x.shape
    assert factory.last_result.steps == 5


def test_suite_quick_mode(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("dip_suite", Path(__file__).parents[2] / "benchmarks" / "dip_suite.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    rows = suite.main(["--quick", "--size", "16", "--max-steps", "12", "--tv-iters", "3", "--images", "camera", "coffee",
                       "--out", str(tmp_path), "--threads", "1"])
    assert len(rows) == 2 * len(suite.PROBLEMS)
    for r in rows:
        assert r["oracle_psnr"] >= r["auto_psnr"] and 1 <= r["auto_step"] <= r["decided"] <= 12 and r["tv_psnr"] > 5
    again = suite.main(["--quick", "--size", "16", "--max-steps", "12", "--tv-iters", "3", "--images", "camera", "coffee",
                        "--out", str(tmp_path), "--replay", "--rule", '{"tolerance": 0.5}'])
    assert [r["oracle_psnr"] for r in again] == [r["oracle_psnr"] for r in rows]  # replayed from the saved traces


class _BlowsUpPastThreshold(nn.Module):
    """ConvDecoder plus a scalar that Adam drives steadily; past |p| > 0.3 the output explodes.
    A deterministic run restored to a checkpoint replays the same steps and explodes again."""

    def __init__(self):
        super().__init__()
        self.inner = ConvDecoder((1, 16, 16), in_size=(4, 4), depth=2, channels=8, sigmoid=False)
        self.p = nn.Parameter(torch.zeros(1))

    def input_shape(self):
        return self.inner.input_shape()

    def forward(self, z):
        out = self.inner(z) + 0.1 * self.p
        return out * (1 + 1e4 * torch.relu(self.p.abs() - 0.3))


def test_backtracking_does_not_replay_the_same_jump_for_ever(synthetic):
    x = synthetic(16)
    model = make_physics("denoising", (1, 16, 16), noise_sigma=0.05, seed=0)
    y = model.measure(x) + 0.5  # a residual of constant sign: p keeps moving the same way
    res = deep_image_prior(y, model.physics, net=_BlowsUpPastThreshold(), config=tiny(stop="none", max_steps=150, checkpoint_every=5, lr=0.02, ema=0.0), progress=False)
    assert 1 <= res.backtracks <= 8  # each restore halves the step size: the jump comes later and later
    assert torch.isfinite(res.x_hat).all()


def test_heldout_rule_returns_the_least_withheld_error_and_never_fits_the_withheld_entries(synthetic):
    from invgan.solvers.dip import replay_stop

    with pytest.raises(ValueError, match="heldout"):
        DIPConfig(stop="heldout")
    # synthetic trace: the withheld error falls, bottoms out at step 400, then rises (over-fitting)
    run = _trace(2000, lambda t: 1e-3 + 0 * t, lambda t: 1e-3 + 0 * t, patience=200, holdout=0.1)
    run = dataclasses.replace(run, heldout_history=((torch.arange(1, 2001).float() - 400) ** 2 * 1e-8 + 1e-3)[:, None])
    stopped, decided, rules = replay_stop(run, {"stop": "heldout"})
    assert rules == ["heldout"] and stopped == [400] and decided == [600]

    x = synthetic(16)
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    # consistency off: the final step copies every measured entry, the withheld ones included (tested below)
    cfg = tiny(max_steps=80, min_steps=10, holdout=0.2, stop="none", consistency="none")
    full = deep_image_prior(y, model.physics, config=cfg, progress=False)
    assert torch.isfinite(full.heldout_history).all()
    from invgan.solvers.heldout import informative_entries

    held, measured = full.withheld, informative_entries(model.physics, (1, 16, 16), 1)
    assert 0 < held.sum() < measured.sum() and bool((held <= measured).all()), "only some measured pixels are withheld"
    moved = deep_image_prior(y + held * 0.5, model.physics, config=cfg, progress=False)
    assert torch.equal(moved.x_hat, full.x_hat), "the withheld entries never enter the fit"
    assert not torch.equal(moved.heldout_history, full.heldout_history)
    online = deep_image_prior(y, model.physics, config=cfg, stop="heldout", patience=20, progress=False)
    stopped, decided, _ = replay_stop(full, dataclasses.replace(cfg, stop="heldout", patience=20))
    assert online.stopped_at == stopped and online.decided_at == decided
    projected = deep_image_prior(y, model.physics, config=cfg, consistency="auto", progress=False)
    torch.testing.assert_close(projected.x_hat[held.bool()], y[held.bool()])  # the withheld pixels come back at the end


def test_discrepancy_rule_falls_back_on_convergence_where_the_residual_settles_above_the_noise_level():
    from invgan.solvers.dip import replay_stop

    sigma = 0.1  # the residual levels off at 1.5 sigma^2 (e.g. a TV term holds it there) and never reaches 0.9 sigma^2
    change = lambda t: 1e-2 * torch.exp(-t / 300)  # noqa: E731
    run = _trace(3000, lambda t: 1.5 * sigma**2 + 0.05 * torch.exp(-t / 100), change, sigma=sigma, tolerance=1e-4, window=100)
    assert replay_stop(run)[0] == [3000], "without the fallback (the default) only the cap ends it"
    stopped, decided, rules = replay_stop(run, {"settle_fallback": True})
    below = int(torch.nonzero(change(torch.arange(1, 3001).float()) < 1e-4)[0]) + 1
    assert rules == ["discrepancy"] and stopped == decided and below < stopped[0] < below + 100


def test_consistency_step_projects_a_noiseless_estimate_onto_the_measurements(synthetic):
    x = synthetic(16)
    cfg = tiny(max_steps=30, stop="none")
    for name, kwargs in (("inpainting", dict(keep=0.5)), ("downsampling", dict(factor=2)), ("cs", dict(m=128))):
        model = make_physics(name, (1, 16, 16), noise="none", seed=0, **kwargs)
        y = model.measure(x)
        raw = deep_image_prior(y, model.physics, config=cfg, consistency="none", reference=x, progress=False)
        out = deep_image_prior(y, model.physics, config=cfg, reference=x, progress=False)
        assert (raw.consistency, out.consistency) == ("none", "wiener"), name  # auto: wiener, the projection without noise
        fit = lambda e: float((model.physics.A(e.x_hat) - y).pow(2).mean())  # noqa: E731
        assert fit(out) < 0.05 * fit(raw), name
        # the projection onto {Ax = y}, which holds x, never moves the estimate away from x
        assert float((out.x_hat - x).norm()) <= float((raw.x_hat - x).norm()) + 1e-6, name
        torch.testing.assert_close(out.psnr_history, raw.psnr_history)  # the histories are those before the step
        if name == "inpainting":  # the measured pixels are copied, the missing ones kept
            mask = model.physics.mask.expand_as(x).bool()
            torch.testing.assert_close(out.x_hat[mask], y[mask])
            assert torch.equal(out.x_hat[~mask], raw.x_hat[~mask])
    # a noise model without a sigma (Poisson): the step weighs y by the noise level the run used, not by 0
    poisson = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="poisson", seed=0)
    y = poisson.measure(x)
    kept = deep_image_prior(y, poisson.physics, config=cfg, noise_sigma=10.0, progress=False)
    plain = deep_image_prior(y, poisson.physics, config=cfg, noise_sigma=10.0, consistency="none", progress=False)
    assert torch.equal(kept.x_hat, plain.x_hat), "sigma far above the misfit: lambda = 0, the noisy pixels are not copied"
    blur = make_physics("blur", (1, 16, 16), sigma=1.0, noise="none")
    y = blur.measure(x)
    a = deep_image_prior(y, blur.physics, config=cfg, progress=False)
    assert a.consistency == "none", "auto: no projection where A^dagger is ill-conditioned"
    with pytest.raises(ValueError, match="consistency='project' needs an inpainting, downsampling or compressed-sensing operator"):
        deep_image_prior(y, blur.physics, config=cfg, consistency="project", progress=False)
    with pytest.raises(ValueError, match="consistency"):
        DIPConfig.from_dict({"consistency": "hard"})


def test_heldout_check_returns_the_estimate_the_withheld_pixels_prefer_when_the_stop_overfits(synthetic):
    """A discrepancy factor far below 1 (0.3) lets the network fit the noise: the withheld pixels (40 %) show it
    beyond their noise, and heldout_check returns the averaged estimate of least error on them instead
    (its step; the rule's decision step unchanged); heldout_check=0 keeps the rule's."""
    x = synthetic(32)
    model = make_physics("denoising", (1, 32, 32), noise="gaussian", noise_sigma=0.15, seed=0)
    y = model.measure(x)
    cfg = tiny(net="skip", depth=3, max_steps=800, holdout=0.4, discrepancy=0.3, tv=0, ema=0.9)
    plain = deep_image_prior(y, model.physics, config=dataclasses.replace(cfg, heldout_check=0.0), reference=x, progress=False)
    checked = deep_image_prior(y, model.physics, config=cfg, reference=x, progress=False)
    assert plain.stopped_at == plain.decided_at == checked.decided_at  # the same run, the same decision
    least = int(checked.heldout_history[:, 0].argmin()) + 1
    assert checked.stopped_at == [least] and least < plain.stopped_at[0]
    psnr = lambda a: float(-10 * torch.log10((a - x).pow(2).mean()))  # noqa: E731
    assert psnr(checked.x_hat) > psnr(plain.x_hat) + 1.0
