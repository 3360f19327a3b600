"""scripts/posterior_sampling.py at tiny size: the runs, the table (patch KID on stand-in features), the
figure, and the selection of beta_SD."""

from __future__ import annotations

import json

import pytest
import torch.nn.functional as F
from torch import nn

TINY = ["data.crop=16", "data.batch_size=2", "data.eval_crops=2", "model.width=4", "model.depth=2", "model.d_width=4",
        "model.d_layers=1", "train.eval_every=0", "train.checkpoint_every=0", "train.tensorboard=false"]


class _PooledFeatures(nn.Module):
    """A cheap stand-in for the Inception features: 4x4 average-pooled pixels, as float64."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1).double()


def test_posterior_sampling_script(repo_module, tmp_path, monkeypatch, capsys):
    import invgan.metrics as metrics

    monkeypatch.setattr(metrics, "InceptionFeatures", _PooledFeatures)
    script = repo_module("scripts/posterior_sampling.py")
    sets = [a for o in TINY for a in ("--set", o)]
    common = ["--steps", "2", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--crops", "3", "--k", "8", "--patch", "8",
              "--problems", "deblurring", *sets]
    assert script.main(common) == 0
    table = json.loads((tmp_path / "out" / "table.json").read_text())
    row = table["problems"]["deblurring"]
    assert row["deterministic"]["preset"] == "demo" and row["rcgan"]["preset"] == "rcgan-deblur"
    for key in ("psnr_mean", "psnr_sample", "spearman", "coverage", "coverage_calibrated", "interval_scale", "kid_sample", "kid_mean", "kid_mean_noise"):
        assert key in row["rcgan"]["mean8"]
    assert "kid" in row["deterministic"] and (tmp_path / "out" / "table_deblurring_samples.png").is_file()
    assert "rcGAN (`rcgan-deblur`, beta_SD 1), mean of 8" in capsys.readouterr().out  # the markdown table
    assert not list((tmp_path / "out").glob("*.md"))  # no .md under docs/figures: Sphinx would take it for a page
    # the same runs reused, the std map pooled over 3x3: same draws and mean, another std map and spread scores
    assert script.main([*common, "--reuse", "--no-kid", "--std-pool", "3", "--table", "pooled"]) == 0
    pooled = json.loads((tmp_path / "out" / "pooled.json").read_text())["problems"]["deblurring"]["rcgan"]
    assert pooled["std_pool"] == 3 and row["rcgan"]["std_pool"] == 1
    assert pooled["mean8"]["psnr_mean"] == row["rcgan"]["mean8"]["psnr_mean"] and pooled["mean8"]["std"] != row["rcgan"]["mean8"]["std"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:  # an even size: one line, before anything is trained
        script.main([*common, "--runs", str(tmp_path / "none"), "--std-pool", "2"])
    assert refused.value.code == 2 and "--std-pool must be an odd integer" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
    assert script.main([*common, "--select-beta", "0.5", "1"]) == 0
    selection = json.loads((tmp_path / "out" / "selection.json").read_text())
    assert selection["split"] == "train" and selection["problems"]["deblurring"]["chosen"] in (0.5, 1.0)
    assert "(chosen)" in capsys.readouterr().out
