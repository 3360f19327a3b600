r"""The built-in small image sets, by name, split into ``"train"`` and ``"heldout"``.

* digits (:mod:`invgan.data.digits`): ``"mnist"`` (5,000 real 28×28 MNIST digits) and
  ``"digits8"`` (scikit-learn's 1,797 8×8 digits);
* faces (:mod:`invgan.data.faces`): ``"lfw"`` (200 grey 25×25 face crops, no labels).

Every set is split by one seeded permutation: the first ``heldout_fraction`` of the images
are ``"heldout"``, the rest ``"train"`` (the same split for every call with the same seed).
:func:`load_small_set` selects a set by name for callers that take it from a config.
"""

from __future__ import annotations

from .digits import load_digits
from .faces import load_faces
from .split import SmallImageSet, split_set

SMALL_SETS = ("mnist", "digits8", "lfw")


def load_small_set(name: str = "mnist", split: str = "train", *, heldout_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> SmallImageSet:
    """Built-in set ``name`` (``"mnist"``, ``"digits8"`` or ``"lfw"``) of the given ``split``
    (``"train"``, ``"heldout"`` or ``"all"``), at most ``limit`` images.

    :Example:

    >>> from invgan.data.small_sets import load_small_set
    >>> d = load_small_set("digits8", "heldout", limit=5)
    >>> tuple(d.x.shape), d.labels.dtype
    ((5, 1, 8, 8), torch.int64)
    """
    kwargs = dict(heldout_fraction=heldout_fraction, seed=seed, limit=limit)
    if name == "lfw":
        return load_faces(split, **kwargs)
    if name in SMALL_SETS:
        return load_digits(name, split, **kwargs)
    raise ValueError(f"unknown built-in set {name!r}: expected one of {SMALL_SETS}")


__all__ = ["SMALL_SETS", "SmallImageSet", "load_small_set", "split_set"]
