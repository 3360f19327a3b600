"""SAGAN end to end at tiny width: both presets train through ``invgan train`` and ``invgan sample``
draws from them; ``invgan invert`` works with the unconditional generator."""

from __future__ import annotations

import pytest

from invgan.cli import main

TINY = ["train.eval_every=0", "train.progress=false", "classifier_metrics=false", "data.batch_size=8", "model.width=4",
        "model.d_width=4", "model.latent_dim=8", "data.eval_samples=16", "train.steps=2"]


@pytest.mark.parametrize("preset", ["sagan-mnist", "sagan-cgan-mnist"])
def test_sagan_presets_train_sample_and_invert_from_the_cli(preset, tmp_path):
    out = tmp_path / "run"
    sets = [a for o in TINY for a in ("--set", o)]
    assert main(["train", "--preset", preset, *sets, "--out", str(out)]) == 0
    assert main(["sample", str(out / "last.pt"), "-n", "10", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()
    if preset == "sagan-mnist":
        assert main(["invert", "--generator", str(out / "last.pt"), "-n", "2", "--physics", "inpainting", "--max-steps", "3",
                     "--restarts", "1", "--out", str(tmp_path / "inv"), "--no-progress"]) == 0
        assert any((tmp_path / "inv").iterdir())
