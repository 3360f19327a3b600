"""Explicit configs: defaults that work, unknown keys rejected with the valid ones, overrides."""

import pytest

import dataclasses

from invgan.builders import build_operator
from invgan.config import KINDS, PRESETS, ConditionalConfig, UnconditionalConfig, resolve


def config_from_dict(data):
    return resolve("conditional", data=data)


def resolve_config(file=None, preset=None, overrides=None):
    return resolve("conditional", file, preset, overrides)


def test_defaults_round_trip():
    for kind, schema in KINDS.items():
        cfg = schema()
        assert resolve(kind, data=dataclasses.asdict(cfg)) == cfg


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError, match=r"'train.stpes'.*train.steps"):
        config_from_dict({"train": {"stpes": 3}})
    with pytest.raises(ValueError, match=r"'optimizer'.*physics, data"):
        config_from_dict({"optimizer": {}})


def test_wrong_type_is_rejected():
    with pytest.raises(ValueError, match=r"train.steps='many'"):
        config_from_dict({"train": {"steps": "many"}})


def test_toml_yaml_and_overrides(tmp_path):
    (tmp_path / "a.toml").write_text('[physics]\nname = "inpainting"\nkeep = 0.3\n[train]\nsteps = 7\n')
    (tmp_path / "b.yaml").write_text("physics:\n  name: inpainting\n  keep: 0.3\ntrain:\n  steps: 7\n")
    for f in ("a.toml", "b.yaml"):
        cfg = resolve_config(tmp_path / f, overrides=["train.steps=9", "loss.objective=hinge", "optim.grad_clip=1"])
        assert (cfg.physics.name, cfg.physics.keep, cfg.train.steps, cfg.loss.objective, cfg.optim.grad_clip) == ("inpainting", 0.3, 9, "hinge", 1.0)


def test_presets_are_valid_and_know_their_kind():
    for name, preset in PRESETS.items():
        assert isinstance(resolve(None, preset=name), KINDS[preset.kind])
        assert preset.about
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_config(preset="nope")
    with pytest.raises(ValueError, match="is for unconditional runs, but a conditional run"):
        resolve("conditional", preset="dcgan-mnist")


def test_kind_comes_from_the_file_and_must_agree():
    assert isinstance(resolve(data={"kind": "unconditional", "ambient": True}), UnconditionalConfig)
    assert isinstance(resolve(data={}), ConditionalConfig)
    with pytest.raises(ValueError, match="invalid kind='gan'"):
        resolve(data={"kind": "gan"})
    with pytest.raises(ValueError, match="kind='conditional'"):
        resolve("unconditional", data={"kind": "conditional"})


def test_no_unused_data_field():
    with pytest.raises(ValueError, match="'data.num_workers'"):
        config_from_dict({"data": {"num_workers": 2}})


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        resolve_config(tmp_path / "nope.toml")


def test_physics_config_builds_the_operator_it_describes():
    import deepinv as dinv

    from invgan.config import PhysicsConfig

    mm = build_operator(PhysicsConfig(name="downsampling", factor=4, filter="bilinear", noise="poisson", poisson_gain=0.5), (1, 16, 16))
    assert mm.params["factor"] == 4 and mm.params["filter"] == "bilinear"
    assert isinstance(mm.physics.noise_model, dinv.physics.PoissonNoise)
    blur = build_operator(PhysicsConfig(name="blur", padding="reflect"), (1, 16, 16))
    assert isinstance(blur.physics, dinv.physics.Blur) and blur.params["padding"] == "reflect"
    with pytest.raises(ValueError, match="keep=2.0"):
        build_operator(PhysicsConfig(name="inpainting", keep=2.0), (1, 16, 16))


def test_physics_defaults_are_declared_once():
    """make_physics, PhysicsConfig and the commands' flags agree: the flags carry no defaults of
    their own and make_physics's are the config's."""
    import argparse
    import inspect

    from invgan.cli.common import add_physics_arguments, section_overrides
    from invgan.config import PhysicsConfig
    from invgan.physics import make_physics

    sig = inspect.signature(make_physics).parameters
    for f in dataclasses.fields(PhysicsConfig):
        if f.name != "name":
            assert sig[f.name].default == f.default, f.name
    p = argparse.ArgumentParser()
    add_physics_arguments(p)
    args = p.parse_args(["--physics", "inpainting", "--keep", "0.3", "--fresh-per-sample", "true"])
    assert section_overrides(args, "physics") == ['physics.name="inpainting"', "physics.keep=0.3", "physics.fresh_per_sample=true"]
    with pytest.raises(SystemExit):  # argparse's one-line error, no traceback
        p.parse_args(["--fresh-per-sample", "maybe"])
    with pytest.raises(ValueError, match="invalid physics.noise_sigma='NaN'"):
        resolve("invert", overrides=section_overrides(p.parse_args(["--noise-sigma", "nan"]), "physics"))
    cfg = resolve("invert", overrides=section_overrides(args, "physics"))
    assert (cfg.physics.name, cfg.physics.keep, cfg.physics.fresh_per_sample, cfg.physics.noise_sigma) == ("inpainting", 0.3, True, 0.1)


def test_set_none_names_the_option_none_of_a_string_field():
    from invgan.config import resolve

    cfg = resolve("conditional", overrides=["model.norm=none", "physics.noise_sigma=none"])
    assert cfg.model.norm == "none" and cfg.physics.noise_sigma is None  # str field vs optional field
