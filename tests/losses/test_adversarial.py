"""The adversarial term: both sides of an objective on the step's (real, fake), against hand values."""

import math

import pytest
import torch
from torch import nn

from invgan.losses import GANStep
from invgan.losses.adversarial import AdversarialLoss


class Scale(nn.Module):
    """:math:`D(x) = w \\sum x` per sample, counting its calls."""

    def __init__(self, w: float = 1.0):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.w * x.flatten(1).sum(1)


def _step():
    x_hat = torch.tensor([[1.0], [-1.0]], requires_grad=True)
    return GANStep(x_hat=x_hat, real=(torch.tensor([[2.0], [0.0]]),), fake=(x_hat,))


def sp(v: float) -> float:
    return math.log1p(math.exp(v))


def test_discriminator_side_of_ns_by_hand_with_the_fake_detached():
    D, s = Scale(), _step()
    loss, logs = AdversarialLoss("ns").discriminator_loss(D, s)
    # real logits (2, 0), fake logits (1, -1): mean softplus(-real) + mean softplus(fake)
    want = (sp(-2) + sp(0)) / 2 + (sp(1) + sp(-1)) / 2
    assert loss.item() == pytest.approx(want, rel=1e-6)
    assert logs["real_logit"].item() == pytest.approx(1.0) and logs["fake_logit"].item() == pytest.approx(0.0)
    assert D.calls == 2 and torch.equal(s.d_real, torch.tensor([2.0, 0.0]))  # left on the step for head losses
    loss.backward()
    assert s.x_hat.grad is None and D.w.grad is not None  # no gradient into G's output


def test_discriminator_side_judges_the_fakes_it_is_given():
    D, s = Scale(), _step()
    loss, _ = AdversarialLoss("lsgan").discriminator_loss(D, s, fake=(torch.tensor([[3.0], [3.0]]),))
    assert torch.equal(s.d_fake, torch.tensor([3.0, 3.0]))
    from invgan.losses.objectives import d_lsgan

    assert loss.item() == pytest.approx(d_lsgan(torch.tensor([2.0, 0.0]), torch.tensor([3.0, 3.0])).item())


def test_generator_side_calls_d_on_real_only_for_relativistic_objectives():
    D, s = Scale(), _step()
    loss = AdversarialLoss("ns")(D, s)
    assert loss.item() == pytest.approx((sp(-1) + sp(1)) / 2, rel=1e-6)
    assert D.calls == 1 and s.d_real is None
    loss.backward()
    assert s.x_hat.grad is not None  # G's side reaches G's output
    D, s = Scale(), _step()
    rs = AdversarialLoss("rsgan")(D, s)
    # RSGAN's G: mean softplus(real - fake) = (softplus(2 - 1) + softplus(0 + 1)) / 2
    assert D.calls == 2 and rs.item() == pytest.approx(sp(1), rel=1e-6)


def test_unknown_objective_is_refused():
    with pytest.raises(ValueError):
        AdversarialLoss("not-an-objective")
