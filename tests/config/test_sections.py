"""Tests of invgan.config.sections."""

import pytest
import dataclasses
from invgan.config import resolve


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
