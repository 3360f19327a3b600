"""Distances between sets of samples: Fréchet, precision/recall, sliced Wasserstein, best-matching accuracy."""

import numpy as np
import pytest
import torch

from invgan.data.digits import load_digits
from invgan.metrics import best_matching_accuracy, classifier_score, frechet_distance, precision_recall, sliced_wasserstein


def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 3))
    b = rng.normal(1, 2, (20000, 3))  # ||mu||^2 = 3, Tr(1 + 4 - 2*2) * 3 = 3
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_precision_recall_and_score_extremes():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (400, 2))
    collapsed = rng.normal(0, 0.05, (400, 2))  # mode collapse: precise, no recall
    p, r = precision_recall(real, collapsed)
    assert p > 0.95 and r < 0.3
    onehot = torch.eye(10).repeat(5, 1)
    assert classifier_score(onehot) == pytest.approx(10.0, rel=1e-6)
    assert classifier_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0, rel=1e-6)


def test_sliced_wasserstein_levels_and_shape_check():
    x = load_digits("digits8", "heldout").x
    d = sliced_wasserstein(x, x)  # patches are sampled at random in each set: small, not zero
    assert set(d) == {"swd_8", "swd_mean"}
    assert d["swd_mean"] < sliced_wasserstein(x, x.flip(-1))["swd_mean"] / 3
    with pytest.raises(ValueError, match="shapes differ"):
        sliced_wasserstein(x, torch.rand(10, 1, 16, 16))


def test_importing_metrics_stays_below_training_and_cli():
    import subprocess
    import sys

    code = "import sys, invgan.metrics; print(sorted(m for m in sys.modules if m.startswith(('invgan.training', 'invgan.cli', 'invgan.solvers'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_best_matching_accuracy_by_hand():
    codes = torch.tensor([0, 0, 1, 1, 2, 2])
    labels = torch.tensor([5, 5, 3, 4, 3, 3])
    # best matching: 0->5 (2), 2->3 (2), 1->4 (1): 5 of 6
    assert best_matching_accuracy(codes, labels, 3, 10) == pytest.approx(5 / 6)
