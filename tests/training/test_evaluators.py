"""Evaluators of a run: sample grids by label and by code, the reconstruction and sample metrics."""

from __future__ import annotations


import pytest
import torch

from invgan.losses import LatentCodes
from invgan.nets.generators import make_generator
from invgan.training import code_traversal, label_rows


# ---------------------------------------------------------------- DiffAugment


def test_the_label_and_the_code_change_the_output():
    G = make_generator("dcgan", 8, (1, 28, 28), output="sigmoid", width=8, n_classes=10)
    rows = label_rows(G.eval(), columns=3)
    assert rows.shape == (30, 1, 28, 28)
    assert not torch.allclose(rows[:3], rows[3:6])  # label 0 vs label 1, same latents
    with pytest.raises(ValueError, match="needs a label"):
        G(torch.randn(2, 8))
    codes = LatentCodes(noise=8, categorical=(10,), continuous=2)
    G = make_generator("dcgan", codes.dim, (1, 28, 28), output="sigmoid", width=8).eval()
    cat = code_traversal(G, codes, "categorical", columns=3)
    cont = code_traversal(G, codes, "continuous:1", columns=4)
    assert cat.shape == (30, 1, 28, 28) and cont.shape == (40, 1, 28, 28)
    assert not torch.allclose(cat[:3], cat[3:6]) and not torch.allclose(cont[0], cont[3])
    with pytest.raises(ValueError, match="continuous:j"):
        code_traversal(G, codes, "continuous:2")
