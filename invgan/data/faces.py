r"""Built-in faces read offline from scikit-image, as tensors in :math:`[0, 1]`.

``"lfw"``: the 200 face crops (25×25 grey) of :func:`skimage.data.lfw_subset`, rescaled
to :math:`[0, 1]` by their global min and max; no labels (``-1``).
"""

from __future__ import annotations

import numpy as np

from .split import SmallImageSet, split_set


def _read_lfw() -> tuple[np.ndarray, np.ndarray]:
    from skimage.data import lfw_subset

    faces = lfw_subset().astype(np.float32)
    faces = (faces - faces.min()) / (faces.max() - faces.min())
    return faces, -np.ones(len(faces), dtype=np.int64)


def load_faces(split: str = "train", *, heldout_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> SmallImageSet:
    """The LFW faces of ``split`` (``"train"``, ``"heldout"`` or ``"all"``), at most ``limit``
    (see :mod:`invgan.data.small_sets` for the split)."""
    return split_set("lfw", _read_lfw, split, heldout_fraction=heldout_fraction, seed=seed, limit=limit)
