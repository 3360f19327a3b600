"""Tests of invgan.cli.invert."""

from __future__ import annotations
import json
import torch
from invgan import pretrained
from invgan.cli import main
import numpy as np
from invgan.nets.generators import make_generator


def test_invert_without_generator_uses_the_shipped_one(tmp_path, capsys):
    out = tmp_path / "inv"
    assert main(["invert", "--physics", "cs", "--m", "100", "-n", "2", "--restarts", "1", "--max-steps", "5",
                 "--no-progress", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr().out
    path = pretrained.pretrained_path("dcgan-mnist")
    assert f"generator: shipped model 'dcgan-mnist' ({path})" in printed
    result = json.loads((out / "results.json").read_text())
    assert result["generator"] == str(path) and len(result["images"]) == 2


def test_invert_takes_a_shipped_name(tmp_path, capsys):
    assert main(["invert", "--generator", "ambientgan-mnist", "-n", "2", "--restarts", "1", "--max-steps", "5",
                 "--no-progress", "--out", str(tmp_path / "inv")]) == 0
    assert "shipped model 'ambientgan-mnist'" in capsys.readouterr().out


def _checkpoint(tmp_path):
    G = make_generator("mlp", 6, (1, 8, 8), output="sigmoid", hidden=(16,))
    path = tmp_path / "g.pt"
    torch.save({"config": {"generator": G.config, "data": {"dataset": "digits8"}}, "networks": {"G": G.state_dict()}, "ema": None}, path)
    return G, path


def test_cli_sample_and_invert(tmp_path):
    import json

    from PIL import Image

    from invgan.cli import main

    G, ckpt = _checkpoint(tmp_path)
    assert main(["sample", str(ckpt), "-n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").size == (2 * 8 + 3 * 2, 2 * 8 + 3 * 2)
    out = tmp_path / "inv"
    args = ["invert", "--generator", str(ckpt), "--physics", "cs", "--m", "20", "-n", "3", "--max-steps", "5", "--no-progress", "--out", str(out)]
    assert main(args + ["--json"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert len(res["images"]) == 3 and {"objective", "psnr", "mse"} <= set(res["images"][0])
    assert Image.open(out / "digits8_000.png").size == (3 * 8 + 4 * 2, 8 + 2 * 2)  # truth | back-projection | reconstruction
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "small.png")
    assert main(["invert", "--generator", str(ckpt), str(tmp_path / "small.png"), "--out", str(out)]) == 2  # wrong size
    assert main(["invert", "--generator", str(ckpt), "--m", "100", "--out", str(out)]) == 2  # m > n = 64


def test_invert_samples_write_a_grid_and_a_std_map_and_record_the_likelihoods_std(tmp_path):
    out = tmp_path / "inv"
    assert main(["invert", "--physics", "cs", "--m", "100", "-n", "2", "--restarts", "1", "--max-steps", "5", "--prior-weight", "0.1",
                 "--deviation", "none", "--samples", "2", "--sampling-steps", "4", "--no-progress", "--out", str(out), "--json"]) == 0
    result = json.loads((out / "results.json").read_text())
    names = [row["image"] for row in result["images"]]
    assert all((out / f"{n}_samples.png").is_file() and (out / f"{n}_std.png").is_file() for n in names)
    # the chains' likelihood std: at least the noise level (more where the search leaves a misfit)
    assert all(s >= n > 0 for s, n in zip(result["sampling_std"], result["noise_level_used"]))
