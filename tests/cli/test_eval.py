"""Tests of invgan.cli.eval."""

import json
from invgan.cli import main


def test_eval_prints_metrics_json(trained_run, capsys):
    assert main(["eval", str(trained_run), "--checkpoint", "last", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"psnr", "ssim", "baseline_psnr", "classical_psnr"} <= set(metrics)
