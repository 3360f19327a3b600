"""Tests of invgan.losses.selfsup: deepinv's self-supervised losses as terms of the step record."""

import pytest
import torch
from torch import nn

from invgan.losses import GANStep
from invgan.losses.selfsup import NEEDS_MASK, SELF_SUPERVISED_LOSSES, self_supervised_loss
from invgan.physics import make_physics


class _MeanModel(nn.Module):
    """R(y, A) = w times the mean of y, everywhere: a reconstructor whose splitting loss is easy by hand."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.5))

    def forward(self, y, physics):
        return self.w * y.mean(dim=(-2, -1), keepdim=True).expand_as(y)


def _step(op, model=None):
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = op.measure(x)
    model = model or (lambda y, p: p.A_adjoint(y))
    return GANStep(x_hat=model(y, op.physics).detach().requires_grad_(), x=None, y=y, physics=op.physics, model=model)


def _loss(name, op):
    draws = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True, seed=2000).generator
    return self_supervised_loss(name, draws=draws, noise_sigma=0.01, seed=0, image_shape=(1, 16, 16))


@pytest.mark.parametrize("name", SELF_SUPERVISED_LOSSES)
def test_each_loss_needs_no_ground_truth_and_resumes_its_draws(name):
    op = make_physics("inpainting", (1, 16, 16), keep=0.5, noise_sigma=0.01, fresh_per_sample=True)
    loss = _loss(name, op)
    model = _MeanModel()
    s = _step(op, model if name in NEEDS_MASK else None)  # s.x is None: any use of the truth would fail
    state, noise = loss.rng_state(), op.rng_state()  # EI measures T x_hat with the step's operator and its noise stream
    assert state and all(k.startswith(name + "/") for k in state)
    first = loss(s)
    first.backward()
    assert torch.isfinite(first)
    if name in NEEDS_MASK:  # splitting runs R on its own split input: its gradient reaches R's weights
        assert model.w.grad is not None and model.w.grad.abs() > 0
    else:
        assert s.x_hat.grad is not None
    loss.set_rng_state(state)
    op.set_rng_state(noise)
    assert torch.equal(loss(s), first)  # the same draws after restoring the state


def test_splitting_scores_withheld_measured_pixels_by_hand():
    r"""One split :math:`M_1 \subset M` drawn again from the saved stream: the loss is
    :math:`\operatorname{mean}((M_2 R(M_1 y) - M_2 y)^2) / \operatorname{mean}(M_2)`, :math:`M_2 = M - M_1`,
    with :math:`R` = w times the mean of its input; :math:`M_1` holds about ``split_ratio`` of :math:`M`."""
    op = make_physics("inpainting", (1, 16, 16), keep=0.5, noise_sigma=0.01, fresh_per_sample=True)
    loss = _loss("splitting", op)
    s = _step(op, _MeanModel())
    state = loss.rng_state()
    value = loss(s)
    loss.set_rng_state(state)
    mask = s.physics.mask
    m1 = loss.loss.mask_generator.step(2, input_mask=mask)["mask"] * mask
    m2 = mask - m1
    assert torch.all((m1 == 0) | (mask == 1)) and torch.all(m2 >= 0)
    assert abs(m1.sum().item() / mask.sum().item() - 0.9) < 0.05
    prediction = 0.5 * (m1 * s.y).mean(dim=(-2, -1), keepdim=True)
    by_hand = ((m2 * prediction - m2 * s.y) ** 2).mean() / m2.mean()
    assert torch.allclose(value, by_hand, rtol=1e-5)
    # the reconstructor is only wrapped for the step: called afterwards it sees the whole y, unsplit
    assert torch.allclose(s.model(s.y, s.physics), 0.5 * s.y.mean(dim=(-2, -1), keepdim=True).expand_as(s.y))


def test_splitting_needs_a_mask():
    op = make_physics("blur", (1, 16, 16), noise_sigma=0.01)
    loss = self_supervised_loss("splitting", image_shape=(1, 16, 16))
    with pytest.raises(ValueError, match="'splitting' splits the measured pixels: it needs an operator with a mask"):
        loss(_step(op, _MeanModel()))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="invalid self_supervised='n2n'"):
        self_supervised_loss("n2n")
    with pytest.raises(ValueError, match="'moi' needs fresh operator draws"):
        self_supervised_loss("moi")
    with pytest.raises(ValueError, match="'sure' needs Gaussian noise"):
        self_supervised_loss("sure", noise_sigma=0.0)
    with pytest.raises(ValueError, match="invalid split_ratio=1"):
        self_supervised_loss("splitting", split_ratio=1, image_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="'splitting' needs the image shape"):
        self_supervised_loss("splitting")
