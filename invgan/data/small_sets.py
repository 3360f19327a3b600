r"""The built-in small image sets, by name, split into ``"train"`` and ``"heldout"``.

* digits (:mod:`invgan.data.digits`): ``"mnist"`` (5,000 real 28×28 MNIST digits) and
  ``"digits8"`` (scikit-learn's 1,797 8×8 digits);
* faces (:mod:`invgan.data.faces`): ``"lfw"`` (200 grey 25×25 face crops, no labels).

Every set is split by one seeded permutation: the first ``heldout_fraction`` of the images
are ``"heldout"``, the rest ``"train"`` (the same split for every call with the same seed).
:func:`load_small_set` selects a set by name for callers that take it from a config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

SMALL_SETS = ("mnist", "digits8", "lfw")
SPLITS = ("train", "heldout", "all")

Reader = Callable[[], tuple[np.ndarray, np.ndarray]]
_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


@dataclass
class SmallImageSet:
    """Images ``x`` of shape ``(N, 1, H, W)`` in [0, 1] and integer labels ``labels`` (``-1`` if none)."""

    x: Tensor
    labels: Tensor
    name: str
    split: str

    def __len__(self) -> int:
        return self.x.shape[0]


def split_set(name: str, reader: Reader, split: str, *, heldout_fraction: float, seed: int, limit: int | None) -> SmallImageSet:
    """The ``split`` of the images ``reader()`` returns (read once per ``name`` and cached), at most ``limit``."""
    if split not in SPLITS:
        raise ValueError(f"invalid split={split!r}: expected one of {SPLITS}")
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"invalid heldout_fraction={heldout_fraction!r}: expected a fraction in (0, 1)")
    if name not in _CACHE:
        _CACHE[name] = reader()
    images, labels = _CACHE[name]
    order = np.random.default_rng(seed).permutation(len(images))
    n_held = int(round(heldout_fraction * len(images)))
    idx = {"heldout": order[:n_held], "train": order[n_held:], "all": np.arange(len(images))}[split]
    if limit is not None:
        idx = idx[:limit]
    x = torch.from_numpy(np.ascontiguousarray(images[idx]))[:, None]
    return SmallImageSet(x=x.clamp(0, 1), labels=torch.from_numpy(labels[idx]), name=name, split=split)


def load_small_set(name: str = "mnist", split: str = "train", *, heldout_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> SmallImageSet:
    """Built-in set ``name`` (``"mnist"``, ``"digits8"`` or ``"lfw"``) of the given ``split``
    (``"train"``, ``"heldout"`` or ``"all"``), at most ``limit`` images."""
    kwargs = dict(heldout_fraction=heldout_fraction, seed=seed, limit=limit)
    if name == "lfw":
        from .faces import load_faces

        return load_faces(split, **kwargs)
    if name in SMALL_SETS:
        from .digits import load_digits

        return load_digits(name, split, **kwargs)
    raise ValueError(f"unknown built-in set {name!r}: expected one of {SMALL_SETS}")
