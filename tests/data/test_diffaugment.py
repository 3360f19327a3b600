"""DiffAugment: whole-pixel translation, cutout, differentiability and the policy grammar."""

from __future__ import annotations

import pytest
import torch

from invgan.data.diffaugment import cutout, diff_augment, parse_policy, translation


# ---------------------------------------------------------------- DiffAugment
def test_translation_shifts_by_whole_pixels_with_zeros_shifted_in():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    y = translation(x, torch.Generator().manual_seed(0), ratio=0.25)
    for img in y[:, 0]:
        # some shift (dy, dx) in {-1, 0, 1}^2 reproduces the image exactly
        found = False
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ref = torch.zeros(4, 4)
                src = x[0, 0]
                ref[max(dy, 0):4 + min(dy, 0), max(dx, 0):4 + min(dx, 0)] = src[max(-dy, 0):4 + min(-dy, 0), max(-dx, 0):4 + min(-dx, 0)]
                found |= torch.equal(img, ref)
        assert found
    assert len({tuple(i.flatten().tolist()) for i in y[:, 0]}) > 4  # shifts differ across the batch


def test_cutout_zeroes_a_square_of_half_the_size():
    x = torch.ones(32, 1, 8, 8)
    y = cutout(x, torch.Generator().manual_seed(0))
    zeros = (y == 0).sum(dim=(1, 2, 3))
    assert (zeros <= 16).all() and (zeros >= 4).all() and (zeros == 16).any()  # 4x4, clipped at the border


def test_diff_augment_is_differentiable_and_checks_its_policy():
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="DiffAugment policy"):
        parse_policy("colour")


