"""Tests of invgan.config.invert: latent search on simulated measurements."""

import pytest

from invgan.config import InvertConfig, LatentSearchConfig, resolve
from invgan.options import with_overrides


def test_defaults_are_csgm_with_100_noisy_gaussian_measurements():
    cfg = resolve("invert")
    assert isinstance(cfg, InvertConfig) and isinstance(cfg.search, LatentSearchConfig)
    assert (cfg.physics.name, cfg.physics.m, cfg.physics.noise_sigma) == ("cs", 100, 0.1)
    assert cfg.search.restarts == 10 and cfg.search.optimizer == "adam"


def test_search_settings_are_checked_and_renamed_names_are_pointed_to():
    with pytest.raises(ValueError, match="invalid search.restarts=0"):
        resolve("invert", overrides=["search.restarts=0"])
    with pytest.raises(ValueError, match="'steps' \\(now 'max_steps'\\)"):
        with_overrides(LatentSearchConfig(), steps=5)
