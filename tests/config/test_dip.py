"""Tests of invgan.config.dip: the deep image prior on one image."""

import pytest

from invgan.config import DIPConfig, DIPJobConfig, resolve
from invgan.solvers.stopping import STOP_RULES


def test_defaults_are_half_the_pixels_missing_at_the_operators_noise_level():
    cfg = resolve("dip")
    assert isinstance(cfg, DIPJobConfig) and isinstance(cfg.dip, DIPConfig)
    assert (cfg.physics.name, cfg.physics.keep, cfg.physics.noise_sigma) == ("inpainting", 0.5, None)
    assert cfg.dip.stop == "auto" and cfg.dip.stop in STOP_RULES


@pytest.mark.parametrize("override, message", [
    ("dip.stop='oracle'", "invalid dip.stop='oracle'"),
    ("dip.net='unet'", "invalid dip.net='unet'"),
    ("dip.window=1", "invalid dip.window=1"),
])
def test_dip_settings_are_checked(override, message):
    with pytest.raises(ValueError, match=message):
        resolve("dip", overrides=[override])
