"""Tests of invgan.config.schema."""

import pytest
import dataclasses
from invgan.config import KINDS, resolve
import inspect
import subprocess
import sys
from pathlib import Path


def config_from_dict(data):
    return resolve("conditional", data=data)


ROOT = Path(__file__).resolve().parents[2]


def _fields(schema, prefix=""):
    """Every dataclass field of ``schema``, recursively: (dotted name, field)."""
    for f in dataclasses.fields(schema):
        yield prefix + f.name, f
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            yield from _fields(type(default), f"{prefix}{f.name}.")


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


def test_no_unused_data_field():
    with pytest.raises(ValueError, match="'data.num_workers'"):
        config_from_dict({"data": {"num_workers": 2}})


def test_set_none_names_the_option_none_of_a_string_field():
    from invgan.config import resolve

    cfg = resolve("conditional", overrides=["model.norm=none", "physics.noise_sigma=none"])
    assert cfg.model.norm == "none" and cfg.physics.noise_sigma is None  # str field vs optional field


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_of_every_kind_has_help(kind):
    missing = [name for name, f in _fields(KINDS[kind]) if not f.metadata.get("help", "").strip()]
    assert not missing, f"{kind} fields without help: {missing}"


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


def _float_options(kind):
    """Every option of ``kind`` whose type admits a float: dotted names."""
    from typing import get_type_hints

    out = []
    for name, f in _fields(KINDS[kind]):
        owner = KINDS[kind]
        for part in name.split(".")[:-1]:
            owner = get_type_hints(owner)[part]
        hint = get_type_hints(owner)[f.name]
        if float in getattr(hint, "__args__", (hint,)):
            out.append(name)
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_float_option_refuses_inf_and_nan(kind):
    """inf, -inf and nan pass every ``>=`` test but poison a run later (``gan.reg_weight=inf`` ended
    in "loss 'D' became inf"): refused for every float option of every kind, naming the option."""
    names = _float_options(kind)
    assert names, kind
    for name in names:
        for text in ("inf", "-inf", "nan"):
            with pytest.raises(ValueError, match=rf"^invalid {name}={text}: expected a finite number"):
                resolve(kind, overrides=[f"{name}={text}"])


def test_non_finite_values_are_refused_when_built_in_python_too():
    from invgan.config import GANConfig, PhysicsConfig
    from invgan.solvers.dip import DIPConfig

    with pytest.raises(ValueError, match=r"invalid gan.reg_weight=inf: expected a finite number \(a value >= 0\)"):
        GANConfig(reg_weight=float("inf"))
    with pytest.raises(ValueError, match=r"invalid physics.noise_sigma=nan: expected a finite number"):
        PhysicsConfig(noise_sigma=float("nan"))
    with pytest.raises(ValueError, match=r"invalid lr=inf: expected a finite number"):
        DIPConfig(lr=float("inf"))
    with pytest.raises(ValueError, match=r"invalid dip.lr=inf: expected a finite number"):  # the section named from a config
        resolve("dip", overrides=["dip.lr=inf"])
