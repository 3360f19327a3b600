"""The GAN core: what G is given, what D judges, heads, late starts, lazy regularisers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from invgan.losses import GANStep, head, r1_penalty
from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
from invgan.physics import make_physics
from invgan.training import (GANRecipe, ImageView, LatentInput, LossTerm, MeasurementInput, PairView, Regularizer, Trainer,
                             conditional_gan)
from invgan.training import AugmentedView
from invgan.training.gan import MeasurementView
from invgan.losses.imaging import MeasurementConsistencyLoss, MeasurementCycleLoss


class LinearD(nn.Module):
    """D(x) = w . x + b, with an optional 3-class head (ACGAN-style) sharing the input."""

    def __init__(self, n: int, classes: int = 0):
        super().__init__()
        self.lin = nn.Linear(n, 1)
        self.cls = nn.Linear(n, classes) if classes else None
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = self.lin(x.flatten(1)).squeeze(1)
        return {"logit": out, "class": self.cls(x.flatten(1))} if self.cls is not None else out


class LabelG(nn.Module):
    """G(z, c): the label shifts the output, so the conditioning is visible."""

    def __init__(self, d: int = 4, n: int = 8):
        super().__init__()
        self.lin, self.emb = nn.Linear(d, n), nn.Embedding(3, n)

    def forward(self, z, c=None):
        out = self.lin(z)
        return out + self.emb(c) if c is not None else out


def test_r1_penalty_matches_the_hand_computed_value():
    D = LinearD(3)
    with torch.no_grad():
        D.lin.weight.copy_(torch.tensor([[1.0, -2.0, 2.0]]))
    s = GANStep(x_hat=torch.zeros(5, 3), real=(torch.rand(5, 3),))
    # grad_x D = w for every sample: R1 = 1/2 ||w||^2 = 1/2 * 9
    assert r1_penalty(D, s).item() == pytest.approx(4.5)


def test_lazy_r1_phase_applies_gain_k_and_corrects_lr_and_betas():
    torch.manual_seed(0)
    D = LinearD(8)
    k, gamma = 4, 0.5
    recipe = GANRecipe(LabelG(), D, inputs=LatentInput(4), view=ImageView(), regularizers=[Regularizer("R1", r1_penalty, gamma, every=k)])
    opts = {"G": torch.optim.Adam(recipe.networks["G"].parameters(), 1e-3, betas=(0.0, 0.99)),
            "D": torch.optim.Adam(D.parameters(), 1e-3, betas=(0.0, 0.99))}
    tr = Trainer(recipe, opts, steps=1, device="cpu", progress=False)
    c = k / (k + 1)
    assert tr.optimizers["D"].param_groups[0]["lr"] == pytest.approx(1e-3 * c)
    assert tr.optimizers["D"].param_groups[0]["betas"] == pytest.approx((0.0, 0.99**c))
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(1e-3)
    r1 = next(p for p in tr.phases if p.name == "R1")
    assert (r1.every, r1.lazy, r1.gain, r1.weight) == (k, True, k, gamma)
    # the R1 step alone, with SGD: w moves by lr * gamma * k * d(1/2 ||w||^2)/dw = lr * gamma * k * w
    sgd = {"G": torch.optim.SGD(recipe.networks["G"].parameters(), 0.1), "D": torch.optim.SGD(D.parameters(), 0.1)}
    tr = Trainer(recipe, sgd, steps=1, device="cpu", progress=False)
    tr.phases = [r1]
    w0 = D.lin.weight.detach().clone()
    tr.train_step({"x": torch.rand(6, 8)})
    lr = tr.optimizers["D"].param_groups[0]["lr"]
    assert torch.allclose(D.lin.weight, w0 - lr * gamma * k * w0, atol=1e-7)
    assert [t for t in range(9) if r1.due(t)] == [0, 4, 8]


def test_adversarial_part_starts_late_after_a_warm_up_on_the_other_terms():
    op = make_physics("blur", (1, 16, 16), sigma=1.0)
    G = ConditionalReconstructor(1, width=4, depth=2)
    D = PatchGANDiscriminator(1, width=4, n_layers=1)
    recipe = conditional_gan(G, op, D, adv_weight=0.1, adv_start=2)
    opts = {k: torch.optim.Adam(v.parameters(), 1e-3) for k, v in recipe.networks.items()}
    tr = Trainer(recipe, opts, steps=4, device="cpu", progress=False)
    x = torch.rand(4, 2, 1, 16, 16)
    names = []
    for t in range(4):
        logs = tr.train_step(x[t])
        names.append(sorted(k for k in logs if "/" not in k or k.startswith("G/")))
    assert names[0] == names[1] == ["G", "G/rec"]
    assert names[2] == names[3] == ["D", "G", "G/adv", "G/rec"]
    with pytest.raises(ValueError, match="no loss before step 2"):
        conditional_gan(G, op, D, reconstruction=None, adv_start=2)


def test_discriminator_heads_are_computed_once_and_reused_by_head_losses():
    torch.manual_seed(0)
    D = LinearD(8, classes=3)
    aux = LossTerm("class", lambda s: F.cross_entropy(head(s.d_real, "class"), s.label) + F.cross_entropy(head(s.d_fake, "class"), s.label))
    recipe = GANRecipe(LabelG(), D, inputs=LatentInput(4, label_key="label"), view=ImageView(), d_losses=[aux],
                       g_losses=[LossTerm("class", lambda s: F.cross_entropy(head(s.d_fake, "class"), s.label))])
    batch = {"x": torch.rand(6, 8), "label": torch.tensor([0, 1, 2, 0, 1, 2])}
    s = recipe(batch, 0)
    D.calls = 0
    loss, logs = recipe.discriminator_loss(s)
    assert D.calls == 2 and {"real_logit", "fake_logit", "class"} <= set(logs) and torch.isfinite(loss)
    # the label conditions G: another label, another output
    z = torch.randn(2, 4)
    G = recipe.networks["G"]
    assert not torch.allclose(G(z, torch.tensor([0, 0])), G(z, torch.tensor([1, 1])))
    with pytest.raises(ValueError, match="no 'code' head"):
        head(s.d_real, "code")


def test_pair_view_shows_d_the_measurement_beside_the_image():
    op = make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none")
    s = MeasurementInput(op)(lambda y, p: p.A_adjoint(y), {"x": torch.rand(2, 1, 8, 8)}, 0)
    (real,), (fake,) = PairView()(s)
    assert real.shape == fake.shape == (2, 2, 8, 8)
    assert torch.equal(real[:, :1], fake[:, :1]) and torch.equal(real[:, 1:], s.x)


def test_recipe_settings_are_checked():
    G, D = LabelG(), LinearD(8)
    with pytest.raises(ValueError, match="needs a view"):
        GANRecipe(G, D, inputs=LatentInput(4))
    with pytest.raises(ValueError, match="generator has no loss"):
        GANRecipe(G, None, inputs=LatentInput(4))
    with pytest.raises(ValueError, match="need a discriminator"):
        GANRecipe(G, None, inputs=LatentInput(4), g_losses=[LossTerm("l2", lambda s: s.x_hat.pow(2).mean())],
                  regularizers=[Regularizer("R1", r1_penalty)])
    with pytest.raises(ValueError, match="n_critic=0"):
        GANRecipe(G, D, inputs=LatentInput(4), view=ImageView(), n_critic=0)
    with pytest.raises(ValueError, match="a batch must be a tensor"):
        GANRecipe(G, D, inputs=LatentInput(4), view=ImageView())([1, 2], 0)


def test_augmented_view_augments_both_sides_lets_labels_through_and_resumes():
    x, x_hat, c = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    s = GANStep(x_hat=x_hat, x=x, label=c)
    view = AugmentedView(ImageView(conditional=True), "translation,cutout", seed=3)
    state = view.rng_state()
    (r, rc), (f, fc) = view(s)
    assert rc is c and fc is c and not torch.equal(r, x) and not torch.equal(f, x_hat)
    view.set_rng_state(state)
    (r2, _), (f2, _) = view(s)
    assert torch.equal(r, r2) and torch.equal(f, f2)


def test_generator_regularizers_run_as_lazy_phases_of_g_or_in_its_loss():
    from invgan.losses import PathLengthPenalty

    torch.manual_seed(0)
    calls = []

    def g_penalty(net, s):
        calls.append(net)
        return net.lin.weight.pow(2).sum()

    G, D = LabelG(), LinearD(8)
    pl = PathLengthPenalty()
    recipe = GANRecipe(G, D, inputs=LatentInput(4), view=ImageView(),
                       regularizers=[Regularizer("PL", pl, 2.0, every=4, network="G"), Regularizer("norm", g_penalty, 0.5, network="G")])
    opts = {k: torch.optim.Adam(recipe.networks[k].parameters(), 1e-3, betas=(0.0, 0.99)) for k in ("G", "D")}
    tr = Trainer(recipe, opts, steps=1, device="cpu", progress=False)
    phase = next(p for p in tr.phases if p.name == "PL")
    assert (phase.networks, phase.every, phase.gain, phase.weight) == (("G",), 4, 4, 2.0)
    c = 4 / 5
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(1e-3 * c)  # G's optimiser is corrected, D's is not
    assert tr.optimizers["D"].param_groups[0]["lr"] == pytest.approx(1e-3)
    assert "norm" not in [p.name for p in tr.phases]
    loss, logs = recipe.generator_loss(recipe({"x": torch.rand(3, 8)}, 0))
    assert calls == [G] and float(logs["norm"].detach()) == pytest.approx(0.5 * float(G.lin.weight.detach().pow(2).sum()))
    assert "path_length_mean" in recipe.rng_state()  # the running mean travels with the recipe's state
    with pytest.raises(ValueError, match="network"):
        Regularizer("x", g_penalty, network="Q")


def _masked_step(fresh: bool):
    """One inpainting step of a self-supervised R(y, A) = A^T y, with D a sum of its input."""
    op = make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none", fresh_per_sample=True)
    view = MeasurementView(make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none", fresh_per_sample=True, seed=1000)
                           if fresh else None)
    s = MeasurementInput(op)(lambda y, p: p.A_adjoint(y).requires_grad_(), {"x": torch.rand(4, 1, 8, 8)}, 0)
    s.real, s.fake = view(s)
    s.x_hat.retain_grad()
    s.model = lambda y, p: p.A_adjoint(y)
    loss = s.fake[0].sum() + MeasurementConsistencyLoss()(s) + MeasurementCycleLoss()(s)
    loss.backward()
    return s, view


def test_measurement_view_through_the_draw_of_y_never_sees_the_missing_pixels():
    """The cause of issue 24: with D judging A x_hat through y's own mask, no term (adversarial,
    measurement consistency, UAIR's cycle) has a gradient on the pixels y misses, so
    x_hat = A^T y is an equilibrium; a fresh mask A' reaches them."""
    s, _ = _masked_step(fresh=False)
    missing = s.physics.mask.expand_as(s.x_hat) == 0
    assert s.x_hat.grad[missing].abs().sum() == 0
    s, view = _masked_step(fresh=True)
    missing = s.physics.mask.expand_as(s.x_hat) == 0
    assert s.x_hat.grad[missing].abs().sum() > 0
    assert s.extras["fake_physics"] is view.fresh.physics and not torch.equal(view.fresh.physics.mask, s.physics.mask)


def test_fresh_measurement_view_resumes_its_draws_and_needs_random_draws():
    view = MeasurementView(make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none", fresh_per_sample=True))
    s = GANStep(x_hat=torch.rand(2, 1, 8, 8), y=torch.rand(2, 1, 8, 8))
    state = view.rng_state()
    assert set(state) == {"fresh/generator"}
    _, (f1,) = view(s)
    view.set_rng_state(state)
    _, (f2,) = view(s)
    assert torch.equal(f1, f2)
    assert MeasurementView().rng_state() == {}
    with pytest.raises(ValueError, match="fresh_per_sample"):
        MeasurementView(make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none"))
