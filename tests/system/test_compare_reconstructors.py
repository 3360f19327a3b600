"""examples/compare_reconstructors.py at tiny size, and its refusals of bad interpolation arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch.nn.functional as F
from torch import nn

from invgan.config import resolve
from invgan.training import build_run


def _tiny(preset: str, tmp_path, *extra: str):
    return resolve(preset=preset, overrides=[
        "data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8", "model.blocks=1",
        "model.d_width=8", "train.steps=4", "train.eval_every=4", "train.checkpoint_every=4", "train.progress=false",
        "train.tensorboard=false", f"train.out_dir={tmp_path / preset}", *extra])


class _PooledFeatures(nn.Module):
    """A cheap stand-in for the Inception features: 4x4 average-pooled pixels, as float64."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1).double()


@pytest.mark.parametrize("fid", [False, True])
def test_compare_reconstructors_example(fid, tmp_path, monkeypatch):
    """examples/compare_reconstructors.py at tiny size: baselines, two checkpoints of a run and an
    interpolation on one held-out set, the table (patch FID/KID on stand-in features) and the figure."""
    import runpy

    import invgan.metrics as metrics

    monkeypatch.setattr(metrics, "InceptionFeatures", _PooledFeatures)
    cfg = _tiny("srgan-x4", tmp_path, "loss.adv_start=2")
    build_run(cfg).fit()
    run = tmp_path / "srgan-x4"
    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "compare_reconstructors.py"))
    out = tmp_path / "cmp"
    script["main"]([f"{run}:pretrained=PSNR", f"{run}:last=GAN", "--interpolate", str(run), "0", "--crops", "2", "--patch", "16",
                    "--out", str(out), "--show", "1", "--zoom", "16", *(["--choose-alpha", "0", "1"] if fid else ["--no-fid"])])
    result = json.loads((out / "table.json").read_text())
    table = result["table"]
    assert {"A^T y", "bicubic", "PSNR", "GAN", "srgan-x4 interpolated, alpha 0"} <= set(table)
    assert any(k.startswith("Tikhonov") for k in table)
    assert table["srgan-x4 interpolated, alpha 0"]["psnr"] == pytest.approx(table["PSNR"]["psnr"])  # alpha 0 is the PSNR network
    assert ("kid" in table["GAN"]) == fid and (out / "crops.png").exists() and "| bicubic |" in (out / "table.md").read_text()
    if fid:  # the alpha of lowest KID on training crops, then reported on the held-out set
        selection = {float(a): kid for a, kid in result["meta"]["alpha_selection_kid"].items()}
        best = min(selection, key=selection.get)
        chosen = table[f"srgan-x4 interpolated, alpha {best:g} (chosen on training crops)"]
        assert chosen["psnr"] == pytest.approx(table["PSNR" if best == 0 else "GAN"]["psnr"])


def test_compare_reconstructors_shows_the_classical_method_of_each_operator(tmp_path):
    """Inpainting and blur runs get biharmonic inpainting and Wiener deconvolution (its balance tuned on
    the set, as Tikhonov's weight) as rows and figure columns."""
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "compare_reconstructors.py"))
    for preset, row in (("inpainting", "biharmonic inpainting"), ("demo", "Wiener (best balance")):
        build_run(_tiny(preset, tmp_path, "model.blocks=8", "model.depth=2")).fit()
        out = tmp_path / f"cmp-{preset}"
        script["main"]([f"{tmp_path / preset}:last=net", "--crops", "2", "--no-fid", "--out", str(out), "--show", "1"])
        table = json.loads((out / "table.json").read_text())["table"]
        (row,) = [name for name in table if name.startswith(row)]
        assert {"A^T y", "net"} <= set(table) and "bicubic" not in table
        assert table[row]["psnr"] > table["A^T y"]["psnr"] and (out / "crops.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--choose-alpha", "0.5"], "--choose-alpha needs --interpolate"),
    (["--interpolate", "RUN", "0.5", "--choose-alpha", "1.5"], "must lie in \\[0, 1\\]"),
    (["--interpolate", "RUN", "0.5"], "has no pretrained.pt"),
])
def test_compare_reconstructors_example_refuses_bad_interpolation(args, message, tmp_path, capsys):
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "compare_reconstructors.py"))
    args = [str(tmp_path) if a == "RUN" else a for a in args]
    with pytest.raises(SystemExit):
        script["main"]([f"{tmp_path}:last", *args, "--out", str(tmp_path / "cmp")])
    import re

    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "cmp").exists()
