"""Tests of invgan.losses.posterior: rcGAN's loss of the sample mean and its std reward, gradients by hand."""

import math

import pytest
import torch

from invgan.losses import GANStep, SampleMeanLoss, StdReward
from invgan.losses.posterior import std_reward_coefficient


def step_of(samples, x=None):
    return GANStep(x_hat=samples.flatten(0, 1), batch={} if x is None else {"x": x}, extras={"samples": samples})


def test_std_reward_gradient_by_hand_two_samples():
    # P = 2: the unbiased std of (a, b) is |a - b| / sqrt(2), so with N pixels
    # L = -c * (1/N) sum_i |a_i - b_i| / sqrt(2) and dL/da_i = -c * sign(a_i - b_i) / (sqrt(2) N), dL/db_i = -dL/da_i
    a = torch.tensor([0.3, -0.2, 0.5, 0.0])
    b = torch.tensor([0.1, 0.4, 0.5 - 1e-3, 0.2])
    samples = torch.stack([a, b]).view(1, 2, 1, 2, 2).requires_grad_(True)
    loss = StdReward()(step_of(samples))
    c = math.sqrt(2 / (math.pi * 2 * 3))
    assert float(loss.detach()) == pytest.approx(-c * float((a - b).abs().mean()) / math.sqrt(2), rel=1e-6)
    loss.backward()
    expected_a = -c * torch.sign(a - b) / (math.sqrt(2) * 4)
    torch.testing.assert_close(samples.grad[0, 0].flatten(), expected_a)
    torch.testing.assert_close(samples.grad[0, 1].flatten(), -expected_a)


def test_std_reward_gradient_by_hand_three_samples():
    # P = 3, one pixel: s = sqrt(sum (x_p - m)^2 / 2), ds/dx_p = (x_p - m) / (2 s)
    v = torch.tensor([0.0, 1.0, 4.0])
    samples = v.view(1, 3, 1, 1, 1).clone().requires_grad_(True)
    StdReward()(step_of(samples)).backward()
    m, s = v.mean(), v.std()
    expected = -std_reward_coefficient(3) * (v - m) / (2 * s)
    torch.testing.assert_close(samples.grad.flatten(), expected)
    assert std_reward_coefficient(3) == pytest.approx(math.sqrt(2 / (math.pi * 12)))


def test_std_reward_ramp_scales_it_linearly_then_leaves_it_whole():
    samples = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1, 1)  # std sqrt(2)
    full = -std_reward_coefficient(2) * math.sqrt(2)
    for step, gain in ((0, 0.0), (25, 0.25), (100, 1.0), (400, 1.0)):
        s = GANStep(x_hat=samples.flatten(0, 1), extras={"samples": samples}, step=step)
        assert float(StdReward(ramp=100)(s)) == pytest.approx(gain * full, abs=1e-7)
        assert float(StdReward()(s)) == pytest.approx(full)  # no ramp: whole from step 0
    with pytest.raises(ValueError, match="ramp=-1"):
        StdReward(ramp=-1)


def test_pooled_std_reward_is_the_std_of_box_averaged_draws_by_hand():
    # P = 2 on a 1x3 image, box 2: the averaged draws are ((a0 + a1)/2, (a1 + a2)/2), the same for b;
    # the reward is -c * mean over the 2 boxes of |mean_a - mean_b| / sqrt(2)
    a = torch.tensor([0.0, 1.0, 0.0])
    b = torch.tensor([1.0, 0.0, 1.0])  # b = 1 - a: pixel std 1/sqrt(2) everywhere, box std 0 (grain)
    c = std_reward_coefficient(2)
    samples = torch.stack([a, b]).view(1, 2, 1, 1, 3)
    assert float(StdReward(pool=1)(step_of(samples))) == pytest.approx(-c / math.sqrt(2))
    assert float(StdReward(pool=2)(step_of(samples))) == pytest.approx(0.0, abs=1e-7)
    shift = torch.stack([a, a + 0.5]).view(1, 2, 1, 1, 3).requires_grad_(True)  # structure: the same at every scale
    loss = StdReward(pool=2)(step_of(shift))
    assert float(loss) == pytest.approx(-c * 0.5 / math.sqrt(2))
    loss.backward()  # d/d a_i: -c / sqrt(2) * sign(mean_a - mean_b) * (boxes holding i) / (2 * 2 boxes)
    expected = -c / math.sqrt(2) * -1 * torch.tensor([1.0, 2.0, 1.0]) / 4
    torch.testing.assert_close(shift.grad[0, 0].flatten(), expected)
    torch.testing.assert_close(shift.grad[0, 1].flatten(), -expected)
    with pytest.raises(ValueError, match="pool=0"):
        StdReward(pool=0)
    with pytest.raises(ValueError, match="pool=2.5"):
        StdReward(pool=2.5)


def test_unseen_std_reward_subtracts_the_spread_the_operator_passes():
    # A = mean of the two pixels of a 1x2 image (a toy blur): the draws (a, b) and (a', b') differ by
    # d = (1, -1) (invisible to A: full reward) or by (1, 1) (A passes it: no reward)
    class Mean2(torch.nn.Module):
        def A(self, x):
            return x.mean(-1, keepdim=True)

    c = std_reward_coefficient(2)
    base = torch.tensor([0.2, 0.6])
    for diff, seen in (((1.0, -1.0), 0.0), ((1.0, 1.0), 1.0)):
        samples = torch.stack([base, base + torch.tensor(diff)]).view(1, 2, 1, 1, 2)
        s = GANStep(x_hat=samples.flatten(0, 1), physics=Mean2(), extras={"samples": samples})
        pixel_std, measured_std = 1 / math.sqrt(2), seen / math.sqrt(2)
        assert float(StdReward(unseen=True)(s)) == pytest.approx(-c * (pixel_std - measured_std))
        assert float(StdReward()(s)) == pytest.approx(-c * pixel_std)
    with pytest.raises(ValueError, match="needs the step's operator"):
        StdReward(unseen=True)(step_of(samples))


def test_sample_mean_loss_is_on_the_mean_and_shares_its_gradient():
    samples = torch.tensor([[0.0, 2.0], [1.0, 5.0]]).view(1, 2, 1, 1, 2).requires_grad_(True)  # means 0.5 and 3.5
    x = torch.tensor([1.0, 3.0]).view(1, 1, 1, 2)
    loss = SampleMeanLoss("l1")(step_of(samples, x))
    assert float(loss.detach()) == pytest.approx((0.5 + 0.5) / 2)  # not the mean l1 of each sample (1.5)
    loss.backward()
    # d/dx_p |mean - x| / N = sign(mean - x) / (P N)
    torch.testing.assert_close(samples.grad.flatten(), torch.tensor([-0.25, 0.25, -0.25, 0.25]))
    assert float(SampleMeanLoss("mse")(step_of(samples.detach(), x))) == pytest.approx(0.25)


def test_posterior_losses_need_samples_and_truth():
    with pytest.raises(ValueError, match="P >= 2 samples"):
        StdReward()(GANStep(x_hat=torch.zeros(2, 1, 2, 2)))
    with pytest.raises(ValueError, match="needs ground truth"):
        SampleMeanLoss()(step_of(torch.zeros(1, 2, 1, 2, 2)))
    with pytest.raises(ValueError, match="invalid reconstruction metric"):
        SampleMeanLoss("l2")
    with pytest.raises(ValueError, match="P >= 2"):
        std_reward_coefficient(1)


def test_draw_errors_by_hand():
    from invgan.losses.posterior import draw_errors

    # one pixel, draws 0 and 2 of a truth 0.5: one draw's squared error (0.25 + 2.25) / 2, their mean's (1 - 0.5)^2
    one, mean = draw_errors(torch.tensor([0.0, 2.0]).view(1, 2, 1, 1, 1), torch.tensor(0.5).view(1, 1, 1, 1))
    assert float(one) == pytest.approx(1.25) and float(mean) == pytest.approx(0.25)


def test_adapted_std_reward_follows_the_gap_of_its_draws():
    # P = 2, target ratio e_1 / e_P = 4/3 (1.25 dB). Draws 0.5 + b +- d of a truth 0.5: e_P = b^2, e_1 = b^2 + d^2.
    x = torch.full((1, 1, 1, 1), 0.5)

    def step(d: float, b: float, step: int = 10):
        samples = torch.tensor([0.5 + b - d, 0.5 + b + d]).view(1, 2, 1, 1, 1)
        return GANStep(x_hat=samples.flatten(0, 1), batch={"x": x}, extras={"samples": samples}, step=step)

    def after(d: float, b: float, rate: float = 0.1, n: int = 1, ramp: int = 0) -> float:
        reward = StdReward(ramp=ramp, adapt=rate)
        for _ in range(n):
            reward(step(d, b))
        return float(reward.scale)

    target = 10 * math.log10(4 / 3)
    # too narrow: d^2 = b^2 / 9, ratio 10/9, gap 0.46 dB under the target's 1.25: the weight grows by mu (1.25 - 0.46)
    assert after(0.1, 0.3) == pytest.approx(1 + 0.1 * (target - 10 * math.log10(10 / 9)), rel=1e-6)
    # too wide: d = b, ratio 2 (3.01 dB): it shrinks
    assert after(0.3, 0.3) == pytest.approx(1 + 0.1 * (target - 10 * math.log10(2)), rel=1e-6)
    # calibrated: d^2 = b^2 / 3: it stays
    assert after(0.3 / math.sqrt(3), 0.3) == pytest.approx(1.0, abs=1e-9)
    # kept in [0, 2]; not adapted during the ramp; not at all with rate 0
    assert after(0.01, 0.3, rate=1.0, n=10) == 2.0 and after(0.3, 0.01, rate=1.0, n=10) == 0.0
    assert after(0.1, 0.3, ramp=100) == 1.0 and after(0.1, 0.3, rate=0.0) == 1.0
    # the loss carries the scale, and the scale is checkpointed
    reward = StdReward(adapt=0.1)
    reward(step(0.1, 0.3))
    a = float(reward.scale)
    assert a > 1 and float(reward(step(0.1, 0.3))) == pytest.approx(-a * std_reward_coefficient(2) * 0.2 / math.sqrt(2), rel=1e-6)
    assert float(reward.step_logs()["scale"]) > a  # updated after the step's loss was taken
    state = reward.rng_state()
    fresh = StdReward(adapt=0.1)
    fresh.set_rng_state(state)
    assert float(fresh.scale) == float(reward.scale) and StdReward().rng_state() == {}
    with pytest.raises(ValueError, match="adapt=-1"):
        StdReward(adapt=-1)
    with pytest.raises(ValueError, match="needs ground truth"):
        StdReward(adapt=0.1)(GANStep(x_hat=torch.zeros(2, 1, 1, 1), extras={"samples": torch.zeros(1, 2, 1, 1, 1)}, step=1))
