"""Tests of invgan.config.unconditional: the schema of a generator (or AmbientGAN) run."""

import pytest

from invgan.config import UnconditionalConfig, resolve
from invgan.losses.objectives import UNCONDITIONAL_OBJECTIVE


def test_defaults_are_a_dcgan_on_mnist_with_an_ambient_operator_ready():
    cfg = resolve("unconditional")
    assert isinstance(cfg, UnconditionalConfig) and not cfg.ambient
    assert (cfg.loss.objective, cfg.data.dataset, cfg.model.generator, cfg.gan.conditioning) == (UNCONDITIONAL_OBJECTIVE, "mnist", "dcgan", "none")
    assert (cfg.physics.name, cfg.physics.fresh_per_sample) == ("inpainting", True)  # AmbientGAN needs fresh masks


@pytest.mark.parametrize("override, message", [
    ("model.output='tanh'", "invalid model.output='tanh'"),
    ("gan.conditioning='stylegan'", "invalid gan.conditioning='stylegan'"),
    ("gan.augment='color,flip'", "invalid gan.augment='color,flip'"),
    ("gan.reg_every=0", "invalid gan.reg_every=0"),
])
def test_each_section_refuses_values_out_of_range(override, message):
    with pytest.raises(ValueError, match=message):
        resolve("unconditional", overrides=[override])
