"""Training on your own images, end to end at tiny size: exact resume with loader workers, a
damaged file that stops the run and leaves ``last.pt`` as it was, and a generator trained from a
folder of RGB images that ``invgan invert`` then uses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from invgan.cli import main


def _digest(path: Path) -> str:
    """sha256 of a checkpoint's networks, EMA copies and optimiser states."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    h = hashlib.sha256()

    def walk(x, p=""):
        if isinstance(x, torch.Tensor):
            h.update(p.encode())
            h.update(x.detach().contiguous().numpy().tobytes())
        elif isinstance(x, dict):
            for k in sorted(x, key=str):
                walk(x[k], f"{p}/{k}")
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, f"{p}[{i}]")
        else:
            h.update(f"{p}{x!r}".encode())

    for part in ("networks", "ema", "optimizers"):
        walk(state[part], part)
    return h.hexdigest()


def _sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def test_resume_with_two_workers_ends_as_the_uninterrupted_run_without_workers(tiny_overrides, tmp_path, monkeypatch):
    from invgan.training import trainer

    common = _sets(tiny_overrides) + ["--set", "train.steps=6", "--set", "train.checkpoint_every=3"]
    assert main(["train", *common, "--set", "data.workers=0", "--out", str(tmp_path / "straight")]) == 0
    real = trainer.batches_of

    def stop_after_step_3(stream, start, stop, device):  # an interruption (Ctrl-C) before step 4
        for t, batch in zip(range(start, stop), real(stream, start, stop, device)):
            if t == 3:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(trainer, "batches_of", stop_after_step_3)
    assert main(["train", *common, "--set", "data.workers=2", "--out", str(tmp_path / "split")]) != 0
    assert torch.load(tmp_path / "split" / "last.pt", map_location="cpu", weights_only=False)["step"] == 3
    monkeypatch.setattr(trainer, "batches_of", real)
    assert main(["train", *common, "--set", "data.workers=2", "--out", str(tmp_path / "split"), "--resume", str(tmp_path / "split" / "last.pt")]) == 0
    assert _digest(tmp_path / "split" / "last.pt") == _digest(tmp_path / "straight" / "last.pt")


def test_a_file_damaged_during_the_run_stops_it_and_leaves_last_pt_intact(tiny_overrides, tmp_path, image_root, capsys):
    import shutil

    root = tmp_path / "images"
    shutil.copytree(image_root, root)
    sets = _sets(tiny_overrides) + ["--set", f"data.source={root}", "--set", "data.workers=1", "--set", "train.checkpoint_every=2"]
    out = tmp_path / "run1"
    assert main(["train", *sets, "--set", "train.steps=2", "--out", str(out)]) == 0
    before = (out / "last.pt").read_bytes()
    for f in (root / "train").glob("*.png"):  # every training file loses its pixels, keeps its header
        f.write_bytes(f.read_bytes()[:60])
    status = main(["train", *sets, "--set", "train.steps=6", "--out", str(out), "--resume", str(out / "last.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status != 0
    assert err[-1].startswith("invgan train: error: a data loader worker failed: ValueError: cannot decode ") and ".png" in err[-1]
    assert (out / "last.pt").read_bytes() == before


@pytest.fixture
def rgb_folder(tmp_path) -> Path:
    """12 RGB 24x20 PNGs cut from the built-in photos (no ``test/``: a held-out share is split off)."""
    from invgan.data import load_builtin

    root = tmp_path / "rgb"
    root.mkdir()
    rng = np.random.default_rng(0)
    photos = load_builtin("train", channels=3)
    for k in range(12):
        im = photos[k % len(photos)].numpy()
        top, left = int(rng.integers(0, im.shape[1] - 24)), int(rng.integers(0, im.shape[2] - 20))
        a = (im[:, top : top + 24, left : left + 20].transpose(1, 2, 0) * 255).astype(np.uint8)
        Image.fromarray(a).save(root / f"{k:02d}.png")
    return root


def test_a_generator_trained_on_a_folder_of_rgb_images_inverts_them(rgb_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = tmp_path / "gan"
    sets = ["--set", f"data.source={rgb_folder}", "--set", "data.resolution=16", "--set", "data.channels=3",
            "--set", "data.batch_size=4", "--set", "data.eval_samples=8", "--set", "model.width=8", "--set", "model.d_width=8",
            "--set", "train.steps=3", "--set", "train.eval_every=0", "--set", "train.progress=false",
            "--set", "data.heldout_fraction=0.25", "--set", "classifier_metrics=false"]
    assert main(["train", "--preset", "dcgan-mnist", *sets, "--out", str(run)]) == 0
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
    assert tuple(state["config"]["generator"]["out_shape"]) == (3, 16, 16)
    # held-out images of the run's folder (its seeded held-out share), then a file of the user's, resized as in training
    assert main(["invert", "--generator", str(run / "last.pt"), "--physics", "inpainting", "--max-steps", "3", "-n", "2",
                 "--no-progress", "--json", "--out", str(tmp_path / "inv")]) == 0
    assert sorted(p.name for p in (tmp_path / "inv").glob("heldout_*.png")) == ["heldout_000.png", "heldout_001.png"]
    assert main(["invert", "--generator", str(run / "last.pt"), "--physics", "inpainting", "--max-steps", "3", "--no-progress",
                 str(rgb_folder / "03.png"), "--out", str(tmp_path / "inv2")]) == 0
    assert (tmp_path / "inv2" / "03.png").exists()


@pytest.mark.parametrize("system", ["dcgan", "stylegan2", "sagan", "progan"])
def test_each_folder_preset_trains_on_a_folder_of_rgb_images(system, rgb_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = tmp_path / system
    sets = ["--set", f"data.source={rgb_folder}", "--set", "data.resolution=16", "--set", "data.batch_size=4",
            "--set", "model.width=4", "--set", "model.d_width=4", "--set", "train.steps=2", "--set", "train.eval_every=0",
            "--set", "train.progress=false", "--set", "data.heldout_fraction=0.25", "--set", "data.eval_samples=8",
            "--set", "classifier_metrics=false"]
    assert main(["train", "--preset", f"{system}-folder64", *sets, "--out", str(run)]) == 0
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 2 and tuple(state["config"]["generator"]["out_shape"]) == (3, 16, 16)


def test_generator_runs_refuse_what_they_cannot_use(rgb_folder, tmp_path):
    from invgan.config import resolve

    with pytest.raises(ValueError, match=r"data.resolution=48: expected one of"):
        resolve("unconditional", overrides=[f"data.source={rgb_folder}", "data.resolution=48"])
    with pytest.raises(ValueError, match="the built-in sets are grayscale"):
        resolve("unconditional", overrides=["data.channels=3"])
    from invgan.training.runs import build_run

    cfg = resolve("unconditional", preset="cgan-mnist", overrides=[f"data.source={rgb_folder}", "data.resolution=16"])
    with pytest.raises(ValueError, match="needs labelled images, and your images have none"):
        build_run(cfg, "cpu")
