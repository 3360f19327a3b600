"""Tests of invgan.losses.selfsup: deepinv's self-supervised losses as terms of the step record."""

import pytest
import torch

from invgan.losses import GANStep
from invgan.losses.selfsup import SELF_SUPERVISED_LOSSES, self_supervised_loss
from invgan.physics import make_physics


def _step(op):
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = op.measure(x)
    model = lambda y, p: p.A_adjoint(y)  # noqa: E731
    return GANStep(x_hat=model(y, op.physics).requires_grad_(), x=None, y=y, physics=op.physics, model=model)


@pytest.mark.parametrize("name", SELF_SUPERVISED_LOSSES)
def test_each_loss_needs_no_ground_truth_and_resumes_its_draws(name):
    op = make_physics("inpainting", (1, 16, 16), keep=0.5, noise_sigma=0.01, fresh_per_sample=True)
    draws = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True, seed=2000).generator
    loss = self_supervised_loss(name, draws=draws, noise_sigma=0.01, seed=0)
    s = _step(op)  # s.x is None: any use of the truth would fail
    state, noise = loss.rng_state(), op.rng_state()  # EI measures T x_hat with the step's operator and its noise stream
    assert state and all(k.startswith(name + "/") for k in state)
    first = loss(s)
    first.backward()
    assert torch.isfinite(first) and s.x_hat.grad is not None
    loss.set_rng_state(state)
    op.set_rng_state(noise)
    assert torch.equal(loss(s), first)  # the same draws after restoring the state


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="invalid self_supervised='n2n'"):
        self_supervised_loss("n2n")
    with pytest.raises(ValueError, match="'moi' needs fresh operator draws"):
        self_supervised_loss("moi")
    with pytest.raises(ValueError, match="'sure' needs Gaussian noise"):
        self_supervised_loss("sure", noise_sigma=0.0)
