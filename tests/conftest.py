"""Shared fixtures: tiny image folders and tiny run configs (CPU, few steps, fixed seeds).

The test files mirror the package (``tests/<package>/test_<module>.py``); end-to-end checks are in
``tests/system/``. See tests/README.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


def _smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random smooth picture: a few Gaussian blobs and a gradient, uint8."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.3 * xx + 0.2 * yy
    for _ in range(5):
        cx, cy, s, a = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.2), rng.uniform(-0.5, 0.8)
        img = img + a * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
    img = (img - img.min()) / (img.max() - img.min() + 1e-8)
    return (255 * img).astype(np.uint8)


@pytest.fixture(scope="session")
def image_root(tmp_path_factory) -> Path:
    """``root/train`` (4 images) and ``root/test`` (2 images), 48x48 grayscale PNGs."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        (root / split).mkdir()
        for i in range(n):
            Image.fromarray(_smooth_image(rng, 48)).save(root / split / f"img{i}.png")
    return root


@pytest.fixture
def tiny_overrides(image_root, tmp_path) -> list[str]:
    """A run small enough for a unit test: 16x16 crops, 2-image batches, 4-channel nets."""
    return [
        f"data.source='{image_root}'", "data.crop=16", "data.batch_size=2", "data.eval_crops=4",
        "model.width=4", "model.depth=2", "model.d_width=4", "model.d_layers=1",
        "train.steps=4", "train.eval_every=0", "train.checkpoint_every=0", "train.log_every=1",
        "train.progress=false", "train.tensorboard=false", "train.device='cpu'", f"train.out_dir='{tmp_path / 'run'}'",
    ]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def trained_run(tiny_overrides, tmp_path) -> Path:
    """A tiny conditional run trained for 2 steps by ``invgan train`` (hinge objective from a TOML file)."""
    from invgan.cli import main

    cfg = tmp_path / "run.toml"
    cfg.write_text('[loss]\nobjective = "hinge"\n[train]\nsteps = 3\n')
    sets = [a for o in tiny_overrides for a in ("--set", o)]
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), *sets, "--set", "train.steps=2", "--set", "train.eval_every=2", "--out", str(out)]) == 0
    return out


def _synthetic(size: int = 32, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """Piecewise-smooth test image: a disc and a square on a gradient, shape (1, C, size, size)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    cx, cy = (0.3 + 0.4 * torch.rand(2, generator=g)).tolist()
    img = 0.2 + 0.3 * xx
    img = torch.where((xx - cx) ** 2 + (yy - cy) ** 2 < 0.06, torch.full_like(img, 0.85), img)
    img = torch.where((xx > 0.6) & (yy > 0.6), torch.full_like(img, 0.45), img)
    out = torch.stack([img * (0.8 + 0.2 * c) for c in range(channels)])
    return out[None].clamp(0, 1)


@pytest.fixture
def synthetic():
    """The maker of a piecewise-smooth test image ``synthetic(size=32, channels=1, seed=0)``, shape (1, C, size, size)."""
    return _synthetic


@pytest.fixture
def repo_module():
    """Import a script of the repository by its path, e.g. ``repo_module("scripts/kill_resume.py")``
    (scripts and benchmarks are not a package)."""
    import importlib.util
    import sys

    root = Path(__file__).resolve().parents[1]

    def load(relative: str):
        path = root / relative
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    return load

