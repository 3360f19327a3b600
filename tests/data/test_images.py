"""Built-in photos split by image, user folders with clear errors, image files written and read back."""

import warnings

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


# ---------------------------------------------------------------------- bit depth and colour (issue 22)
@pytest.fixture
def fresh_notices(monkeypatch):
    """Each test sees the once-per-process notices of invgan.data.images afresh."""
    from invgan.data import images

    monkeypatch.setattr(images, "_SAID", set(), raising=False)


def _ramp16(h: int = 16, w: int = 16) -> np.ndarray:
    """A 16-bit grayscale ramp over most of the range (a 8-bit reader clips it to white)."""
    return np.linspace(1000, 60000, h * w).reshape(h, w).astype(np.uint16)


def _png16(path, a: np.ndarray):
    Image.fromarray(a).save(path)  # numpy uint16 -> PIL I;16 -> 16-bit PNG
    with Image.open(path) as im:
        assert im.mode == "I;16"
    return path


def test_16bit_png_is_read_at_full_depth_with_one_notice(tmp_path, fresh_notices):
    a = _ramp16()
    path = _png16(tmp_path / "x16.png", a)
    with pytest.warns(UserWarning, match="16-bit.*65535") as caught:
        x = read_image(path)
        read_image(_png16(tmp_path / "y16.png", a))  # said once, not per file
    assert len([w for w in caught if "16-bit" in str(w.message)]) == 1
    assert x.shape == (1, 16, 16)
    assert torch.allclose(x[0], torch.from_numpy(a / 65535.0).float(), atol=1e-6)
    assert float((x >= 1).float().mean()) == 0.0  # not clipped to white


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I", "F", "L", "1"])
def test_every_pil_mode_is_scaled_by_its_type_range(tmp_path, mode, fresh_notices):
    from invgan.data.images import read_pixels

    a = _ramp16(4, 4)
    if mode == "I;16":
        im, want = Image.fromarray(a), a / 65535
    elif mode == "I;16B":
        im, want = Image.frombytes("I;16B", (4, 4), a.astype(">u2").tobytes()), a / 65535
    elif mode == "I":
        im, want = Image.fromarray(a.astype(np.int32)), a / 65535  # how older Pillow opens a 16-bit PNG
    elif mode == "F":
        im, want = Image.fromarray((a / 65535).astype(np.float32)), a / 65535
    elif mode == "L":
        im, want = Image.fromarray((a // 257).astype(np.uint8)), (a // 257) / 255
    else:
        im = Image.fromarray((a > 30000).astype(np.uint8) * 255).convert("1")
        want = (a > 30000).astype(float)
    assert im.mode == mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = read_pixels(im, "test")
    assert got.dtype == np.float32 and np.allclose(got, want, atol=1e-6)


def test_16bit_tiff_gray_and_rgb_at_full_depth(tmp_path, fresh_notices):
    import tifffile

    a = _ramp16()
    tifffile.imwrite(tmp_path / "g.tif", a)
    rgb = np.stack([a, a[::-1], a.T], -1)
    tifffile.imwrite(tmp_path / "c.tiff", rgb)
    with pytest.warns(UserWarning, match="65535"):
        g = read_image(tmp_path / "g.tif")
    c = read_image(tmp_path / "c.tiff", channels=3)
    assert torch.allclose(g[0], torch.from_numpy(a / 65535.0).float(), atol=1e-6)
    assert torch.allclose(c, torch.from_numpy(rgb / 65535.0).float().permute(2, 0, 1), atol=1e-6)


def test_float_image_outside_unit_range_is_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 200.0, np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ValueError, match=r"f.tif.*values in \[200, 200\].*expected \[0, 1\]"):
        read_image(tmp_path / "f.tif")


def test_train_data_folder_of_16bit_pngs_is_not_white(tmp_path, fresh_notices):
    from invgan.data import load_images

    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        _png16(tmp_path / split / "a.png", _ramp16(24, 24))
    with pytest.warns(UserWarning, match="16-bit"):
        images = load_images(str(tmp_path), "train", channels=1, min_size=16)
    (x,) = images
    assert 0.01 < float(x.min()) and float(x.max()) < 0.95


def test_16bit_written_back_as_16bit_png(tmp_path):
    from invgan.data.images import write_image

    x = torch.from_numpy(_ramp16() / 65535.0).float()[None]
    path = write_image(x, tmp_path / "o.png", bits=16)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.allclose(read_image(path), x, atol=0.5 / 65535 + 1e-7)
    rgb = torch.rand(3, 5, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = read_image(write_image(rgb, tmp_path / "c.png", bits=16), channels=3)  # RGB: written and read at full depth
    assert back.shape == (3, 5, 7) and torch.allclose(back, rgb, atol=0.5 / 65535 + 1e-6)
    with pytest.raises(ValueError, match="bits=12"):
        write_image(x, tmp_path / "p.png", bits=12)


def test_colour_photos_in_a_grayscale_run_are_said_once(tmp_path, fresh_notices):
    from invgan.data import load_images

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        for i in range(2):
            Image.fromarray((rng.random((20, 20, 3)) * 255).astype(np.uint8)).save(tmp_path / split / f"{i}.png")
    with pytest.warns(UserWarning, match=r"colour.*grayscale.*--set data.channels=3") as caught:
        load_images(str(tmp_path), "train", channels=1)
        load_images(str(tmp_path), "test", channels=1)
    assert len([w for w in caught if "colour" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_images(str(tmp_path), "train", channels=3)  # colour kept: nothing to say
    from invgan.data import images

    images._SAID.clear()
    (tmp_path / "gray" / "train").mkdir(parents=True)
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(tmp_path / "gray" / "train" / "g.png")  # gray stored as RGB
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_images(str(tmp_path / "gray"), "train", channels=1)  # no colour to drop: nothing to say


def test_dip_measures_a_16bit_png_at_full_depth(tmp_path, capsys, fresh_notices):
    """``invgan dip`` reads through :func:`read_image`: a 16-bit PNG and its 8-bit copy give the
    same PSNR (a clipping reader made the 16-bit one a white image, measured against itself)."""
    import json

    from invgan.cli import main

    a = np.linspace(3000, 50000, 32 * 32).reshape(32, 32).astype(np.uint16)
    _png16(tmp_path / "deep.png", a)
    Image.fromarray((a / 257).round().astype(np.uint8)).save(tmp_path / "flat.png")
    psnr = {}
    for name in ("deep", "flat"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["dip", str(tmp_path / f"{name}.png"), "--physics", "denoising", "--max-steps", "2", "--seed", "0",
                         "--no-progress", "--json", "--out", str(tmp_path / f"{name}_out.png")]) == 0
        psnr[name] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["psnr"]
    assert abs(psnr["deep"] - psnr["flat"]) < 0.5, psnr


def test_8_and_16_bit_samples_scale_exactly_as_scikit_image_does():
    """The training photos and user images give the same float32 pixels as before 16-bit reading
    (scikit-image's ``img_as_float32``): a last-bit change would change every trained network."""
    from skimage.util import img_as_float32

    from invgan.data.images import unit_range

    rng = np.random.default_rng(0)
    for a in (rng.integers(0, 256, (9, 7), dtype=np.uint8), rng.integers(0, 65536, (9, 7), dtype=np.uint16)):
        got = unit_range(a)
        assert got.dtype == np.float32 and np.array_equal(got, img_as_float32(a))
