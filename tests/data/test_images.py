"""Built-in photos split by image, user folders with clear errors, deterministic crops, measurements."""


import numpy as np
import pytest
import torch
from PIL import Image

from invgan.data import BUILTIN_TEST, BUILTIN_TRAIN, CropStream, fixed_crops, fixed_measurements, load_builtin, load_folder, read_image
from invgan.physics import make_physics


def test_builtin_split_is_by_image():
    assert not set(BUILTIN_TRAIN) & set(BUILTIN_TEST)
    test = load_builtin("test", channels=1)
    assert len(test) == len(BUILTIN_TEST) and all(t.shape[0] == 1 for t in test)
    assert all(0 <= float(t.min()) and float(t.max()) <= 1 for t in test)


def test_builtin_rgb():
    (img,) = load_builtin(names=["coffee"], channels=3)
    assert img.shape[0] == 3


def test_crop_stream_is_a_function_of_the_step():
    images = [torch.rand(1, 40, 50), torch.rand(1, 30, 30)]
    s = CropStream(images, 16, batch_size=4, seed=3)
    assert s[7].shape == (4, 1, 16, 16)
    assert torch.equal(s[7], CropStream(images, 16, batch_size=4, seed=3)[7])
    assert not torch.equal(s[7], s[8])
    loaded = list(s.loader(start=5, stop=8))
    assert len(loaded) == 3 and torch.equal(loaded[2], s[7])


def test_crop_size_larger_than_an_image_is_an_error():
    with pytest.raises(ValueError, match="crop size 64"):
        CropStream([torch.rand(1, 32, 32)], 64, batch_size=2)


def test_fixed_crops_cover_every_image():
    a, b = torch.zeros(1, 20, 20), torch.ones(1, 20, 20)
    crops = fixed_crops([a, b], 8, n=4)
    assert crops[:, 0, 0, 0].tolist() == [0.0, 1.0, 0.0, 1.0]


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


def test_fixed_measurements_are_seeded_and_leave_the_online_stream_alone():
    mm = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True)
    x = torch.rand(3, 1, 16, 16)
    before = mm.rng_state()
    a, b = fixed_measurements(mm, x, seed=1), fixed_measurements(mm, x, seed=1)
    assert torch.equal(a.y, b.y) and torch.equal(a.operator_params["mask"], b.operator_params["mask"])
    after = mm.rng_state()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # online measurements: fresh noise and masks at every call
    assert not torch.equal(mm.measure(x), mm.measure(x))


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


def test_plot_convergence_writes_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from invgan.plotting import plot_convergence

    plot_convergence(np.linspace(1, 0.1, 20), np.linspace(10, 20, 20), 12, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0


def test_small_sets_by_name_digits_and_faces_apart():
    from invgan.data import SMALL_SETS, load_small_set
    from invgan.data.digits import load_digits
    from invgan.data.faces import load_faces

    assert SMALL_SETS == ("mnist", "digits8", "lfw")
    d = load_small_set("digits8", "heldout", seed=1)
    assert torch.equal(d.x, load_digits("digits8", "heldout", seed=1).x) and (d.labels >= 0).all()
    train, held = load_faces("train"), load_small_set("lfw", "heldout")
    assert held.x.shape == (40, 1, 25, 25) and len(train) == 160 and (held.labels == -1).all()
    assert torch.equal(load_small_set("lfw", "all").x.sort(0).values, torch.cat([train.x, held.x]).sort(0).values)
    with pytest.raises(ValueError, match="load_faces"):
        load_digits("lfw")
    with pytest.raises(ValueError, match="unknown built-in set 'cifar'"):
        load_small_set("cifar")
    with pytest.raises(ValueError, match="split"):
        load_small_set("lfw", "test")
