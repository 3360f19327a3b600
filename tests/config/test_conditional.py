"""Tests of invgan.config.conditional: the schema of a conditional GAN reconstructor run."""

import pytest

from invgan.config import ConditionalConfig, resolve
from invgan.losses.objectives import CONDITIONAL_OBJECTIVE


def test_defaults_describe_the_demo_problem():
    cfg = resolve("conditional")
    assert isinstance(cfg, ConditionalConfig)
    assert (cfg.physics.name, cfg.loss.objective, cfg.loss.adversarial, cfg.model.generator) == ("blur", CONDITIONAL_OBJECTIVE, "supervised", "unet")
    assert cfg.data.source == "builtin" and cfg.data.eval_crop is None


@pytest.mark.parametrize("override, message", [
    ("loss.reconstruction='huber'", "invalid loss.reconstruction='huber'"),
    ("loss.adv_weight=-1", "invalid loss.adv_weight=-1"),
    ("model.generator='vit'", "invalid model.generator='vit'"),
    ("data.channels=2", "invalid data.channels=2"),
    ("loss.perceptual_net='clip'", "invalid loss.perceptual_net='clip'"),
])
def test_each_section_refuses_values_out_of_range(override, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        resolve("conditional", overrides=[override])
