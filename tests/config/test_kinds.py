"""Tests of invgan.config.kinds."""

import pytest
from invgan.config import config_record, resolve, ConditionalConfig, UnconditionalConfig
import warnings


def test_kind_comes_from_the_file_and_must_agree():
    assert isinstance(resolve(data={"kind": "unconditional", "ambient": True}), UnconditionalConfig)
    assert isinstance(resolve(data={}), ConditionalConfig)
    with pytest.raises(ValueError, match="invalid kind='gan'"):
        resolve(data={"kind": "gan"})
    with pytest.raises(ValueError, match="kind='conditional'"):
        resolve("unconditional", data={"kind": "conditional"})


def test_old_objective_key_in_a_file_maps_to_loss_objective(tmp_path):
    (tmp_path / "old.toml").write_text('kind = "unconditional"\nobjective = "wgan"\n[train]\nsteps = 3\n')
    with pytest.warns(FutureWarning, match="'objective' is now 'loss.objective'"):
        cfg = resolve(file=tmp_path / "old.toml")
    assert cfg.loss.objective == "wgan" and cfg.train.steps == 3
    (tmp_path / "both.toml").write_text('kind = "unconditional"\nobjective = "wgan"\n[loss]\nobjective = "ns"\n')
    with pytest.raises(ValueError, match="both 'objective' and its new key 'loss.objective'"):
        resolve(file=tmp_path / "both.toml")


def test_old_objective_key_in_set_maps_to_loss_objective():
    with pytest.warns(FutureWarning, match="--set loss.objective=hinge"):
        cfg = resolve("unconditional", preset="wgan-mnist", overrides=["objective=hinge"])
    assert cfg.loss.objective == "hinge"
    assert resolve("unconditional", preset="wgan-mnist").loss.objective == "wgan"


def test_saved_config_with_the_old_key_loads_silently_and_the_same():
    """A config.json of an older run (or of shipped weights) has a top-level ``objective``: it
    resolves, without a warning, to the config it was written from."""
    for name in ("wgan-mnist", "dcgan-mnist"):
        cfg = resolve(preset=name)
        old = config_record(cfg)
        old["objective"] = old.pop("loss")["objective"]
        old["generator"] = {"name": "dcgan"}  # recorded architecture, ignored
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert resolve(data=old) == cfg
