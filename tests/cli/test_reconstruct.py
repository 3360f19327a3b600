"""Tests of invgan.cli.reconstruct: user images, outputs of the input's depth (16-bit in, 16-bit out) and of the model's
channels (a grayscale model writes grayscale PNGs), inputs read at full depth."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from invgan.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny grayscale conditional (deblurring) run of 2 steps on 48x48 PNGs."""
    root = tmp_path_factory.mktemp("rec")
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (root / "images" / split).mkdir(parents=True)
        for i in range(2):
            Image.fromarray((rng.random((48, 48)) * 255).astype(np.uint8)).save(root / "images" / split / f"{i}.png")
    sets = [f"data.source='{root / 'images'}'", "data.crop=16", "data.batch_size=2", "data.eval_crops=2", "model.width=4",
            "model.depth=2", "model.d_width=4", "model.d_layers=1", "train.steps=2", "train.eval_every=0",
            "train.checkpoint_every=0", "train.progress=false", "train.tensorboard=false", "train.device='cpu'"]
    assert main(["train", *[a for s in sets for a in ("--set", s)], "--out", str(root / "run")]) == 0
    return root / "run"


def test_16bit_input_is_read_at_depth_and_written_as_16bit(tiny_run, tmp_path, capsys):
    truth = np.linspace(5000, 40000, 32 * 32).reshape(32, 32).astype(np.uint16)  # about 0.08 .. 0.61
    Image.fromarray(truth).save(tmp_path / "deep.png")  # a 16-bit grayscale PNG (mode I;16)
    out = tmp_path / "rec"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert main(["reconstruct", "--checkpoint", str(tiny_run / "last.pt"), str(tmp_path / "deep.png"), "--out", str(out), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name in ("deep_measurement.png", "deep_reconstruction.png"):
        with Image.open(out / name) as im:
            assert im.mode == "I;16", name
            pixels = np.asarray(im).astype(np.float64) / 65535
    with Image.open(out / "deep_measurement.png") as im:
        blurred = np.asarray(im).astype(np.float64) / 65535
    assert abs(blurred.mean() - truth.mean() / 65535) < 0.05  # not read as white (mean 0.997)
    assert pixels.shape == truth.shape and np.isfinite(row["psnr"])


def test_grayscale_model_writes_grayscale_pngs(tiny_run, tmp_path, capsys):
    rgb = (np.random.default_rng(1).random((24, 24, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    out = tmp_path / "rec"
    assert main(["reconstruct", "--checkpoint", str(tiny_run / "last.pt"), str(tmp_path / "photo.png"), "--out", str(out)]) == 0
    for name in ("photo_measurement.png", "photo_reconstruction.png"):
        with Image.open(out / name) as im:
            assert im.mode == "L", f"{name} is {im.mode}: a 1-channel model's output is one channel"


def test_reconstruct_user_images(trained_run, tmp_path, capsys):
    img = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((24, 30)) * 255).astype(np.uint8)).save(img)
    out = tmp_path / "rec"
    assert main(["reconstruct", "--checkpoint", str(trained_run / "last.pt"), str(img), "--out", str(out), "--json"]) == 0
    assert (out / "photo_reconstruction.png").exists() and (out / "photo_measurement.png").exists()
    (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["psnr"] > 0
    with Image.open(out / "photo_reconstruction.png") as im:
        assert im.size == (30, 24)
    # measured input: the blurred image itself
    assert main(["reconstruct", "--checkpoint", str(trained_run / "last.pt"), str(img), "--measured", "--out", str(out)]) == 0


def _tiny_sampling_run(root, preset: str, steps: int):
    """Train ``preset`` for ``steps`` steps at tiny size on 48x48 noise images in ``root``; the run folder."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (root / "images" / split).mkdir(parents=True)
        for i in range(2):
            Image.fromarray((rng.random((48, 48)) * 255).astype(np.uint8)).save(root / "images" / split / f"{i}.png")
    sets = [f"data.source='{root / 'images'}'", "data.crop=16", "data.batch_size=2", "data.eval_crops=2", "model.width=4",
            "model.depth=2", "model.d_width=4", "model.d_layers=1", f"train.steps={steps}", "train.eval_every=0",
            "train.checkpoint_every=0", "train.progress=false", "train.tensorboard=false", "train.device='cpu'"]
    assert main(["train", "--preset", preset, *[a for s in sets for a in ("--set", s)], "--out", str(root / "run")]) == 0
    return root / "run"


@pytest.fixture(scope="module")
def sampling_run(tmp_path_factory):
    """A tiny rcGAN (deblurring) run of 2 steps: latent channels, 2 draws of z per measurement, std reward."""
    return _tiny_sampling_run(tmp_path_factory.mktemp("rcgan"), "rcgan-deblur", steps=2)


def test_samples_writes_the_mean_a_row_of_samples_and_a_std_map(sampling_run, tmp_path, capsys):
    img = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(2).random((20, 24)) * 255).astype(np.uint8)).save(img)
    out = tmp_path / "rec"
    assert main(["reconstruct", "--checkpoint", str(sampling_run / "last.pt"), str(img), "--samples", "3", "--out", str(out), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name, size in (("photo_reconstruction.png", (24, 20)), ("photo_samples.png", (3 * 24, 20)), ("photo_std.png", (24, 20))):
        with Image.open(out / name) as im:
            assert im.size == size and im.mode == "L", name
    assert row["samples"] == str(out / "photo_samples.png") and row["std_max"] >= row["std_mean"] >= 0 and np.isfinite(row["psnr"])


def test_std_pool_writes_the_pooled_std_map_and_refuses_an_even_size(sampling_run, tmp_path, capsys):
    """--std-pool 3: the std map is the root of the 3x3 mean variance of the same draws (same seed), so its
    mean lies below the per-pixel map's maximum and above 0; an even size, or no --samples, is one line."""
    img = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(4).random((20, 24)) * 255).astype(np.uint8)).save(img)
    rows = {}
    for pool in ("1", "3"):
        assert main(["reconstruct", "--checkpoint", str(sampling_run / "last.pt"), str(img), "--samples", "3", "--std-pool", pool,
                     "--out", str(tmp_path / f"pool{pool}"), "--json"]) == 0
        (rows[pool],) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rows["3"]["std_max"] <= rows["1"]["std_max"] + 1e-6 and rows["3"]["std_mean"] > 0
    assert rows["3"]["psnr"] == rows["1"]["psnr"]  # the same draws: only the std map changes
    for extra, message in ((["--samples", "3", "--std-pool", "2"], "invalid --std-pool 2"), (["--std-pool", "3"], "with --samples")):
        assert main(["reconstruct", "--checkpoint", str(sampling_run / "last.pt"), str(img), *extra, "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not (tmp_path / "bad").exists()


def test_samples_refuses_fewer_than_two_and_a_deterministic_model(sampling_run, tiny_run, tmp_path, capsys):
    img = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(3).random((20, 20)) * 255).astype(np.uint8)).save(img)
    for ckpt, k, message in ((sampling_run, "1", "invalid --samples 1: expected K >= 2"), (sampling_run, "0", "invalid --samples 0"),
                             (tiny_run, "4", "--samples needs a reconstructor with latent channels")):
        assert main(["reconstruct", "--checkpoint", str(ckpt / "last.pt"), str(img), "--samples", k, "--out", str(tmp_path / f"rec{k}")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("invgan reconstruct: error:") and message in err[0], err
        assert not (tmp_path / f"rec{k}").exists()  # refused before anything is written


def test_inpainting_sampler_draws_keep_the_measured_pixels(tmp_path):
    """The rcgan-inpainting preset, trained 3 steps: every draw equals y at the measured pixels
    (the preset copies them) and the draws differ where nothing was measured."""
    import torch

    from invgan.cli.common import load_reconstructor
    from invgan.metrics import sample_set
    from invgan.training.conditional import held_out_set

    run = _tiny_sampling_run(tmp_path, "rcgan-inpainting", steps=3)
    R, cfg = load_reconstructor(run / "last.pt", torch.device("cpu"))
    measurement, data = held_out_set(cfg, "cpu")
    masks = []

    def sampler(y, physics, k):
        masks.append(physics.mask.expand_as(y).bool())
        return R.eval().sample(y, physics, k)

    torch.manual_seed(0)
    post = sample_set(sampler, data, measurement.physics, 3)
    mask = torch.cat(masks)
    assert 0.3 < float(mask.float().mean()) < 0.7  # half the pixels kept
    for j in range(3):
        assert torch.equal(post.samples[:, j][mask], data.y.float()[mask])  # each draw: y where measured
    assert float(post.std[~mask].min()) > 0  # and its own z elsewhere
