"""Crop streams (a function of the step), fixed evaluation crops and the labelled sample stream."""

from __future__ import annotations

import pytest
import torch

from invgan.data import CropStream, SampleStream, fixed_crops


# ---------------------------------------------------------------- DiffAugment


def test_sample_stream_gives_labelled_batches_that_depend_only_on_the_step():
    x, labels = torch.rand(10, 1, 4, 4), torch.arange(10)
    stream = SampleStream(x, 6, labels=labels, seed=1)
    b = stream[3]
    assert b["x"].shape == (6, 1, 4, 4) and torch.equal(b["x"], x[b["label"]])
    assert torch.equal(stream[3]["label"], b["label"]) and not torch.equal(stream[4]["label"], b["label"])
    with pytest.raises(ValueError, match="label"):
        SampleStream(x, 6, labels=-torch.ones(10, dtype=torch.long))


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
