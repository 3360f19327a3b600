r"""The seeded split shared by the built-in small image sets: the first ``heldout_fraction`` of
one seeded permutation of the images are ``"heldout"``, the rest ``"train"``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

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
    """The ``split`` of the images ``reader()`` returns (read once per ``name`` and cached), at most ``limit``.

    :Example:

    >>> import numpy as np
    >>> from invgan.data.split import split_set
    >>> reader = lambda: (np.zeros((10, 4, 4), dtype=np.float32), np.arange(10))
    >>> held = split_set("ten-zeros", reader, "heldout", heldout_fraction=0.2, seed=0, limit=None)
    >>> train = split_set("ten-zeros", reader, "train", heldout_fraction=0.2, seed=0, limit=None)
    >>> len(held), len(train), tuple(train.x.shape)
    (2, 8, (8, 1, 4, 4))
    >>> sorted(held.labels.tolist() + train.labels.tolist()) == list(range(10))
    True
    """
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
