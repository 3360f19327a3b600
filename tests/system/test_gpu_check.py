"""The GPU check script: it skips cleanly without CUDA, and its table code runs (a CPU smoke run of
tiny size, never a timing assertion)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the script runs the real check")
def test_gpu_check_skips_in_one_line_without_cuda():
    res = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHON": sys.executable})
    assert res.returncode == 0 and res.stdout.strip().splitlines() == [res.stdout.strip()] and "skipped" in res.stdout


def test_the_table_code_runs_on_the_cpu(capsys, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import gpu_check

    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the loader row's folder of photos
    assert gpu_check.main(["--device", "cpu", "--steps", "1", "--rounds", "1", "--loader-images", "2", "--loader-side", "96",
                           "--loader-workers", "1", "--precision-crop", "32", "--precision-batch", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| row")]
    assert len(rows) == 10 and "data.cache_mb=512" in rows[-1] and sum("time / fp32 time" in r for r in rows) == 3 and "fp16 needs CUDA" in out and "ms per step" in out
    assert "loader / resident time" in rows[-1]
