"""``invgan dip``: JSON and image outputs, clear errors for bad inputs, the precision flag and its help."""

from __future__ import annotations

import argparse
import json

import pytest
import torch


torch.set_num_threads(1)


def _cli(argv: list[str]) -> int:
    from invgan.cli import dip

    parser = argparse.ArgumentParser(prog="invgan")
    dip.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dip", *argv])
    return args.func(args)


def _sets(**dip) -> list[str]:
    """``--set dip.key=value`` for each option."""
    return [a for k, v in dip.items() for a in ("--set", f"dip.{k}={json.dumps(v)}")]


def _write_png(path, x: torch.Tensor) -> None:
    from invgan.data.images import write_image as save_png

    save_png(x, path)


def test_cli_json_and_outputs(synthetic, tmp_path, capsys):
    img = tmp_path / "img.png"
    _write_png(img, synthetic(32)[0])
    out = tmp_path / "res" / "result.png"
    code = _cli([str(img), "--physics", "inpainting", "--keep", "0.5", "--out", str(out), "--json", "--no-progress",
                 *_sets(net="convdecoder", precision="fp32", channels=16, depth=3, in_size=4, max_steps=30, stop="none")])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    for key in ("psnr", "ssim", "steps", "stopped_at", "seconds"):
        assert key in metrics
    assert metrics["steps"] == 30 and metrics["psnr"] > 10
    assert metrics["precision"] == "fp32 (asked for)" and metrics["stop_rule"] == "none" and metrics["noise_sigma"] == 0.0
    assert metrics["input_noise"] == 0.0 and metrics["cap_reached"] is False  # "none" runs to the cap by request
    assert metrics["tv_lambda"] == 0.0  # noiseless: no TV

    for f in (out, tmp_path / "res" / "result_measurement.png", tmp_path / "res" / "result_convergence.png"):
        assert f.is_file() and f.stat().st_size > 0
    from invgan.data.images import read_image

    assert read_image(out).shape == (1, 32, 32)


def test_cli_bad_inputs_are_clear_errors(synthetic, tmp_path):
    with pytest.raises(FileNotFoundError, match="image not found"):
        _cli([str(tmp_path / "missing.png"), "--no-progress"])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        _cli([str(text), "--no-progress"])
    img = tmp_path / "img.png"
    _write_png(img, synthetic(30)[0])
    with pytest.raises(ValueError, match="factor"):  # 30 is not a multiple of 4
        _cli([str(img), "--physics", "downsampling", "--factor", "4", "--no-progress"])
    ref = tmp_path / "ref.png"
    _write_png(ref, synthetic(32)[0])
    with pytest.raises(ValueError, match="reference size"):
        _cli([str(img), "--reference", str(ref), "--no-progress"])
    with pytest.raises(ValueError, match="unknown key.*'dip.iterations'.*dip.max_steps"):
        _cli([str(img), "--set", "dip.iterations=5", "--no-progress"])
    cfg = tmp_path / "dip.json"
    cfg.write_text(json.dumps({"dip": {"iterations": 5}}))
    with pytest.raises(ValueError, match="'dip.iterations'"):
        _cli([str(img), "--config", str(cfg), "--no-progress"])
    with pytest.raises(ValueError, match="is for conditional runs"):
        _cli([str(img), "--preset", "demo", "--no-progress"])


def test_cli_measured_image_without_reference(synthetic, tmp_path, capsys):
    noisy = (synthetic(24)[0] + 0.1 * torch.randn(1, 24, 24, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    img = tmp_path / "noisy.png"
    _write_png(img, noisy)
    code = _cli([str(img), "--measured", "--physics", "denoising", "--out", str(tmp_path / "den.png"), "--json", "--no-progress",
                 *_sets(net="convdecoder", precision="fp32", channels=8, depth=2, in_size=4, max_steps=10, stop="none")])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert "psnr" not in metrics and -1 <= metrics["ssim_to_measurement"] <= 1
    assert metrics["steps"] == 10 and (tmp_path / "den.png").is_file()
    assert metrics["tv_lambda"] == pytest.approx(3 * metrics["noise_sigma"] ** 2) and metrics["noise_sigma"] > 0  # TV-DIP: 3 sigma^2
    # denoising blends by default with the denoiser SURE chose, at the estimated noise level
    assert 0 <= metrics["blend_weight"] <= 1 and metrics["classical"].startswith(("tv ", "nlm "))
    with pytest.raises(ValueError, match="same-size operators"):
        _cli([str(img), "--measured", "--physics", "downsampling", "--factor", "2", "--no-progress"])


def test_cli_precision_flag_and_help(monkeypatch, capsys):
    from invgan import precision
    from invgan.cli import dip

    monkeypatch.setattr(precision, "cpu_capabilities", lambda: {"avx2": True})
    parser = argparse.ArgumentParser(prog="invgan")
    dip.register(parser.add_subparsers(dest="command"))
    precision_of = lambda argv: vars(parser.parse_args(["dip", *argv]))["dip.precision"]  # noqa: E731
    assert precision_of(["--no-bf16"]) == "fp32"  # deprecated alias
    assert precision_of(["--precision", "bf16"]) == "bf16"
    assert precision_of([]) is None  # the config's "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["dip", "--help"])
    assert "fp32 (auto: native bf16 not found on cpu)" in " ".join(capsys.readouterr().out.split())


def test_cli_refuses_outputs_that_would_replace_an_input(tmp_path, synthetic):
    """``--out`` itself, or the measurement and plot written next to it, may not be an input."""
    img, ref = tmp_path / "img.png", tmp_path / "a_measurement.png"
    _write_png(img, synthetic(32)[0])
    _write_png(ref, synthetic(32)[0])
    before = {p: p.read_bytes() for p in (img, ref)}
    with pytest.raises(ValueError, match="would overwrite the input IMAGE"):
        _cli([str(img), "--physics", "denoising", "--out", str(tmp_path / "." / "img.png")])
    with pytest.raises(ValueError, match="would overwrite the input --reference"):
        _cli([str(img), "--physics", "denoising", "--reference", str(ref), "--out", str(tmp_path / "a.png")])
    with pytest.raises(ValueError, match="--measured inpainting needs --mask"):
        _cli([str(img), "--measured", "--physics", "inpainting", "--out", str(tmp_path / "b.png")])
    assert {p: p.read_bytes() for p in (img, ref)} == before and not (tmp_path / "a.png").exists()


def test_cli_json_says_when_the_rule_never_fired(synthetic, tmp_path, capsys):
    img = tmp_path / "img.png"
    _write_png(img, synthetic(32)[0])
    code = _cli([str(img), "--physics", "downsampling", "--factor", "2", "--out", str(tmp_path / "r.png"), "--json", "--no-progress",
                 *_sets(net="convdecoder", precision="fp32", channels=16, depth=3, in_size=4, max_steps=25, min_steps=5,
                        window=5, tolerance=0.0, stop="convergence")])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["cap_reached"] is True and metrics["decided_at"] == 25 and metrics["input_noise"] == 0.03


def test_cli_auto_network_and_blend_report_their_choices(synthetic, tmp_path, capsys):
    img = tmp_path / "img.png"
    _write_png(img, synthetic(24)[0])
    code = _cli([str(img), "--physics", "inpainting", "--keep", "0.5", "--out", str(tmp_path / "r.png"), "--json", "--no-progress",
                 "--net", "auto", "--blend", "classical", *_sets(precision="fp32", channels=8, depth=2, max_steps=20, stop="none")])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    scores = metrics["network_heldout_mse"]
    assert set(scores) == {"skip", "convdecoder"} and metrics["network"] == min(scores, key=scores.get)
    assert 0 <= metrics["blend_weight"] <= 1 and metrics["config"]["dip"]["blend"] == "classical"
    assert metrics["classical"] == "biharmonic"
    assert metrics["psnr"] > 20  # a 24x24 piecewise-smooth image, half its pixels kept



def test_cli_tiles_report_each_tile(synthetic, tmp_path, capsys):
    img = tmp_path / "img.png"
    _write_png(img, synthetic(40)[0])
    code = _cli([str(img), "--physics", "denoising", "--noise-sigma", "0.1", "--out", str(tmp_path / "r.png"), "--json", "--no-progress",
                 "--tile", "24", "--tile-overlap", "8", *_sets(precision="fp32", channels=8, depth=2, max_steps=30, min_steps=5)])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    tiles = metrics["tiles"]
    assert [t["box"] for t in tiles] == [[0, 0, 24, 24], [0, 16, 24, 24], [16, 0, 24, 24], [16, 16, 24, 24]]
    assert metrics["decided_at"] == max(t["decided_at"] for t in tiles)
    assert metrics["cap_reached"] == any(t["decided_at"] >= 30 for t in tiles)
    assert metrics["config"]["dip"]["tile"] == 24 and metrics["psnr"] > 18
