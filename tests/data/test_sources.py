"""Lazily read image sources: folders of every format, lists, NumPy arrays, clear errors, and crops
that equal those of the images held in memory."""

import warnings

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from invgan.data import CropStream, fixed_crops, load_folder
from invgan.data.crops import WorkerError, auto_workers, loader_batches
from invgan.data.sources import (ArraySource, FileSource, ResizedSource, TensorSource, generator_sets, open_source, resize_center,
                                 split_indices)


@pytest.fixture
def fresh_notices(monkeypatch):
    from invgan.data import images

    monkeypatch.setattr(images, "_SAID", set(), raising=False)


def _rgb(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def mixed_folder(tmp_path):
    """One image of each format, in sub-folders, of different sizes."""
    rng = np.random.default_rng(0)
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.fromarray(_rgb(rng, 30, 40)).save(tmp_path / "a" / "one.png")
    Image.fromarray(_rgb(rng, 36, 28)).save(tmp_path / "a" / "b" / "two.jpg", quality=95)
    Image.fromarray(_rgb(rng, 24, 24)).save(tmp_path / "three.bmp")
    Image.fromarray(_rgb(rng, 32, 20)).save(tmp_path / "four.webp", lossless=True)
    tifffile.imwrite(tmp_path / "five.tif", rng.integers(0, 65536, (26, 34), dtype=np.uint16))
    return tmp_path


def test_folder_of_every_format_is_read_lazily_and_crops_equal_the_images_in_memory(mixed_folder, fresh_notices):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = open_source(str(mixed_folder), "train", channels=3)
        in_memory = load_folder(mixed_folder, channels=3)
    assert len(source) == 5 and len(in_memory) == 5
    assert [source.size(i) for i in range(5)] == [tuple(im.shape[-2:]) for im in in_memory]
    for i, image in enumerate(in_memory):
        assert torch.equal(source.read(i), image)
        assert torch.equal(source.crop(i, 3, 2, 12), image[:, 3:15, 2:14])
    # the same stream of crops, whether the images are in memory or read from the files
    lazy, held = CropStream(source, 16, 4, seed=3, workers=0), CropStream(in_memory, 16, 4, seed=3)
    for t in (0, 7):
        assert torch.equal(lazy[t], held[t])
    assert torch.equal(fixed_crops(source, 16, 7, seed=1), fixed_crops(in_memory, 16, 7, seed=1))


def test_sixteen_bit_tiff_is_scaled_by_its_range_and_said_once(mixed_folder, fresh_notices):
    with pytest.warns(UserWarning, match="16-bit") as said:
        source = open_source(str(mixed_folder), "train", channels=1)
    assert sum("16-bit" in str(w.message) for w in said) == 1
    i = [source.name(k) for k in range(len(source))].index(str(mixed_folder / "five.tif"))
    raw = tifffile.imread(mixed_folder / "five.tif")
    assert torch.allclose(source.read(i)[0], torch.from_numpy(raw / 65535.0).float(), atol=1e-6)
    ranged = open_source(str(mixed_folder), "train", channels=1, value_range=[0, 4095])
    assert float(ranged.read(i).max()) == 1.0  # 12-bit range: everything above 4095 is white


def test_unreadable_small_and_mixed_files_each_give_one_warning(tmp_path, fresh_notices):
    rng = np.random.default_rng(1)
    Image.fromarray(_rgb(rng, 20, 20)).save(tmp_path / "colour.png")
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / "gray.png")
    Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).save(tmp_path / "tiny.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "also.jpg").write_bytes(b"")
    with pytest.warns(UserWarning) as said:
        source = open_source(str(tmp_path), "train", channels=3, min_size=8)
    messages = [str(w.message) for w in said]
    assert len(source) == 2
    assert any("2 of 5 files" in m and "broken.png" in m and "also.jpg" in m for m in messages)
    assert any("smaller than 8" in m and "tiny.png 6x6" in m for m in messages)
    assert any("1 of 2 images" in m and "grayscale" in m and "RGB" in m for m in messages)
    assert len(messages) == 3
    assert source.read([source.name(i) for i in range(2)].index(str(tmp_path / "gray.png"))).shape == (3, 20, 20)


def test_clear_errors_for_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="data source not found"):
        open_source(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        open_source(str(tmp_path / "empty"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_text("text")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="all 1 files are unreadable"):
        open_source(str(tmp_path / "bad"))
    (tmp_path / "table.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match=r"is a \.csv file: expected 'builtin', a folder"):
        open_source(str(tmp_path / "table.csv"))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "one.png")
    with pytest.raises(ValueError, match="is one image"):
        open_source(str(tmp_path / "one.png"))
    with pytest.raises(ValueError, match="value_range"):
        open_source("builtin", value_range=[0, 1])
    with pytest.raises(ValueError, match="low < high"):
        open_source(str(tmp_path / "bad"), value_range=[1, 0])
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="lists no image paths"):
        open_source(str(tmp_path / "empty.txt"))


def test_list_file_relative_paths_comments_and_missing_entries(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "imgs").mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 18), dtype=np.uint8)).save(tmp_path / "imgs" / f"{k}.png")
    listing = tmp_path / "train.txt"
    listing.write_text(f"# my images\nimgs/0.png\n\n{tmp_path / 'imgs' / '2.png'}\nimgs/gone.png\n")
    with pytest.warns(UserWarning, match="gone.png"):
        source = open_source(str(listing))
    assert [source.name(i) for i in range(len(source))] == [str(tmp_path / "imgs" / "0.png"), str(tmp_path / "imgs" / "2.png")]


def test_test_folder_is_never_trained_on(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "test").mkdir()
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / "test" / "b.png")
    train, test = open_source(str(tmp_path), "train"), open_source(str(tmp_path), "test")
    assert [train.name(0)] == [str(tmp_path / "a.png")] and len(train) == 1
    assert [test.name(0)] == [str(tmp_path / "test" / "b.png")] and len(test) == 1


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW"])
def test_npy_stacks_are_memory_mapped_and_read_per_image(tmp_path, layout):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 65536, (5, 12, 10, 3), dtype=np.uint16)
    array = {"NHW": x[..., 0], "NHWC": x, "NCHW": x.transpose(0, 3, 1, 2)}[layout]
    np.save(tmp_path / "x.npy", array)
    source = open_source(str(tmp_path / "x.npy"), channels=3 if layout != "NHW" else 1)
    assert isinstance(source, ArraySource) and len(source) == 5 and source.size(2) == (12, 10)
    assert isinstance(source._array(""), np.memmap)  # never loaded whole
    want = torch.from_numpy(x[3] / 65535.0).float().permute(2, 0, 1)
    got = source.read(3)
    assert torch.allclose(got, want[:1] if layout == "NHW" else want, atol=1e-6)
    assert torch.equal(source.crop(3, 2, 1, 5), got[:, 2:7, 1:6])


def test_npz_arrays_in_order_and_float_ranges(tmp_path):
    rng = np.random.default_rng(5)
    one, stack = rng.random((9, 11)).astype(np.float32), (rng.random((2, 9, 11)) * 1000).astype(np.float32)
    np.savez(tmp_path / "x.npz", first=one, rest=stack)
    with pytest.raises(ValueError, match=r"float values in \[.*\]: state their range with data.value_range"):
        open_source(str(tmp_path / "x.npz")).read(1)
    source = open_source(str(tmp_path / "x.npz"), value_range=[0, 1000])
    assert len(source) == 3 and source.name(2).endswith("[rest][1]")
    assert torch.allclose(source.read(2)[0], torch.from_numpy(np.clip(stack[1] / 1000, 0, 1)), atol=1e-6)
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4, 5, 6)))
    with pytest.raises(ValueError, match="an array of shape"):
        open_source(str(tmp_path / "bad.npy"))


def test_batches_do_not_depend_on_the_number_of_workers(mixed_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = open_source(str(mixed_folder), "train", channels=3)
    stream = CropStream(source, 16, 3, seed=5, workers=2)
    with_workers = list(loader_batches(stream.loader(start=4, stop=9)))
    in_process = list(stream.loader(start=4, stop=9, num_workers=0))
    assert len(with_workers) == 5 and all(torch.equal(a, b) for a, b in zip(with_workers, in_process))


def test_a_file_that_fails_in_a_worker_stops_with_its_own_message(tmp_path):
    rng = np.random.default_rng(6)
    for k in range(2):
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / f"{k}.png")
    source = open_source(str(tmp_path))
    data = (tmp_path / "1.png").read_bytes()
    (tmp_path / "1.png").write_bytes(data[:60])  # the header survives, the pixels do not
    stream = CropStream(source, 8, 4, seed=0, workers=1)
    with pytest.raises(WorkerError, match=r"^a data loader worker failed: ValueError: cannot decode .*1\.png") as e:
        list(loader_batches(stream.loader(start=0, stop=3)))
    assert "\n" not in str(e.value)


def test_worker_count_follows_the_source():
    assert auto_workers(TensorSource([torch.zeros(1, 8, 8)])) == 0
    small = ResizedSource(TensorSource([torch.zeros(1, 8, 8)]), 16)
    assert auto_workers(small) == 0  # a few pixels in all: read in the training process


def test_generator_sets_split_resize_and_centre_crop(tmp_path):
    rng = np.random.default_rng(7)
    for k in range(10):
        Image.fromarray(_rgb(rng, 40, 60)).save(tmp_path / f"{k}.png")
    train, held = generator_sets(str(tmp_path), None, 16, 3, heldout_fraction=0.2, seed=0)
    assert (len(train), len(held)) == (8, 2) and train.size(0) == (16, 16)
    names = {train.name(i) for i in range(8)} | {held.name(i) for i in range(2)}
    assert len(names) == 10  # disjoint and complete
    assert tuple(train.read(0).shape) == (3, 16, 16)
    again, _ = generator_sets(str(tmp_path), None, 16, 3, heldout_fraction=0.2, seed=0)
    assert [again.name(i) for i in range(8)] == [train.name(i) for i in range(8)]
    x = torch.rand(3, 40, 60)
    want = torch.nn.functional.interpolate(x[None], size=(16, 24), mode="bilinear", antialias=True, align_corners=False)[0, :, :, 4:20]
    assert torch.allclose(resize_center(x, 16), want.clamp(0, 1), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 images"):
        split_indices(1, 0.1, 0)


def test_file_source_pickles_without_its_cache(tmp_path):
    import pickle

    Image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp_path / "z.png")
    source = FileSource([tmp_path / "z.png"], cache_mb=1)
    source.read(0)
    assert source._cache is not None and pickle.loads(pickle.dumps(source))._cache is None
