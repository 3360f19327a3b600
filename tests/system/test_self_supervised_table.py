"""scripts/self_supervised_table.py: the table and --merge, with the runs stubbed (the real runs take minutes)."""

from __future__ import annotations

import json


def _row(name: str, problem: str, psnr: float) -> dict:
    ev = {"step": 10, "psnr": psnr, "ssim": 0.5, "baseline_psnr": 10.0, "baseline_ssim": 0.1, "classical_psnr": 10.0,
          "classical_ssim": 0.1}
    return {"name": name, "problem": problem, "steps": 10, "seconds": 1.0, "evals": [ev], "final": ev, "best": ev}


def test_merge_replaces_the_named_runs_and_keeps_the_others_in_order(repo_module, tmp_path, monkeypatch, capsys):
    script = repo_module("scripts/self_supervised_table.py")
    names = list(script.RUNS)
    last = names[-1]
    monkeypatch.setattr(script, "train", lambda name, steps, every, out: _row(name, script.RUNS[name][2], 20.0))
    path = tmp_path / "t.json"
    assert script.main(["--steps", "10", "--only", names[0], last, "--json", str(path)]) == 0
    monkeypatch.setattr(script, "train", lambda name, steps, every, out: _row(name, script.RUNS[name][2], 30.0))
    assert script.main(["--steps", "10", "--only", names[1], names[0], "--json", str(path), "--merge"]) == 0
    runs = json.loads(path.read_text())["runs"]
    assert [r["name"] for r in runs] == [names[0], names[1], last]  # the order of RUNS
    assert [r["final"]["psnr"] for r in runs] == [30.0, 30.0, 20.0]  # last kept from the first call
    assert f"| {script.RUNS[last][2]} | {last} | 20.00 |" in capsys.readouterr().out
