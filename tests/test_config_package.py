"""The configuration package: help text on every option, presets as data files, the old
top-level ``objective`` key, checks in the schemas, defaults stated once, and the layering."""

import dataclasses
import inspect
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from invgan.config import KINDS, PRESET_DIR, PRESETS, config_record, iter_options, load_preset, resolve

ROOT = Path(__file__).resolve().parents[1]


def _fields(schema, prefix=""):
    """Every dataclass field of ``schema``, recursively: (dotted name, field)."""
    for f in dataclasses.fields(schema):
        yield prefix + f.name, f
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            yield from _fields(type(default), f"{prefix}{f.name}.")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_of_every_kind_has_help(kind):
    missing = [name for name, f in _fields(KINDS[kind]) if not f.metadata.get("help", "").strip()]
    assert not missing, f"{kind} fields without help: {missing}"


def test_train_help_lists_every_option_with_its_help():
    out = subprocess.run([sys.executable, "-m", "invgan", "train", "--help"], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    for kind in ("conditional", "unconditional"):
        for key, _, about in iter_options(KINDS[kind]()):
            assert f"  {key} (" in out, key
    assert "loss.objective (\"lsgan\")" in out and "loss.objective (\"ns\")" in out


@pytest.mark.parametrize("command", ["dip", "invert"])
def test_generated_flags_have_help(command):
    from invgan.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    flags = [a for a in sub._actions if any(o.startswith("--") for o in a.option_strings) and a.dest != "help"]
    assert flags
    for a in flags:
        text = (a.help or "").split("(config:")[0].strip()
        assert text, f"invgan {command} {a.option_strings[0]} has no help"


def test_preset_files_load_with_kind_about_paper_and_docs():
    files = sorted(PRESET_DIR.glob("*.toml"))
    assert sorted(f.stem for f in files) == sorted(PRESETS)
    assert len({f.stem.lower() for f in files}) == len(files)  # unique names
    for f in files:
        p = load_preset(f)
        assert p.kind in KINDS, f
        assert p.about and "\n" not in p.about and len(p.about) <= 140, f
        assert "dB" not in p.about and "KID" not in p.about, f"{f}: results belong on the docs page"
        assert isinstance(p.paper, str)
        assert p.docs and (ROOT / p.docs).is_file(), f"{f}: docs link {p.docs!r}"
        assert isinstance(resolve(preset=f.stem), KINDS[p.kind])


def test_a_bad_preset_file_is_named(tmp_path):
    (tmp_path / "x.toml").write_text('kind = "conditional"\nabout = "x"\nsteps = 3\n')
    with pytest.raises(ValueError, match="x.toml"):
        load_preset(tmp_path / "x.toml")


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


def test_single_field_checks_live_in_the_schema():
    with pytest.raises(ValueError, match=r"invalid optim.optimizer='sgd': expected one of \('adam', 'rmsprop'\)"):
        resolve("conditional", overrides=["optim.optimizer=sgd"])
    with pytest.raises(ValueError, match=r"invalid model.output='tanh'"):
        resolve("unconditional", overrides=["model.output=tanh"])
    with pytest.raises(ValueError, match=r"invalid loss.reconstruction='l2': expected 'mse', 'l1' or 'none'"):
        resolve("conditional", overrides=["loss.reconstruction=l2"])


def test_objective_defaults_are_stated_once():
    from invgan.config import LossConfig, UnconditionalConfig
    from invgan.losses.objectives import CONDITIONAL_OBJECTIVE, UNCONDITIONAL_OBJECTIVE
    from invgan.training import systems

    assert LossConfig().objective == CONDITIONAL_OBJECTIVE == "lsgan"
    assert UnconditionalConfig().loss.objective == UNCONDITIONAL_OBJECTIVE == "ns"
    for fn in (systems.conditional_gan, systems.cycle_gan):
        assert inspect.signature(fn).parameters["objective"].default is CONDITIONAL_OBJECTIVE
    for fn in (systems.unconditional_gan, systems.cgan, systems.acgan, systems.infogan, systems.ambient_gan):
        assert inspect.signature(fn).parameters["objective"].default is UNCONDITIONAL_OBJECTIVE


def test_lower_layers_do_not_import_the_config():
    code = ("import sys, invgan.physics, invgan.data, invgan.nets, invgan.nets.dip, invgan.losses, invgan.metrics, invgan.optim, invgan.solvers, invgan.options; "
            "assert 'invgan.config' not in sys.modules, sorted(m for m in sys.modules if m.startswith('invgan'))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
