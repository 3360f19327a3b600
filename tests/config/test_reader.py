"""Tests of invgan.config.reader."""

import pytest
from invgan.config import resolve


def resolve_config(file=None, preset=None, overrides=None):
    return resolve("conditional", file, preset, overrides)


def test_toml_yaml_and_overrides(tmp_path):
    (tmp_path / "a.toml").write_text('[physics]\nname = "inpainting"\nkeep = 0.3\n[train]\nsteps = 7\n')
    (tmp_path / "b.yaml").write_text("physics:\n  name: inpainting\n  keep: 0.3\ntrain:\n  steps: 7\n")
    for f in ("a.toml", "b.yaml"):
        cfg = resolve_config(tmp_path / f, overrides=["train.steps=9", "loss.objective=hinge", "optim.grad_clip=1"])
        assert (cfg.physics.name, cfg.physics.keep, cfg.train.steps, cfg.loss.objective, cfg.optim.grad_clip) == ("inpainting", 0.3, 9, "hinge", 1.0)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        resolve_config(tmp_path / "nope.toml")
