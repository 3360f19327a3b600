r"""Random crops as a deterministic, step-indexed stream.

Batch :math:`t` depends only on ``(seed, t)``, so a run resumed at step :math:`t`
sees exactly the batches an uninterrupted run would, whatever the number of
loader workers.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..seeding import rank_seed
from .sources import ImageSource, TensorSource, as_source

#: batches each loader worker prepares ahead
PREFETCH = 2


def _augment(crop: Tensor, g: torch.Generator) -> Tensor:
    """Random horizontal flip and rotation by a multiple of 90 degrees (the dihedral group)."""
    if torch.randint(2, (1,), generator=g).item():
        crop = crop.flip(-1)
    k = int(torch.randint(4, (1,), generator=g).item())
    return torch.rot90(crop, k, dims=(-2, -1)) if k else crop


def _check_images(images: ImageSource | Sequence[Tensor], size: int) -> ImageSource:
    if not isinstance(images, ImageSource) and not len(images):
        raise ValueError("no images given")
    source = as_source(images)
    if size < 1:
        raise ValueError(f"invalid crop size={size!r}: expected a positive integer")
    small = [source.size(i) for i in range(len(source)) if min(source.size(i)) < size]
    if small:
        raise ValueError(f"crop size {size} is larger than image(s) of size {small[:5]}")
    return source


#: sources with fewer pixels in all are read in the training process (a worker's start costs more)
SMALL_SOURCE_PIXELS = 2**22


def auto_workers(source: ImageSource) -> int:
    """Loader workers for ``source``: none for images in memory (cropping them is cheaper than
    a worker's hand-over) or a small source (under 4 megapixels in all); else one per CPU this
    process may use beyond the first, at most 4 (at least 1), so decoding runs beside the
    training step."""
    if isinstance(source, TensorSource) or float(source.areas().sum()) < SMALL_SOURCE_PIXELS:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus - 1))


def _loader(stream: Any, start: int, stop: int | None, num_workers: int | None, pin_memory: bool) -> DataLoader:
    """A loader over batches ``start, ..., stop - 1`` of ``stream`` (``stream[t]`` is batch ``t``)
    with ``num_workers`` worker processes (default: ``stream.workers``), each ``PREFETCH``
    batches ahead. Batch ``t`` depends only on ``(seed, t)``, so the number of workers never
    changes what a run sees."""
    stop = stream.length if stop is None else stop
    workers = stream.workers if num_workers is None else num_workers
    # The loader's own generator: creating it must not draw from the global random stream,
    # or a resumed run would see other latents/noise than an uninterrupted one.
    return DataLoader(
        stream, batch_size=None, sampler=range(start, stop), num_workers=workers, pin_memory=pin_memory,
        persistent_workers=False, generator=torch.Generator().manual_seed(stream.seed),
        **({"prefetch_factor": PREFETCH} if workers else {}),
    )


class WorkerError(RuntimeError):
    """A loader worker failed: the message of its error (the file it could not read), one line."""


def loader_batches(loader: DataLoader) -> Iterator[Any]:
    """The batches of ``loader``; an error in a worker is raised as :class:`WorkerError` with the
    worker's own message (not the traceback text PyTorch wraps it in)."""
    it = iter(loader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except Exception as e:  # noqa: BLE001 - re-raised with its one-line cause
            text = str(e)
            if "DataLoader worker" not in text:
                raise
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            raise WorkerError(f"a data loader worker failed: {lines[-1].strip() if lines else text}") from e
        yield batch


class CropStream(Dataset):
    r"""Item ``t`` is batch ``t``: ``batch_size`` random ``size``×``size`` crops.

    Images are drawn with probability proportional to their area, then a uniform
    crop position and (with ``augment``) a random flip and 90° rotation.

    :Example:

    >>> import torch
    >>> from invgan.data import CropStream
    >>> stream = CropStream([torch.rand(1, 32, 32)], 16, 4, seed=0)
    >>> batch = stream[3]
    >>> tuple(batch.shape)
    (4, 1, 16, 16)
    >>> torch.equal(batch, stream[3])
    True
    """

    def __init__(self, images: ImageSource | Sequence[Tensor], size: int, batch_size: int, augment: bool = True, seed: int = 0,
                 length: int = 2**62, workers: int | None = None):
        self.images = _check_images(images, size)
        if batch_size < 1:
            raise ValueError(f"invalid batch_size={batch_size!r}: expected a positive integer")
        if workers is not None and workers < 0:
            raise ValueError(f"invalid workers={workers!r}: expected a number >= 0 of loader processes")
        self.size, self.batch_size, self.augment, self.seed, self.length = size, batch_size, augment, seed, length
        self.workers = auto_workers(self.images) if workers is None else workers
        self.weights = self.images.areas()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, step: int) -> Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + int(step)) % (2**63))
        idx = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g)
        out = []
        for i in idx.tolist():
            h, w = self.images.size(i)
            top = int(torch.randint(h - self.size + 1, (1,), generator=g))
            left = int(torch.randint(w - self.size + 1, (1,), generator=g))
            crop = self.images.crop(i, top, left, self.size)
            out.append(_augment(crop, g) if self.augment else crop)
        return torch.stack(out).contiguous()

    def shard(self, rank: int, world_size: int) -> "CropStream":
        """Process ``rank``'s part of a data-parallel run: ``batch_size / world_size`` crops per step
        (``batch_size`` is the global batch) from a rank-offset seed (rank 0 keeps ``seed``)."""
        if self.batch_size % world_size:
            raise ValueError(f"the global batch_size={self.batch_size} is not divisible by the {world_size} processes")
        return CropStream(self.images, self.size, self.batch_size // world_size, augment=self.augment,
                          seed=rank_seed(self.seed, rank), length=self.length, workers=self.workers)

    def loader(self, start: int = 0, stop: int | None = None, num_workers: int | None = None, pin_memory: bool = False) -> DataLoader:
        """A loader over batches ``start, start+1, ..., stop-1`` (``num_workers`` default: ``self.workers``)."""
        return _loader(self, start, stop, num_workers, pin_memory)


def fixed_crops(images: ImageSource | Sequence[Tensor], size: int, n: int, seed: int = 1234) -> Tensor:
    """``n`` crops drawn once from ``seed`` (no augmentation): a fixed evaluation set.

    Crops are spread evenly over the images so that every held-out image counts; only the
    images they come from are read.

    :Example:

    >>> import torch
    >>> from invgan.data import fixed_crops
    >>> images = [torch.rand(1, 20, 20), torch.rand(1, 24, 30)]
    >>> crops = fixed_crops(images, 8, 5, seed=0)
    >>> tuple(crops.shape)
    (5, 1, 8, 8)
    >>> torch.equal(crops, fixed_crops(images, 8, 5, seed=0))
    True
    """
    images = _check_images(images, size)
    g = torch.Generator().manual_seed(seed)
    where = []
    for j in range(n):
        i = j % len(images)
        h, w = images.size(i)
        top = int(torch.randint(h - size + 1, (1,), generator=g))
        left = int(torch.randint(w - size + 1, (1,), generator=g))
        where.append((i, top, left))
    out: list[Tensor | None] = [None] * n
    for i in sorted({i for i, _, _ in where}):  # each image read once, however many crops it gives
        mine = [j for j, (k, _, _) in enumerate(where) if k == i]
        for j, crop in zip(mine, images.crops(i, [where[j][1:] for j in mine], size)):
            out[j] = crop
    return torch.stack(out).contiguous()


class SampleStream(Dataset):
    r"""Item ``t`` is batch ``t`` of whole images drawn uniformly with replacement from ``(seed, t)``:
    a tensor ``(B, C, H, W)``, or ``{"x": images, "label": labels}`` when ``labels`` are given
    (class-conditional GANs). Resumes exactly, like :class:`CropStream`."""

    def __init__(self, images: Tensor, batch_size: int, labels: Tensor | None = None, seed: int = 0, length: int = 2**62):
        if images.dim() != 4 or images.shape[0] == 0:
            raise ValueError(f"expected a non-empty image batch (N, C, H, W), got shape {tuple(images.shape)}")
        if labels is not None and (labels.shape[0] != images.shape[0] or bool((labels < 0).any())):
            raise ValueError("expected one non-negative label per image (this set has no labels?)")
        if batch_size < 1:
            raise ValueError(f"invalid batch_size={batch_size!r}: expected a positive integer")
        self.images, self.labels, self.batch_size, self.seed, self.length = images, labels, batch_size, seed, length
        self.workers = 0  # images in memory

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, step: int) -> Tensor | dict[str, Tensor]:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + int(step)) % (2**63))
        idx = torch.randint(self.images.shape[0], (self.batch_size,), generator=g)
        x = self.images[idx].contiguous()
        return x if self.labels is None else {"x": x, "label": self.labels[idx].long()}

    def shard(self, rank: int, world_size: int) -> "SampleStream":
        """Process ``rank``'s part of a data-parallel run, as :meth:`CropStream.shard`."""
        if self.batch_size % world_size:
            raise ValueError(f"the global batch_size={self.batch_size} is not divisible by the {world_size} processes")
        return SampleStream(self.images, self.batch_size // world_size, labels=self.labels, seed=rank_seed(self.seed, rank), length=self.length)

    def loader(self, start: int = 0, stop: int | None = None, num_workers: int | None = None, pin_memory: bool = False) -> DataLoader:
        """A loader over batches ``start, ..., stop-1``, as :meth:`CropStream.loader`."""
        return _loader(self, start, stop, num_workers, pin_memory)


def split_by_image(images: ImageSource | Sequence[Tensor]) -> tuple[ImageSource, ImageSource]:
    """Two disjoint halves of a list of images, alternating (images 0, 2, 4, ... and 1, 3, 5, ...),
    for unpaired training: no image gives crops to both.

    :Example:

    >>> import torch
    >>> from invgan.data import split_by_image
    >>> train, test = split_by_image([torch.zeros(1, 4, 4) + i for i in range(5)])
    >>> len(train), len(test)
    (3, 2)
    """
    if len(images) < 2:
        raise ValueError(f"unpaired training needs at least 2 training images (one set of clean images, another of "
                         f"measured ones), got {len(images)}")
    source = as_source(images)
    return source.subset(range(0, len(source), 2)), source.subset(range(1, len(source), 2))


class UnpairedCropStream(Dataset):
    r"""Item ``t`` is ``{"x": crops of images, "x_other": crops of other_images}``, two
    :class:`CropStream` s (seeds ``seed`` and ``seed + 1``) over disjoint sets of images: the second
    are measured by :class:`~invgan.training.unpaired.UnpairedInput`, so the clean and the measured
    crops of a step never come from the same pictures. Like :class:`CropStream`, batch ``t``
    depends only on ``(seed, t)``, so a resumed run sees the batches of an uninterrupted one."""

    def __init__(self, images: ImageSource | Sequence[Tensor], other_images: ImageSource | Sequence[Tensor], size: int, batch_size: int,
                 augment: bool = True, seed: int = 0, length: int = 2**62, workers: int | None = None):
        self.clean = CropStream(images, size, batch_size, augment=augment, seed=seed, length=length, workers=workers)
        self.other = CropStream(other_images, size, batch_size, augment=augment, seed=seed + 1, length=length, workers=workers)
        self.seed, self.length, self.workers = seed, length, self.clean.workers

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, step: int) -> dict[str, Tensor]:
        return {"x": self.clean[step], "x_other": self.other[step]}

    def shard(self, rank: int, world_size: int) -> "UnpairedCropStream":
        """Process ``rank``'s part of a data-parallel run, as :meth:`CropStream.shard`."""
        clean, other = self.clean.shard(rank, world_size), self.other.shard(rank, world_size)
        out = UnpairedCropStream(clean.images, other.images, clean.size, clean.batch_size, augment=clean.augment, seed=clean.seed,
                                 length=self.length, workers=self.workers)
        out.other = other
        return out

    def loader(self, start: int = 0, stop: int | None = None, num_workers: int | None = None, pin_memory: bool = False) -> DataLoader:
        """A loader over batches ``start, ..., stop-1``, as :meth:`CropStream.loader`."""
        return _loader(self, start, stop, num_workers, pin_memory)
