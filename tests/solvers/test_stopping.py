"""Tests of invgan.solvers.stopping."""

from __future__ import annotations
import pytest
import torch
from invgan.physics import make_physics


def test_noise_level_is_read_from_the_physics_or_estimated(synthetic):
    from invgan.solvers.stopping import estimate_noise_sigma, noise_level

    x = synthetic(64)
    noisy = make_physics("denoising", (1, 64, 64), noise_sigma=0.1, seed=0)
    assert float(noise_level(noisy.physics, noisy.measure(x))[0]) == pytest.approx(0.1)
    clean = make_physics("inpainting", (1, 64, 64), keep=0.5, noise="none")
    assert float(noise_level(clean.physics, clean.measure(x))[0]) == 0.0
    assert float(noise_level(clean.physics, clean.measure(x), override=0.05)[0]) == pytest.approx(0.05)
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert float(estimate_noise_sigma(y)[0]) == pytest.approx(0.1, rel=0.15)
    poisson = make_physics("denoising", (1, 64, 64), noise="poisson", poisson_gain=0.01)  # unknown model: estimated
    assert float(noise_level(poisson.physics, y)[0]) == pytest.approx(0.1, rel=0.15)


def test_heldout_beats_stop_only_beyond_the_noise_share_by_hand():
    """e_d - e_h against z * 2 sigma |D|: 1.0 > 2 * 2 * 0.1 * 1 = 0.4 (yes), 0.3 (no); sigma 0 or unknown, or z = 0: never."""
    from invgan.solvers.stopping import heldout_beats_stop

    e_stop, e_best, gap = torch.tensor([5.0, 5.0, 5.0, 5.0]), torch.tensor([4.0, 4.7, 4.0, 4.0]), torch.ones(4)
    sigma = torch.tensor([0.1, 0.1, 0.0, float("nan")])
    assert heldout_beats_stop(e_stop, e_best, gap, sigma, 2.0).tolist() == [True, False, False, False]
    assert heldout_beats_stop(e_stop, e_best, 3 * gap, sigma, 2.0).tolist() == [False] * 4  # threshold 1.2
    assert heldout_beats_stop(e_stop, e_best, gap, sigma, 0.0).tolist() == [False] * 4


def test_heldout_gate_holds_the_convergence_test_while_the_withheld_error_falls():
    """Settled from step 2 (window 2, every change 0); the withheld error falls 10 % a step to step 5, then stays:
    with g = 0.05 and P = 2 the test fires at the first t with e*_t > 0.95 e*_(t-2): t = 7 (0.6561 > 0.95 * 0.6561),
    not t = 6 (0.6561 < 0.95 * 0.729 = 0.6926); without withheld entries, or with g = 0, at step 2."""
    from invgan.solvers.dip import DIPConfig
    from invgan.solvers.stopping import StepStats, StopRule

    errors = [0.9 ** min(t, 4) for t in range(10)]  # steps 1..10

    def fired(gate: float, heldout: bool) -> int:
        cfg = DIPConfig(heldout_gate=gate, patience=2, window=2, min_steps=0, tolerance=1.0, drift_tolerance=0.0)
        rule = StopRule(cfg, ["convergence"], torch.zeros(1))
        for t, e in enumerate(errors, start=1):
            zero = torch.zeros(1)
            rule.update(StepStats(t, zero, zero, zero, zero, None, torch.tensor([e]) if heldout else None))
            if bool(rule.done[0]):
                return t
        return -1

    assert fired(0.05, True) == 7
    assert fired(0.0, True) == 2
    assert fired(0.05, False) == 2
    with pytest.raises(ValueError, match="heldout_gate"):
        DIPConfig(heldout_gate=1.0)
