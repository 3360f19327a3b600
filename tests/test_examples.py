"""The CSGM-vs-Lasso experiment script runs end to end on a tiny setting, and its Lasso bases
are the orthonormal transforms it claims (so Lasso on them is Lasso on coefficients)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from invgan.nets.generators import make_generator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "csgm_mnist.py"


@pytest.fixture(scope="module")
def csgm_example() -> dict:
    return runpy.run_path(str(EXAMPLE))  # defines the functions, does not run main()


def test_dct_and_wavelet_bases_are_orthonormal(csgm_example):
    pytest.importorskip("pywt")
    for psi in (csgm_example["dct_basis"](28, 28), csgm_example["wavelet_basis"](28, 28, "db1")):
        assert psi.shape == (784, 784)
        np.testing.assert_allclose(psi.T @ psi, np.eye(784), atol=1e-10)
    x = np.random.default_rng(0).random((28, 28))  # column 0 of the DCT basis is the constant atom
    assert csgm_example["dct_basis"](28, 28)[:, 0] @ x.ravel() == pytest.approx(x.mean() * 28)


def test_csgm_experiment_runs_and_reuses_its_choices(tmp_path, monkeypatch):
    G = make_generator("dcgan", 8, (1, 28, 28), output="sigmoid", width=4)
    torch.save({"config": G.config, "state_dict": G.state_dict()}, tmp_path / "g.pt")
    args = [str(EXAMPLE), "--generator", str(tmp_path / "g.pt"), "--m", "10", "25", "--n-test", "2", "--n-val", "1",
            "--restarts", "1", "--max-steps", "2", "--prior-weights", "0.1", "1.0", "--show", "2", "--threads", "1"]
    monkeypatch.setattr(sys, "argv", [*args, "--out", str(tmp_path / "a")])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    first = json.loads((tmp_path / "a" / "csgm_vs_lasso.json").read_text())
    assert set(first["chosen"]["csgm"]) == {"10", "25"} and set(first["chosen"]["csgm"].values()) <= {0.1, 1.0}
    assert all(len(v) == 2 for method in first["per_image_mse"].values() for v in method.values())
    assert (tmp_path / "a" / "csgm_vs_lasso_examples.png").exists() and (tmp_path / "a" / "csgm_vs_lasso.png").exists()
    table = (tmp_path / "a" / "csgm_vs_lasso.md").read_text()
    assert table.count("\n") == 4 and "| 25 |" in table

    monkeypatch.setattr(sys, "argv", [*args, "--out", str(tmp_path / "b"), "--reuse-choices", str(tmp_path / "a" / "csgm_vs_lasso.json")])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    again = json.loads((tmp_path / "b" / "csgm_vs_lasso.json").read_text())
    assert again["chosen"] == first["chosen"]
    for method, per_m in first["per_image_mse"].items():  # same seeds, same parameters: same errors
        for m, errors in per_m.items():
            assert again["per_image_mse"][method][m] == pytest.approx(errors, rel=1e-5)
