"""Built-in photos split by image, user folders with clear errors, image files written and read back."""

import numpy as np
import pytest
import torch
from PIL import Image

from invgan.data import BUILTIN_TEST, BUILTIN_TRAIN, load_builtin, load_folder, read_image


def test_builtin_split_is_by_image():
    assert not set(BUILTIN_TRAIN) & set(BUILTIN_TEST)
    test = load_builtin("test", channels=1)
    assert len(test) == len(BUILTIN_TEST) and all(t.shape[0] == 1 for t in test)
    assert all(0 <= float(t.min()) and float(t.max()) <= 1 for t in test)


def test_builtin_rgb():
    (img,) = load_builtin(names=["coffee"], channels=3)
    assert img.shape[0] == 3


def test_folder_recursive_and_unreadable_file_skipped_with_warning(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.fromarray(np.full((20, 20, 3), 128, np.uint8)).save(tmp_path / "a" / "b" / "x.jpg")
    Image.fromarray(np.full((20, 20), 10, np.uint8)).save(tmp_path / "y.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="broken.png"):
        images = load_folder(tmp_path, channels=1)
    assert len(images) == 2 and all(im.shape == (1, 20, 20) for im in images)


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match=str(tmp_path)):
        load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "t.png").write_text("text")
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(tmp_path / "t.png")


def test_write_image_round_trip_and_clear_errors(tmp_path):
    from invgan.data.images import load_cameraman, write_image

    x = torch.rand(1, 1, 12, 10)
    path = write_image(x, tmp_path / "x.png")
    assert torch.allclose(read_image(path), x[0], atol=0.5 / 255 + 1e-6)
    rgb = torch.rand(3, 6, 6)
    assert torch.allclose(read_image(write_image(rgb, tmp_path / "rgb.png"), channels=3), rgb, atol=0.5 / 255 + 1e-6)
    with pytest.raises(IsADirectoryError, match="folder"):
        write_image(x, tmp_path)
    with pytest.raises(ValueError, match="unknown image extension '.npy'"):
        write_image(x, tmp_path / "x.npy")
    with pytest.raises(ValueError, match="C = 1 or 3"):
        write_image(torch.rand(2, 4, 4), tmp_path / "two.png")
    cam = load_cameraman(64)
    assert cam.shape == (1, 64, 64) and 0 <= float(cam.min()) and float(cam.max()) <= 1
