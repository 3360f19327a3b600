r"""The interface of an image source and the sources held in memory; value scaling and the
per-process cache of decoded images."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

class ImageSource:
    """A numbered list of images: ``len``, :meth:`size` without decoding, :meth:`read` and
    :meth:`crop` as ``(C, H, W)`` float32 tensors in [0, 1], :meth:`name` for messages."""

    channels: int = 1

    def __len__(self) -> int:
        raise NotImplementedError

    def size(self, i: int) -> tuple[int, int]:
        """``(H, W)`` of image ``i``."""
        raise NotImplementedError

    def read(self, i: int) -> Tensor:
        """Image ``i`` as ``(C, H, W)`` in [0, 1]."""
        raise NotImplementedError

    def crop(self, i: int, top: int, left: int, size: int) -> Tensor:
        """The ``size`` x ``size`` window of image ``i`` at ``(top, left)``."""
        return self.read(i)[:, top : top + size, left : left + size]

    def crops(self, i: int, windows: Sequence[tuple[int, int]], size: int) -> list[Tensor]:
        """The ``size`` x ``size`` windows at ``(top, left)`` of image ``i``, read once."""
        image = self.read(i)
        return [image[:, top : top + size, left : left + size] for top, left in windows]

    def name(self, i: int) -> str:
        return f"image {i}"

    def __iter__(self) -> Iterator[Tensor]:
        """The images in order, each read when reached."""
        return (self.read(i) for i in range(len(self)))

    def areas(self) -> Tensor:
        """Pixels of each image (float), the weights of area-proportional draws."""
        return torch.tensor([float(h * w) for h, w in (self.size(i) for i in range(len(self)))])

    def subset(self, indices: Sequence[int]) -> "ImageSource":
        """The images ``indices`` as a source of their own (nothing is read)."""
        return _Subset(self, list(indices))


class _Subset(ImageSource):
    def __init__(self, base: ImageSource, indices: list[int]):
        self.base, self.indices, self.channels = base, indices, base.channels

    def __len__(self) -> int:
        return len(self.indices)

    def size(self, i: int) -> tuple[int, int]:
        return self.base.size(self.indices[i])

    def read(self, i: int) -> Tensor:
        return self.base.read(self.indices[i])

    def crop(self, i: int, top: int, left: int, size: int) -> Tensor:
        return self.base.crop(self.indices[i], top, left, size)

    def crops(self, i: int, windows: Sequence[tuple[int, int]], size: int) -> list[Tensor]:
        return self.base.crops(self.indices[i], windows, size)

    def name(self, i: int) -> str:
        return self.base.name(self.indices[i])


class TensorSource(ImageSource):
    """Images held in memory (a list of ``(C, H, W)`` tensors)."""

    def __init__(self, images: Sequence[Tensor]):
        self.images = list(images)
        if not self.images:
            raise ValueError("no images given")
        self.channels = int(self.images[0].shape[0])

    def __len__(self) -> int:
        return len(self.images)

    def size(self, i: int) -> tuple[int, int]:
        h, w = self.images[i].shape[-2:]
        return int(h), int(w)

    def read(self, i: int) -> Tensor:
        return self.images[i]


def as_source(images: ImageSource | Sequence[Tensor]) -> ImageSource:
    """``images`` as a source: a source as it is, a list of tensors in memory."""
    return images if isinstance(images, ImageSource) else TensorSource(images)


def scale_values(a: np.ndarray, value_range: tuple[float, float] | None, where: str) -> np.ndarray:
    """Samples as float32 in [0, 1]: by ``value_range`` (clipped) when given, else by their type
    (:func:`~invgan.data.images.unit_range`, applied later by :func:`to_tensor`)."""
    if value_range is None:
        return a
    lo, hi = value_range
    a = np.asarray(a, dtype=np.float32)
    if a.size and not np.isfinite(a).all():
        raise ValueError(f"{where}: NaN or infinite values")
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


class _Cache:
    """Decoded arrays by key, least recently used first out, at most ``limit`` bytes (0: off)."""

    def __init__(self, megabytes: float):
        self.limit, self.used, self.items = int(megabytes * 2**20), 0, OrderedDict()

    def get(self, key: Any) -> np.ndarray | None:
        a = self.items.get(key)
        if a is not None:
            self.items.move_to_end(key)
        return a

    def put(self, key: Any, a: np.ndarray) -> None:
        if a.nbytes > self.limit:
            return
        self.items[key] = a
        self.used += a.nbytes
        while self.used > self.limit:
            _, old = self.items.popitem(last=False)
            self.used -= old.nbytes
