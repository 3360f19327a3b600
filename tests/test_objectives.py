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
