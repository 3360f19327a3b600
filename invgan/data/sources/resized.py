r"""Whole images at one size for generator runs: resized, centre-cropped, split into training and
held-out images."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .base import ImageSource, _Cache
from .select import has_split, open_source

#: sides a generator run may train at (``data.resolution``)
RESOLUTIONS = (16, 28, 32, 64, 128, 256)


class ResizedSource(ImageSource):
    r"""The images of ``base`` at ``resolution`` x ``resolution``: the shorter side resized to
    ``resolution`` (anti-aliased bilinear, torchvision's ``resize``), then the centre crop. Resized
    images are kept in a cache of ``cache_mb`` per process (they are small; the originals are not)."""

    def __init__(self, base: ImageSource, resolution: int, cache_mb: float = 256.0):
        self.base, self.resolution, self.channels, self.cache_mb = base, resolution, base.channels, cache_mb
        self._cache: _Cache | None = None

    def __len__(self) -> int:
        return len(self.base)

    def size(self, i: int) -> tuple[int, int]:
        return self.resolution, self.resolution

    def name(self, i: int) -> str:
        return self.base.name(i)

    def read(self, i: int) -> Tensor:
        if self._cache is None:
            self._cache = _Cache(self.cache_mb)
        a = self._cache.get(i)
        if a is None:
            a = resize_center(self.base.read(i), self.resolution).numpy()
            self._cache.put(i, a)
        return torch.from_numpy(a)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": None}


def resize_center(x: Tensor, resolution: int) -> Tensor:
    """``(C, H, W)`` in [0, 1] with its shorter side resized to ``resolution`` (anti-aliased), then
    the centre ``resolution`` x ``resolution`` window; an image of that size is returned as it is.

    >>> import torch
    >>> tuple(resize_center(torch.rand(3, 40, 80), 16).shape)
    (3, 16, 16)
    """
    from torchvision.transforms.functional import center_crop, resize

    if tuple(x.shape[-2:]) != (resolution, resolution):
        if min(x.shape[-2:]) != resolution:
            x = resize(x, resolution, antialias=True).clamp_(0, 1)
        x = center_crop(x, [resolution, resolution])
    return x.contiguous()


def split_indices(n: int, heldout_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded split of ``n`` images into ``(train, held-out)`` index lists, by one permutation
    (at least one image on each side)."""
    if n < 2:
        raise ValueError(f"a held-out split needs at least 2 images, got {n}: add images, or name held-out ones with data.eval_source")
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_held = min(max(1, int(round(heldout_fraction * n))), n - 1)
    return sorted(order[n_held:]), sorted(order[:n_held])


def generator_sets(source: str, eval_source: str | None, resolution: int, channels: int = 1, *, heldout_fraction: float = 0.1,
                   seed: int = 0, value_range: Sequence[float] | None = None, cache_mb: float = 256.0) -> tuple[ResizedSource, ResizedSource]:
    """The training and held-out images of a generator run on your own images, at ``resolution``
    (:class:`ResizedSource`): held-out images from ``eval_source``, else the folder's ``test/``
    sub-folder, else a seeded ``heldout_fraction`` of the images (:func:`split_indices`). Images
    smaller than ``resolution`` are skipped with one warning (they would be upscaled)."""
    kw = dict(min_size=resolution, value_range=value_range, cache_mb=0.0)
    train = open_source(source, "train", channels, **kw)
    if eval_source is not None:
        held = open_source(eval_source, "test", channels, **kw)
    elif has_split(source, "test"):
        held = open_source(source, "test", channels, **kw)
    else:
        keep, out = split_indices(len(train), heldout_fraction, seed)
        train, held = train.subset(keep), train.subset(out)
    return ResizedSource(train, resolution, cache_mb), ResizedSource(held, resolution, cache_mb)


def read_all(source: ImageSource, limit: int | None = None) -> Tensor:
    """The first ``limit`` images of a source of one size as one ``(N, C, H, W)`` tensor."""
    n = len(source) if limit is None else min(limit, len(source))
    return torch.stack([source.read(i) for i in range(n)])
