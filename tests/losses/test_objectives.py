"""Each GAN objective against values computed by hand from its definition."""

import math

import pytest
import torch

from invgan.losses import OBJECTIVES, get_objective, register_objective

REAL = [1.0, -2.0]
FAKE = [0.5, 3.0]


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def mean(xs):
    return sum(xs) / len(xs)


def logits():
    return torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)


def test_nonsaturating_by_hand():
    real, fake = logits()
    obj = get_objective("ns")
    d = mean([-math.log(sigmoid(r)) for r in REAL]) + mean([-math.log(1 - sigmoid(f)) for f in FAKE])
    g = mean([-math.log(sigmoid(f)) for f in FAKE])
    assert obj.d(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert obj.g(fake, None).item() == pytest.approx(g, rel=1e-12)


def test_minimax_generator_by_hand():
    _, fake = logits()
    g = mean([math.log(1 - sigmoid(f)) for f in FAKE])
    assert get_objective("minimax").g(fake, None).item() == pytest.approx(g, rel=1e-12)


def test_lsgan_by_hand():
    real, fake = logits()
    obj = get_objective("lsgan")
    # 0.5*mean((1-1)^2, (-2-1)^2) + 0.5*mean(0.5^2, 3^2) = 0.5*4.5 + 0.5*4.625
    assert obj.d(real, fake).item() == pytest.approx(4.5625)
    # 0.5*mean((0.5-1)^2, (3-1)^2) = 0.5*2.125
    assert obj.g(fake, None).item() == pytest.approx(1.0625)


def test_wgan_by_hand():
    real, fake = logits()
    obj = get_objective("wgan")
    assert obj.d(real, fake).item() == pytest.approx(1.75 - (-0.5))
    assert obj.g(fake, None).item() == pytest.approx(-1.75)


def test_hinge_by_hand():
    real, fake = logits()
    obj = get_objective("hinge")
    # mean(max(0, 1-1), max(0, 1+2)) + mean(max(0, 1+0.5), max(0, 1+3)) = 1.5 + 2.75
    assert obj.d(real, fake).item() == pytest.approx(4.25)
    assert obj.g(fake, None).item() == pytest.approx(-1.75)


def test_objectives_take_patch_logits_of_any_shape():
    real, fake = torch.randn(3, 1, 5, 5), torch.randn(3, 1, 5, 5)
    for obj in OBJECTIVES.values():
        assert obj.d(real, fake).dim() == 0 and obj.g(fake, real).dim() == 0


def test_unknown_objective_lists_the_valid_names():
    with pytest.raises(ValueError, match="hinge"):
        get_objective("nope")


def test_adding_an_objective_is_one_registration():
    obj = register_objective("test-linear", lambda r, f: f.mean() - r.mean(), lambda f, r=None: -f.mean())
    try:
        assert get_objective("test-linear") is obj
    finally:
        OBJECTIVES.pop("test-linear")


def test_maximum_likelihood_generator_by_hand():
    _, fake = logits()
    # -1/2 E exp(sigma^-1(D)) with D = sigma(logit): -1/2 mean(e^0.5, e^3)
    assert get_objective("maxlik").g(fake, None).item() == pytest.approx(-0.5 * mean([math.exp(f) for f in FAKE]), rel=1e-12)


def test_relativistic_standard_by_hand():
    real, fake = logits()
    obj = get_objective("rsgan")
    d = mean([-math.log(sigmoid(r - f)) for r, f in zip(REAL, FAKE)])
    g = mean([-math.log(sigmoid(f - r)) for r, f in zip(REAL, FAKE)])
    assert obj.needs_real_in_g
    assert obj.d(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert obj.g(fake, real).item() == pytest.approx(g, rel=1e-12)


def test_relativistic_average_keeps_both_terms_in_the_generator_loss():
    real, fake = logits()
    obj = get_objective("ragan")
    mr, mf = mean(REAL), mean(FAKE)
    d = mean([-math.log(sigmoid(r - mf)) for r in REAL]) + mean([-math.log(1 - sigmoid(f - mr)) for f in FAKE])
    g = mean([-math.log(sigmoid(f - mr)) for f in FAKE]) + mean([-math.log(1 - sigmoid(r - mf)) for r in REAL])
    assert obj.d(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert obj.g(fake, real).item() == pytest.approx(g, rel=1e-12)
    # the real term reaches G through mean D(fake): dropping it would change the gradient
    fake_g = fake.clone().requires_grad_()
    obj.g(fake_g, real).backward()
    one_term = fake.clone().requires_grad_()
    torch.nn.functional.softplus(-(one_term - real.mean())).mean().backward()
    assert not torch.allclose(fake_g.grad, one_term.grad)
    # and the hand gradient of both terms: d/df_j = -(1-s(f_j-mr))/n - sum_i s(r_i-mf)/n^2
    n = len(FAKE)
    hand = [-(1 - sigmoid(f - mr)) / n - sum(sigmoid(r - mf) for r in REAL) / n / n for f in FAKE]
    assert fake_g.grad.tolist() == pytest.approx(hand, rel=1e-10)


def test_relativistic_average_lsgan_by_hand():
    real, fake = logits()
    obj = get_objective("ralsgan")
    mr, mf = mean(REAL), mean(FAKE)
    d = mean([(r - mf - 1) ** 2 for r in REAL]) + mean([(f - mr + 1) ** 2 for f in FAKE])
    g = mean([(f - mr - 1) ** 2 for f in FAKE]) + mean([(r - mf + 1) ** 2 for r in REAL])
    assert obj.d(real, fake).item() == pytest.approx(d)
    assert obj.g(fake, real).item() == pytest.approx(g)


# f-GAN, Nowozin et al. 2016, table 6: output activation g_f and conjugate f*, written out by hand
F_TABLE = {
    "kl": (lambda v: v, lambda t: math.exp(t - 1)),
    "reverse-kl": (lambda v: -math.exp(-v), lambda t: -1 - math.log(-t)),
    "js": (lambda v: math.log(2) - math.log(1 + math.exp(-v)), lambda t: -math.log(2 - math.exp(t))),
    "pearson": (lambda v: v, lambda t: 0.25 * t * t + t),
    "hellinger": (lambda v: 1 - math.exp(-v), lambda t: t / (1 - t)),
}


@pytest.mark.parametrize("name", sorted(F_TABLE))
def test_f_gan_divergence_by_hand(name):
    from invgan.losses import F_DIVERGENCES

    act, conj = F_TABLE[name]
    real, fake = logits()
    obj = get_objective(f"fgan-{name}")
    d = -mean([act(r) for r in REAL]) + mean([conj(act(f)) for f in FAKE])
    g = -mean([act(f) for f in FAKE])
    assert obj.d(real, fake).item() == pytest.approx(d, rel=1e-10)
    assert obj.g(fake, None).item() == pytest.approx(g, rel=1e-10)
    div = F_DIVERGENCES[name]
    v = torch.linspace(-2, 2, 9, dtype=torch.float64)
    # the stable closed form is the conjugate of the activation, and the conjugate is the table's
    assert torch.allclose(div.conjugate_of_activation(v), div.conjugate(div.activation(v)))
    assert div.conjugate(div.activation(v)).tolist() == pytest.approx([conj(act(t)) for t in v.tolist()], rel=1e-10)


def test_f_gan_bound_is_tight_at_the_optimal_critic():
    """With T*(x) = f'(p/q) the bound E_P T - E_Q f*(T) is the divergence itself (KL of two Bernoullis)."""
    from invgan.losses import F_DIVERGENCES

    p, q = torch.tensor([0.7, 0.3], dtype=torch.float64), torch.tensor([0.4, 0.6], dtype=torch.float64)
    kl = float((p * (p / q).log()).sum())
    t_star = 1 + (p / q).log()  # f(u) = u log u, f'(u) = 1 + log u; g_f is the identity for KL
    div = F_DIVERGENCES["kl"]
    bound = float((p * div.activation(t_star)).sum() - (q * div.conjugate_of_activation(t_star)).sum())
    assert bound == pytest.approx(kl, rel=1e-12)
