r"""Choosing a source from a ``data.source`` string, and reading small sets whole."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from torch import Tensor

from ..images import IMAGE_SUFFIXES, load_builtin
from .arrays import ArraySource
from .base import ImageSource, TensorSource
from .files import FileSource, list_images, read_list

#: suffixes of a text file listing image paths
LIST_SUFFIXES = (".txt", ".lst", ".list")
#: suffixes of NumPy array sources
ARRAY_SUFFIXES = (".npy", ".npz")
#: what ``data.source`` may name
SOURCE_KINDS = "'builtin', a folder of images, a text file listing image paths (.txt) or NumPy arrays (.npy/.npz)"


def source_root(source: str, split: str) -> Path:
    """The path a ``data.source`` string names for ``split``: a folder's ``split`` sub-folder when it
    has one, the folder, list or array file otherwise."""
    root = Path(source).expanduser()
    if root.is_dir() and (root / split).is_dir():
        return root / split
    return root


def has_split(source: str, split: str) -> bool:
    """Whether a folder ``source`` has a ``split`` sub-folder (``train/``, ``test/``)."""
    return source != "builtin" and (Path(source).expanduser() / split).is_dir()


def open_source(source: str, split: str = "train", channels: int = 1, *, min_size: int = 1,
                value_range: Sequence[float] | None = None, cache_mb: float = 0.0) -> ImageSource:
    """The images ``source`` names: ``"builtin"`` (the shipped photos of ``split``), a folder (its
    ``split`` sub-folder when present, read recursively), a text file listing image paths, or a
    ``.npy`` / ``.npz`` file. Clear errors for a missing path or a file of the wrong kind."""
    rng = _check_range(value_range)
    if source == "builtin":
        if rng is not None:
            raise ValueError("data.value_range applies to your own images, not to the built-in photos: leave it unset")
        return TensorSource(load_builtin(split, channels))
    root = source_root(source, split)
    if not root.exists():
        raise FileNotFoundError(f"data source not found: {root} (expected {SOURCE_KINDS})")
    if root.is_dir():
        files = list_images(root)
        held = root / "test"
        if split == "train" and held.is_dir():  # a folder with test/ but no train/: test/ is never trained on
            files = [f for f in files if held not in f.parents]
            if not files:
                raise ValueError(f"no training images under {root}: all are in its test/ sub-folder (put them in {root / 'train'})")
        return FileSource(files, channels, min_size=min_size, where=str(root), value_range=rng, cache_mb=cache_mb)
    suffix = root.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return ArraySource(root, channels, min_size=min_size, value_range=rng)
    if suffix in LIST_SUFFIXES:
        return FileSource(read_list(root), channels, min_size=min_size, where=str(root), value_range=rng, cache_mb=cache_mb)
    kind = "one image" if suffix in IMAGE_SUFFIXES else f"a {suffix or 'suffix-less'} file"
    raise ValueError(f"data source {root} is {kind}: expected {SOURCE_KINDS}")


def _check_range(value_range: Sequence[float] | None) -> tuple[float, float] | None:
    if value_range is None:
        return None
    vals = list(value_range)
    if len(vals) != 2 or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in vals) or not vals[0] < vals[1]:
        raise ValueError(f"invalid data.value_range={value_range!r}: expected two finite numbers [low, high] with low < high")
    return float(vals[0]), float(vals[1])


def load_folder(path: str | Path, channels: int = 1, min_size: int = 1) -> list[Tensor]:
    """All images under ``path`` (recursive) in memory, read by :class:`FileSource` (unreadable or
    too-small files skipped with one warning; a missing or empty folder is an error naming it).
    For small sets; training streams read their images lazily instead."""
    root = Path(path)
    if root.is_file():
        raise NotADirectoryError(f"expected a folder of images, got a file: {root}")
    return list(FileSource(list_images(root), channels, min_size=min_size, where=str(root)))


def load_images(source: str = "builtin", split: str = "train", channels: int = 1, min_size: int = 1) -> list[Tensor]:
    """The images of any ``source`` (see :func:`open_source`) in memory, as a list of ``(C, H, W)`` tensors."""
    return list(open_source(source, split, channels, min_size=min_size))
