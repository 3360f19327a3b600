"""The small built-in data sets, by name."""

import pytest
import torch


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
