"""The command line, run in-process: train -> eval -> reconstruct, the demo's JSON, clear errors."""

import json
import subprocess
import sys


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
    assert "image folder not found" in capsys.readouterr().err


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
