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


class _Truth(torch.nn.Module):
    """A "reconstructor" that returns the held-out truth it was given (a perfect estimator)."""

    def __init__(self, x):
        super().__init__()
        self.x = x
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, y, physics):
        return self.x[: y.shape[0]]


def test_reconstruction_evaluator_scores_a_perfect_estimator_beside_the_baselines():
    from invgan.data import fixed_measurements
    from invgan.physics import make_physics
    from invgan.training.evaluators import ReconstructionEvaluator

    model = make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none", seed=0)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    data = fixed_measurements(model, x, seed=0)
    ev = ReconstructionEvaluator(model)
    assert ev.evaluate({"G": _Truth(x)}, None) == {} and ev.preview({"G": _Truth(x)}, None) is None
    m = ev.evaluate({"G": _Truth(x)}, data)
    assert set(m) == {"psnr", "ssim", "baseline_psnr", "baseline_ssim", "classical_psnr", "classical_ssim", "classical_gamma",
                      "biharmonic_psnr", "biharmonic_ssim"}
    assert m["psnr"] >= 80 and m["ssim"] == pytest.approx(1.0)
    assert m["baseline_psnr"] == pytest.approx(7.852, abs=1e-3)  # half the pixels zeroed: far from the truth
    rows = ev.preview({"G": _Truth(x)}, data, n=2)
    assert rows.shape == (6, 1, 8, 8) and torch.equal(rows[1], rows[2])  # measurement | reconstruction | truth


def test_sample_evaluator_without_a_classifier_scores_nothing_and_previews_a_fixed_batch():
    from invgan.nets.generators import MLPGenerator
    from invgan.training.evaluators import SampleEvaluator

    G = MLPGenerator(4, (1, 4, 4), (8,), output="sigmoid")
    ev = SampleEvaluator(4, classifier=None, preview_n=5, seed=0)
    assert ev.evaluate({"G": G}, torch.rand(3, 1, 4, 4)) == {}
    a, b = ev.preview({"G": G}, None), ev.preview({"G": G}, None)
    assert a.shape == (5, 1, 4, 4) and torch.equal(a, b)
    fake, z, labels = ev.samples(G, 3, torch.device("cpu"))
    assert fake.shape == (3, 1, 4, 4) and z.shape == (3, 4) and labels is None
    assert torch.equal(ev.samples(G, 3, torch.device("cpu"))[1], z)  # latents of a fixed seed
