"""invgan.training.runlog.RunLog: the rows of log.jsonl, the trimming on resume, the preview grids and
TensorBoard calls, and a trainer that writes its log through it (nothing written until training starts)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from invgan.training import Phase, Recipe, RunLog, Trainer


def lines(path):
    return path.read_text().splitlines()


def test_rows_are_kept_and_appended_one_json_line_each(tmp_path):
    folder = tmp_path / "run"
    log = RunLog(folder)
    assert not folder.exists()  # building a run log touches nothing
    log.row({"step": 1, "D": 0.5, "G/adv": 1.25})
    log.row({"step": 2, "eval": {"psnr": 20.0}})
    assert log.history == [{"step": 1, "D": 0.5, "G/adv": 1.25}, {"step": 2, "eval": {"psnr": 20.0}}]
    assert lines(folder / "log.jsonl") == ['{"step": 1, "D": 0.5, "G/adv": 1.25}', '{"step": 2, "eval": {"psnr": 20.0}}']
    RunLog(folder).row({"step": 3})  # a second log of the same folder (a resumed run) appends
    assert len(lines(folder / "log.jsonl")) == 3


def test_without_a_folder_or_off_the_main_process_rows_stay_in_history(tmp_path):
    quiet = RunLog(tmp_path / "run", write=False, tensorboard=True)
    quiet.row({"step": 1})
    assert quiet.history == [{"step": 1}] and not (tmp_path / "run").exists()
    assert not quiet.tensorboard  # only the writing process makes TensorBoard events
    none = RunLog(None, tensorboard=True)
    none.row({"step": 1})
    none.open()
    none.grid(torch.rand(2, 1, 4, 4), 1, 2)
    none.trim(0)
    assert none.history == [{"step": 1}] and none.path("log.jsonl") is None and none.writer is None


def test_trim_keeps_rows_up_to_the_step_and_drops_torn_lines_and_the_done_row(tmp_path):
    log = RunLog(tmp_path)
    kept = ['{"step": 1, "D": 0.1}', '{"step": 2, "D": 0.2}', '{"step": 2, "eval": {"psnr": 9.0}}']
    dropped = ['{"step": 3, "D": 0.3}', '{"step": 2, "seconds": 1.5, "done": true}', '["not", "a", "row"]',
               '{"step": "2"}', '{"D": 0.4}', '{"step": 4, "D"']  # past the step, done, not a row, torn
    (tmp_path / "log.jsonl").write_text("\n".join([kept[0], dropped[0], kept[1], dropped[1], dropped[2], kept[2], *dropped[3:]]))
    log.trim(2)
    assert lines(tmp_path / "log.jsonl") == kept
    assert (tmp_path / "log.jsonl").read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl"]  # the temporary file was renamed over it
    log.trim(0)
    assert (tmp_path / "log.jsonl").read_text() == ""
    RunLog(tmp_path / "fresh").trim(5)  # nothing to trim: nothing made
    assert not (tmp_path / "fresh").exists()


def test_grid_goes_to_the_step_file_and_latest_with_the_given_columns(tmp_path):
    from PIL import Image

    log = RunLog(tmp_path)
    images = torch.linspace(-1, 2, 6 * 3 * 4 * 4).reshape(6, 3, 4, 4)  # values outside [0, 1] are clamped
    log.grid(images, 7, columns=3)
    log.grid(images.flip(0), 12, columns=2)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_0000007.png", "step_0000012.png"]
    assert (tmp_path / "latest.png").read_bytes() == (tmp_path / "samples" / "step_0000012.png").read_bytes()
    assert Image.open(tmp_path / "samples" / "step_0000007.png").size == (3 * 6 + 2, 2 * 6 + 2)  # 4-pixel tiles, 2-pixel padding
    assert Image.open(tmp_path / "latest.png").size == (2 * 6 + 2, 3 * 6 + 2)


class FakeWriter:
    def __init__(self):
        self.calls = []

    def add_scalar(self, tag, value, step):
        self.calls.append(("scalar", tag, value, step))

    def add_image(self, tag, image, step):
        self.calls.append(("image", tag, tuple(image.shape), step))

    def flush(self):
        self.calls.append(("flush",))


def test_tensorboard_scalars_and_preview_go_to_the_writer(tmp_path):
    log = RunLog(tmp_path, tensorboard=True)
    log.scalars("train", {"D": 0.5}, 3)  # no writer yet: nothing happens
    log.writer = FakeWriter()
    log.scalars("train", {"D": 0.5, "G/adv": 2.0}, 4)
    log.scalars("eval", {"psnr": 21.0}, 4)
    log.grid(torch.rand(4, 1, 4, 4), 4, columns=2)
    log.flush()
    assert log.writer.calls == [("scalar", "train/D", 0.5, 4), ("scalar", "train/G/adv", 2.0, 4), ("scalar", "eval/psnr", 21.0, 4),
                                ("image", "preview", (3, 14, 14), 4), ("flush",)]


class Fit(Recipe):
    """One linear network fitted to zero, with a 2x2 preview of its weights."""

    best_metric = "score"
    preview_columns = 2

    def __init__(self):
        super().__init__()
        self.networks["G"] = nn.Linear(4, 1)

    def forward(self, batch, step):
        return batch

    def phases(self):
        return [Phase("G", ("G",), lambda x: (self.networks["G"](x).pow(2).mean(), {}))]

    def evaluate(self, nets, data, full=False):
        return {"score": -float(nets["G"].weight.abs().sum())}

    def preview(self, nets, data):
        return nets["G"].weight.detach().reshape(4, 1, 1, 1).expand(4, 1, 2, 2)


def test_a_trainer_logs_through_its_run_log_and_writes_nothing_before_training(tmp_path):
    recipe = Fit()
    folder = tmp_path / "run"
    tr = Trainer(recipe, {"G": torch.optim.SGD(recipe.networks["G"].parameters(), 0.1)}, steps=4, device="cpu", progress=False,
                 out_dir=folder, log_every=2, eval_every=4, tensorboard=True)
    assert not folder.exists()
    assert tr.history is tr.runlog.history and tr.runlog.folder == folder
    tr.fit([torch.ones(3, 4)] * 4)
    rows = [json.loads(line) for line in lines(folder / "log.jsonl")]
    assert [sorted(r) for r in rows] == [["G", "step"], ["G", "step"], ["eval", "step"], ["done", "seconds", "step"]]
    assert [r["step"] for r in rows] == [2, 4, 4, 4] and rows == tr.history
    assert (folder / "samples" / "step_0000004.png").exists() and (folder / "latest.png").exists() and (folder / "best.pt").exists()
    tr.resume(folder / "best.pt")  # back to step 4: the done row goes
    assert [r.get("done", False) for r in map(json.loads, lines(folder / "log.jsonl"))] == [False, False, False]


@pytest.mark.parametrize("write", [True, False])
def test_open_without_tensorboard_installed_leaves_no_writer(tmp_path, monkeypatch, write):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    log = RunLog(tmp_path / "run", write=write, tensorboard=True)
    log.open()
    assert log.writer is None and not (tmp_path / "run").exists()
