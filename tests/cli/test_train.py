"""Tests of invgan.cli.train, run in-process: the run folder, presets, clear errors, --nproc and --overwrite."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from invgan.cli import main


def test_train_writes_a_run_folder(trained_run):
    assert {"config.json", "last.pt", "best.pt", "log.jsonl", "latest.png"} <= {p.name for p in trained_run.iterdir()}
    assert json.loads((trained_run / "config.json").read_text())["loss"]["objective"] == "hinge"


def test_unknown_config_key_is_a_clear_error(capsys):
    assert main(["train", "--set", "train.stepz=3"]) == 2
    err = capsys.readouterr().err
    assert "train.stepz" in err and "train.steps" in err


def test_missing_inputs_are_clear_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default run folder (runs/cgan) must not be a real one
    assert main(["eval", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "--set", f"data.source='{tmp_path / 'empty'}'"]) == 2
    assert "data source not found" in capsys.readouterr().err


def test_console_entry_point():
    res = subprocess.run([sys.executable, "-m", "invgan", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "demo" in res.stdout and "reconstruct" in res.stdout


def test_train_and_eval_an_unconditional_preset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "gan"
    sets = ["--set", "train.steps=2", "--set", "train.eval_every=2", "--set", "data.batch_size=8", "--set", "data.eval_samples=64",
            "--set", "train.progress=false", "--set", "train.device='cpu'"]
    assert main(["train", "--preset", "dcgan-digits8", *sets, "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["kind"] == "unconditional"
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main(["eval", str(out), "--checkpoint", "last", "--json"]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # eval writes nothing
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"fd", "precision", "recall", "classifier_score", "swd_mean"} <= set(metrics)  # eval adds the slow SWD
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all("swd_mean" not in row["eval"] for row in logged if "eval" in row)  # training logs skip it
    assert main(["sample", str(out / "last.pt"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()


def test_preset_kind_mismatch_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "c.toml").write_text('kind = "conditional"\n')
    assert main(["train", "--config", str(tmp_path / "c.toml"), "--preset", "dcgan-mnist"]) == 2
    assert "is for unconditional runs" in capsys.readouterr().err


def test_overwrite_removes_every_run_file_and_keeps_the_users(tiny_overrides, tmp_path):
    """--overwrite removes the old run's pretrained.pt too (interpolate would blend it with the new
    run), its previews and interrupted checkpoint writes; the user's own files stay."""
    from invgan.training.runfolder import RUN_FILES

    out = tmp_path / "run"
    sets = [a for o in tiny_overrides for a in ("--set", o)]
    assert main(["train", *sets, "--set", "train.steps=1", "--out", str(out)]) == 0
    for name in ("pretrained.pt", "best.pt", ".last.pt.x1.tmp", "notes.txt"):
        (out / name).write_text("old")
    (out / "samples").mkdir(exist_ok=True)
    (out / "samples" / "step_9999999.png").write_text("old")
    assert main(["train", *sets, "--set", "train.steps=1", "--out", str(out), "--overwrite"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "pretrained.pt" not in names and ".last.pt.x1.tmp" not in names and not (out / "samples" / "step_9999999.png").exists()
    assert (out / "best.pt").read_bytes() != b"old"  # removed, then written by the new run
    assert (out / "notes.txt").read_text() == "old"
    assert "pretrained.pt" in RUN_FILES


def test_every_snapshot_a_recipe_writes_is_a_run_file(tmp_path):
    from invgan.config import resolve
    from invgan.training import build_run
    from invgan.training.runfolder import RUN_FILES

    cfg = resolve(preset="srgan-x4", overrides=["data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8",
                                                "model.blocks=1", "model.d_width=8", "loss.adv_start=2", f"train.out_dir={tmp_path}"])
    snapshots = build_run(cfg).trainer.recipe.snapshots
    assert snapshots and all(f"{name}.pt" in RUN_FILES for name in snapshots.values())


def test_overwrite_refuses_a_folder_without_a_run(tiny_overrides, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.json").write_text("{}")
    (mine / "config.json").write_text('{"lr": 1}')  # the user's own config.json, not a run's record
    sets = [a for o in tiny_overrides for a in ("--set", o)]
    assert main(["train", *sets, "--out", str(mine), "--overwrite"]) == 2
    assert "holds no run" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "results.json"]


def test_ctrl_c_while_the_commands_are_imported_is_one_line(monkeypatch, capsys):
    """A KeyboardInterrupt while build_parser imports the command modules (torch: seconds)."""
    import importlib

    import invgan.cli as cli

    def interrupted(name, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    try:
        rc = cli.main(["train", "--help"])
    except KeyboardInterrupt:
        pytest.fail("the KeyboardInterrupt escaped invgan.cli.main (a traceback)")
    assert rc == 130
    assert capsys.readouterr().err.strip() == "invgan: interrupted"


def _importing_torch(pid: int) -> bool:
    """Whether process ``pid``, once it runs ``python -m invgan`` (not the fork of this process
    before its exec), has started importing torch (its libraries are mapped)."""
    try:
        if b"invgan" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return False
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_at_start_up_exits_130_without_a_traceback(tmp_path):
    """SIGINT while the modules import (torch's libraries are being loaded): one line, status 130."""
    import os
    import signal
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invgan", "train", "--preset", "demo", "--out", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not _importing_torch(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted"), err


def test_nproc_on_cuda_is_limited_by_the_gpus(monkeypatch):
    import torch

    from invgan.cli.train import check_process_count
    from invgan.config import resolve

    cfg = resolve(preset="demo", overrides=["data.batch_size=4"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_process_count(cfg, 2, launching=True)
    with pytest.raises(ValueError, match=r"--nproc 4 is more than the 2 GPU\(s\)"):
        check_process_count(cfg, 4, launching=True)
    check_process_count(cfg, 4, launching=False)  # under torchrun the launcher chose
    with pytest.raises(ValueError, match="data.batch_size=4 is not divisible by the 3 processes"):
        check_process_count(cfg, 3, launching=False)
