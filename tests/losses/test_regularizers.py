"""Each regulariser of D against values computed by hand, and how the core applies them."""

from __future__ import annotations


import pytest
import torch
from torch import nn

from invgan.losses import GANStep, clip_weights, dragan_penalty, gradient_penalty, r1_penalty, r2_penalty
from invgan.training import GANRecipe, ImageView, LatentInput, Regularizer, Trainer


class LinearD(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.lin = nn.Linear(n, 1)

    def forward(self, x):
        return self.lin(x.flatten(1)).squeeze(1)


class HalfSquareD(nn.Module):
    """D(x) = 1/2 ||x||^2 per sample: grad_x D = x, a different gradient for every sample."""

    def forward(self, x):
        return 0.5 * x.flatten(1).pow(2).sum(1)


def test_r2_is_r1_on_the_generated_side():
    x, x_hat = torch.tensor([[1.0, 2.0], [0.0, 3.0]]), torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    s = GANStep(x_hat=x_hat, real=(x,), fake=(x_hat,))
    # grad = x: 1/2 mean(||x_i||^2)
    assert r1_penalty(HalfSquareD(), s).item() == pytest.approx(0.5 * (5 + 9) / 2)
    assert r2_penalty(HalfSquareD(), s).item() == pytest.approx(0.5 * (4 + 2) / 2)


def test_gradient_penalty_takes_the_norm_per_sample_over_all_pixels():
    # real = fake: every interpolate is x itself, whatever epsilon; grad_x D = x
    x = torch.tensor([[[[3.0, 0.0], [0.0, 4.0]]], [[[1.0, 0.0], [0.0, 0.0]]]])  # (2, 1, 2, 2): norms 5 and 1
    s = GANStep(x_hat=x, real=(x,), fake=(x.clone(),))
    hand = ((5 - 1) ** 2 + (1 - 1) ** 2) / 2
    assert gradient_penalty(HalfSquareD(), s).item() == pytest.approx(hand, rel=1e-6)
    # a per-pixel norm (|g| - 1)^2 averaged over pixels would give another number
    per_pixel = ((x.abs() - 1) ** 2).mean().item()
    assert per_pixel != pytest.approx(hand)


def test_gradient_penalty_uses_random_interpolates_between_real_and_fake():
    torch.manual_seed(0)
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.flatten(1).sum(1)

    real, fake = torch.zeros(64, 1, 2, 2), torch.ones(64, 1, 2, 2)
    gp = gradient_penalty(Spy(), GANStep(x_hat=fake, real=(real,), fake=(fake,)))
    eps = seen[0][:, 0, 0, 0]  # eps * 0 + (1 - eps) * 1
    assert torch.allclose(seen[0], eps.view(-1, 1, 1, 1).expand(-1, 1, 2, 2))  # one epsilon per sample
    assert 0.0 < eps.min() and eps.max() < 1.0 and eps.std() > 0.2
    assert gp.item() == pytest.approx((2 - 1) ** 2)  # linear D: ||grad|| = ||ones(4)|| = 2


def test_dragan_penalises_the_gradient_norm_near_the_data():
    D = LinearD(3)
    with torch.no_grad():
        D.lin.weight.copy_(torch.tensor([[2.0, -1.0, 2.0]]))  # ||w|| = 3
    x = torch.rand(5, 3)
    s = GANStep(x_hat=x, real=(x,), fake=(torch.rand(5, 3),))
    assert dragan_penalty(D, s).item() == pytest.approx((3 - 1) ** 2, rel=1e-6)
    seen = []

    class Spy(nn.Module):
        def forward(self, t):
            seen.append(t.detach())
            return t.sum(1)

    dragan_penalty(Spy(), s)
    # perturbations of the real points, within 0.5 std(x) of them, never the fakes
    assert ((seen[0] - x) >= 0).all() and ((seen[0] - x) <= 0.5 * x.std() + 1e-6).all()


def test_labels_pass_through_a_penalty_untouched():
    class CondD(nn.Module):
        def forward(self, x, c):
            return x.flatten(1).sum(1) * (c.float() + 1)

    x, c = torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 0, 1])
    s = GANStep(x_hat=x, real=(x, c), fake=(x, c))
    # grad = (c + 1) * ones(4): norms 2 and 4, GP = mean(1, 9)
    assert gradient_penalty(CondD(), s).item() == pytest.approx(5.0, rel=1e-6)


class TinyG(nn.Module):
    latent_dim = 4

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 6)

    def forward(self, z):
        return self.lin(z)


def _trainer(recipe, lr=0.5):
    opts = {k: torch.optim.SGD(v.parameters(), lr) for k, v in recipe.networks.items()}
    return Trainer(recipe, opts, steps=10, device="cpu", progress=False)


def test_an_every_step_regulariser_is_part_of_the_discriminator_loss():
    torch.manual_seed(0)
    recipe = GANRecipe(TinyG(), LinearD(6), inputs=LatentInput(4), view=ImageView(), objective="wgan",
                       regularizers=[Regularizer("gp", gradient_penalty, 10.0)])
    assert [p.name for p in recipe.phases()] == ["D", "G"]  # no extra phase, one update of D
    logs = _trainer(recipe).train_step({"x": torch.rand(8, 6)})
    assert "D/gp" in logs and logs["D/gp"].item() > 0


def test_weight_clipping_bounds_every_parameter_of_d_after_its_update_and_leaves_g_alone():
    torch.manual_seed(0)
    G, D = TinyG(), LinearD(6)
    recipe = GANRecipe(G, D, inputs=LatentInput(4), view=ImageView(), objective="wgan", d_constraints=[clip_weights(0.01)])
    tr = _trainer(recipe, lr=1.0)
    g_before = [p.detach().clone() for p in G.parameters()]
    tr.train_step({"x": torch.rand(8, 6)})
    assert all(p.abs().max() <= 0.01 + 1e-9 for p in D.parameters())
    assert max(p.abs().max().item() for p in G.parameters()) > 0.01  # G is not clipped
    assert any(not torch.equal(a, b) for a, b in zip(g_before, G.parameters()))
    with pytest.raises(ValueError, match="clip bound"):
        clip_weights(0.0)


class _LinearStyles(torch.nn.Module):
    """A toy generator with a w+ space: w+ = z viewed as (B, L, D), g(w+) = c * w+ reshaped to (B, 1, 4, 4)."""

    def __init__(self, c: float = 3.0, L: int = 2):
        super().__init__()
        self.c, self.L = c, L

    def to_space(self, space, z):
        assert space == "w+"
        return z.view(z.shape[0], self.L, -1)

    def from_space(self, space, wplus):
        assert space == "w+"
        return self.c * wplus.reshape(wplus.shape[0], 1, 4, 4)


def test_path_length_penalty_value_and_running_mean_by_hand():
    from invgan.losses import PathLengthPenalty

    G, pl = _LinearStyles(), PathLengthPenalty(decay=0.01, batch_shrink=2)
    z = torch.randn(6, 16)
    s = GANStep(x_hat=torch.zeros(6, 1, 4, 4), z=z)
    torch.manual_seed(5)
    value = pl(G, s)
    torch.manual_seed(5)
    y = torch.randn(3, 1, 4, 4) / 4.0  # the same draw: N(0, I) / sqrt(H W), for the first 6 // 2 latents
    # J^T y = c y (g is c times the identity); length_b = sqrt(1/L sum (c y_b)^2)
    lengths = (3.0 * y).flatten(1).pow(2).sum(1).div(2).sqrt()
    mean1 = 0.01 * lengths.mean()  # from 0
    assert float(pl.mean) == pytest.approx(float(mean1), rel=1e-5)
    assert float(value.detach()) == pytest.approx(float((lengths - mean1).pow(2).mean()), rel=1e-5)
    torch.manual_seed(6)
    pl(G, s)
    torch.manual_seed(6)
    lengths2 = (3.0 * torch.randn(3, 1, 4, 4) / 4.0).flatten(1).pow(2).sum(1).div(2).sqrt()
    assert float(pl.mean) == pytest.approx(float(mean1 + 0.01 * (lengths2.mean() - mean1)), rel=1e-5)
    other = PathLengthPenalty()
    other.set_rng_state(pl.rng_state())  # checkpointed with the recipe's state
    assert torch.equal(other.mean, pl.mean)
    with pytest.raises(ValueError, match="decay"):
        PathLengthPenalty(decay=0.0)


def test_orthogonal_penalty_by_hand():
    from invgan.losses import orthogonal_penalty

    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 1.0]]))  # W W^T = [[2, 1], [1, 1]]: off-diagonal 1, 1
    assert float(orthogonal_penalty(lin).detach()) == pytest.approx(2.0)  # biases (1-D) are left out
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2) * 3)
    assert float(orthogonal_penalty(lin).detach()) == 0.0  # orthogonal rows, any norm


def test_drift_penalty_by_hand():
    from invgan.losses import drift_penalty

    D = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[1.0, 2.0]]))
    real = torch.tensor([[1.0, 1.0], [0.0, 1.0]])  # D = 3 and 2: E[D^2] = (9 + 4) / 2
    assert float(drift_penalty(D, GANStep(x_hat=real, real=(real,))).detach()) == pytest.approx(6.5)
    s = GANStep(x_hat=real, real=(real,), d_real=torch.tensor([1.0, 3.0]))  # D's outputs of the running phase are reused
    assert float(drift_penalty(D, s)) == pytest.approx(5.0)
