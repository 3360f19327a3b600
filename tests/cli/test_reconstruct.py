"""Tests of invgan.cli.reconstruct."""

import json
import numpy as np
from PIL import Image
from invgan.cli import main


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
