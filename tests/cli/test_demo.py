"""Tests of invgan.cli.demo."""

import json
from invgan.cli import main


def test_demo_json_last_line(tmp_path, capsys):
    assert main(["demo", "--steps", "2", "--out", str(tmp_path / "demo"), "--json", "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert {"psnr", "ssim", "baseline_psnr", "baseline_ssim", "classical_psnr"} <= set(summary)
    assert summary["classical_psnr"] > summary["baseline_psnr"]
    assert any("Tikhonov" in line for line in out)
    assert (tmp_path / "demo" / "latest.png").exists()
