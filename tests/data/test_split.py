"""Tests of invgan.data.split: the seeded train / held-out split of the built-in small sets."""

import numpy as np
import pytest

from invgan.data.split import split_set


def _reader():
    images = np.arange(50, dtype=np.float32).reshape(50, 1, 1, 1) / 50
    return images, np.arange(50) % 10


def _ids(s):
    return set((s.x.flatten() * 50).round().int().tolist())


def test_train_and_heldout_partition_the_set_and_depend_only_on_the_seed():
    held, train = (split_set("toy", _reader, split, heldout_fraction=0.2, seed=3, limit=None) for split in ("heldout", "train"))
    assert len(held) == 10 and len(train) == 40 and not (_ids(held) & _ids(train)) and _ids(held) | _ids(train) == set(range(50))
    again = split_set("toy", _reader, "heldout", heldout_fraction=0.2, seed=3, limit=None)
    other = split_set("toy", _reader, "heldout", heldout_fraction=0.2, seed=4, limit=None)
    assert _ids(again) == _ids(held) and _ids(other) != _ids(held)
    assert len(split_set("toy", _reader, "all", heldout_fraction=0.2, seed=3, limit=None)) == 50
    assert len(split_set("toy", _reader, "train", heldout_fraction=0.2, seed=3, limit=7)) == 7


def test_bad_split_or_fraction_is_refused():
    with pytest.raises(ValueError, match="invalid split='test'"):
        split_set("toy", _reader, "test", heldout_fraction=0.2, seed=0, limit=None)
    with pytest.raises(ValueError, match="invalid heldout_fraction=1.0"):
        split_set("toy", _reader, "train", heldout_fraction=1.0, seed=0, limit=None)
