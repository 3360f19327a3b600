"""Smoke test of the benchmark suite's machinery (never a timing assertion): one small benchmark
through the same code path as `python -m benchmarks`, and the table it prints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
suite = pytest.importorskip("benchmarks.suite")


def test_one_small_benchmark_gives_a_markdown_table():
    tiny = suite.Settings(steps=2, rounds=1, latent_n=2, latent_steps=2, dip_steps=1, ddp_steps=1, demo_steps=1, busy_steps=1)
    rows = suite.run(["latent_search"], tiny, log=lambda *a, **k: None)
    assert len(rows) == 1 and rows[0].ratio is not None and rows[0].ratio > 0
    text = suite.table(rows + [suite.Row("x", "failed: E", None, "")])
    lines = text.splitlines()
    assert lines[0].startswith("| benchmark |") and len(lines) == 4
    assert all(line.count("|") == 7 for line in lines)


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        suite.main(["--only", "nope"])
    assert "unknown benchmark" in capsys.readouterr().err


def test_photo_folder_and_loader_comparison_at_tiny_size(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import data_loader

    folder = data_loader.make_photo_folder(tmp_path / "photos", 3, side=96)
    assert len(list((folder / "train").glob("*.png"))) == 3 and len(list((folder / "test").glob("*.png"))) == data_loader.TEST_IMAGES
    assert data_loader.make_photo_folder(tmp_path / "photos", 3, side=96) == folder  # reused, not rebuilt
    speed = data_loader.loader_speed(folder, batches=2, rounds=1, workers=1)
    assert speed["invgan"] > 0 and speed["torchvision"] > 0


def test_latent_methods_reports_the_posterior_samples(tmp_path, capsys):
    import json

    import benchmarks.latent_methods as latent_methods

    out = tmp_path / "r.json"
    latent_methods.main(["--settings", "inpainting:0.5:0.01", "--n-test", "2", "--n-val", "1", "--restarts", "1", "--max-steps", "5",
                         "--methods", "z", "samples", "--samples", "4", "--json", str(out)])
    row = json.loads(out.read_text())["settings"]["inpainting:0.5:0.01"]
    assert set(row) == {"z", "samples"}
    s = row["samples"]
    assert s["map_mse"] == pytest.approx(row["z"]["mse"]) and -1 <= s["spearman"] <= 1 and 0 <= s["coverage"] <= 1
    assert -1 <= s["spearman_strokes"] <= 1 and 0 <= s["coverage_strokes"] <= 1 and 0 < s["strokes"] < 1
    capsys.readouterr()
    latent_methods.main(["--table-from", str(out)])  # the table of saved runs, without running them
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| setting | z | samples | Lasso's basis, alpha |"
    assert table[2].startswith("| inpainting:0.5:0.01 |") and "coverage" in table[4] and table[6].startswith("| inpainting:0.5:0.01 |")


def test_latent_methods_checks_a_figure_on_other_digits(tmp_path, capsys):
    """--first-test moves the test digits (a figure checked on digits it was not tuned on) and refuses
    digits that overlap the validation ones; default-map runs only when named."""
    import json

    import benchmarks.latent_methods as latent_methods

    common = ["--settings", "cs:25:0.1", "--n-test", "2", "--n-val", "1", "--restarts", "1", "--max-steps", "5", "--methods", "z"]
    mse = []
    for first in ("1", "500"):
        out = tmp_path / f"{first}.json"
        latent_methods.main([*common, "--first-test", first, "--json", str(out)])
        mse.append(json.loads(out.read_text())["settings"]["cs:25:0.1"]["z"]["mse"])
    assert mse[0] != mse[1]
    with pytest.raises(SystemExit):
        latent_methods.main([*common, "--first-test", "0"])
    assert "--first-test 0" in capsys.readouterr().err
    from invgan.nets.generators import MLPGenerator

    G = MLPGenerator(4, (1, 28, 28), (8,), output="sigmoid")
    assert latent_methods.method_table(G, 0)["default-map"] == {"mean_chains": 0} and "default-map" in latent_methods.OPT_IN


def test_dip_tiles_benchmark_compares_the_two_ways_at_tiny_size(capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import dip_tiles

    rows = dip_tiles.main(["--size", "160", "--steps", "2", "--threads", "1"])
    assert [r["way"] for r in rows] == ["whole (tile=0)", "tiles (tile=None: 96)"]  # 160 > 128: the default tiles
    assert all(r["s_per_step"] > 0 for r in rows)
    assert "tiles / whole, per step:" in capsys.readouterr().out
    full = dip_tiles.run(size=40, steps=1, full=True, tile=24, tile_overlap=4, channels=4, depth=2, max_steps=8, min_steps=2)
    assert full[1]["way"] == "tiles (tile=24)" and {"steps", "seconds", "psnr", "cap_reached"} <= set(full[1])
    assert full[0]["steps"] <= 8 and full[1]["psnr"] > 15
