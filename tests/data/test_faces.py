"""Tests of invgan.data.faces: scikit-learn's bundled LFW faces, offline, without labels."""

from invgan.data.faces import load_faces


def test_faces_are_unlabelled_grayscale_images_in_the_unit_range():
    train, held = load_faces("train"), load_faces("heldout")
    assert train.x.shape[1:] == held.x.shape[1:] == (1, 25, 25) and len(train) == 160 and len(held) == 40
    assert (train.labels == -1).all() and float(train.x.min()) >= 0 and float(train.x.max()) <= 1
    assert len(load_faces("train", limit=10)) == 10
