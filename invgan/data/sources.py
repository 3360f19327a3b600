r"""Image sources: where a run's images come from, read lazily.

A source is a numbered list of images whose sizes are known without decoding them, so that a
training stream can draw images in proportion to their area and crop them in DataLoader
workers. Memory is bounded by the batch, the workers' prefetch and an optional small cache of
decoded images (``cache_mb`` per process), never by the size of the data set.

* :class:`TensorSource`: images already in memory (the built-in photos).
* :class:`FileSource`: image files (PNG, JPEG, TIFF of any depth, BMP, WebP) from a folder read
  recursively, or from a text file listing paths (one per line, relative to the list's folder;
  blank lines and ``#`` comments skipped). Headers are read at start (sizes, bands, depth);
  pixels only when an image is drawn.
* :class:`ArraySource`: NumPy arrays, ``.npy`` (memory-mapped: any size) or ``.npz`` (each array
  decompressed when first used, one at a time), of one image or a stack of images.

Pixel values are scaled by their type's range (8-bit by 1/255, 16-bit by 1/65535, floats taken as
they are in [0, 1]); a stated ``value_range`` :math:`[a, b]` maps :math:`v \mapsto (v - a) / (b - a)`,
clipped to [0, 1], instead (e.g. 12-bit microscopy in 16-bit files, or float arrays).

:func:`open_source` picks the source from a string (``"builtin"``, a folder, a list or arrays).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from .images import IMAGE_SUFFIXES, TIFF_SUFFIXES, _read_array, _say_once, load_builtin, to_tensor

#: suffixes of a text file listing image paths
LIST_SUFFIXES = (".txt", ".lst", ".list")
#: suffixes of NumPy array sources
ARRAY_SUFFIXES = (".npy", ".npz")
#: what ``data.source`` may name
SOURCE_KINDS = "'builtin', a folder of images, a text file listing image paths (.txt) or NumPy arrays (.npy/.npz)"


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


# ---------------------------------------------------------------------- image files
def _png_bit_depth(p: Path) -> int | None:
    """Bits per sample from a PNG's IHDR chunk (``None`` if ``p`` is not a PNG)."""
    with open(p, "rb") as f:
        head = f.read(26)
    return head[24] if len(head) >= 26 and head[:8] == b"\x89PNG\r\n\x1a\n" else None


def image_header(p: Path) -> tuple[int, int, int, int]:
    """``(H, W, bands, bits)`` of an image file from its header, without decoding its pixels;
    ``ValueError`` for a file no reader can open."""
    if p.suffix.lower() in TIFF_SUFFIXES:
        try:
            import tifffile

            with tifffile.TiffFile(p) as t:
                page = t.pages[0]
                bands = int(page.samplesperpixel)
                return int(page.imagelength), int(page.imagewidth), bands, int(page.bitspersample)
        except Exception:  # noqa: BLE001 - a TIFF tifffile cannot parse: Pillow may
            pass
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            w, h = im.size
            bands, mode = len(im.getbands()), im.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"not a readable image: {p} ({e})") from e
    bits = 16 if mode.startswith("I;16") else 32 if mode in ("I", "F") else 1 if mode == "1" else 8
    if bits == 8 and p.suffix.lower() == ".png":
        bits = _png_bit_depth(p) or 8
    if mode == "P":
        bands = 3
    return h, w, bands, bits


def list_images(root: Path) -> list[Path]:
    """Image files under ``root`` (recursive, sorted), or an error naming it."""
    if not root.exists():
        raise FileNotFoundError(f"image folder not found: {root}")
    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {root}")
    return files


def read_list(path: Path) -> list[Path]:
    """The image paths a text file lists (one per line, relative to its folder; blank lines and
    ``#`` comments skipped)."""
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a text file listing image paths ({e.reason})") from e
    files = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            f = Path(line).expanduser()
            files.append(f if f.is_absolute() else path.parent / f)
    if not files:
        raise ValueError(f"{path} lists no image paths (one path per line)")
    return files


class FileSource(ImageSource):
    r"""Image files read when drawn (:func:`~invgan.data.images.open_image`'s reader); their
    headers are read at construction. Files that cannot be opened, or smaller than ``min_size``,
    are skipped with one warning that lists them; none left is an error naming ``where``. A mix
    of gray and colour files is converted to ``channels`` with one warning, as is a depth above
    8 bits (scaled by its type's range)."""

    def __init__(self, files: Sequence[Path], channels: int = 1, *, min_size: int = 1, where: str = "",
                 value_range: tuple[float, float] | None = None, cache_mb: float = 0.0):
        if channels not in (1, 3):
            raise ValueError(f"invalid channels={channels!r}: expected 1 (grayscale) or 3 (RGB)")
        where = where or (str(Path(files[0]).parent) if files else "")
        self.channels, self.value_range, self.cache_mb = channels, value_range, cache_mb
        self._cache: _Cache | None = None
        kept, sizes, bad, small, bands, deep = [], [], [], [], {}, {}
        for f in files:
            f = Path(f)
            try:
                if not f.is_file():
                    raise ValueError(f"not found: {f}" if not f.exists() else f"not a file: {f}")
                h, w, b, bits = image_header(f)
            except ValueError as e:
                bad.append(str(e))
                continue
            if min(h, w) < min_size:
                small.append((f, (h, w)))
                continue
            kept.append(f)
            sizes.append((h, w))
            bands[f] = b
            if bits > 8:
                deep[bits] = deep.get(bits, 0) + 1
        if bad:
            shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
            warnings.warn(f"skipping {len(bad)} of {len(files)} files under {where} that are not readable images: {shown}", UserWarning, stacklevel=2)
        if small:
            shown = ", ".join(f"{f.name} {h}x{w}" for f, (h, w) in small[:5]) + (f", and {len(small) - 5} more" if len(small) > 5 else "")
            warnings.warn(f"skipping {len(small)} of {len(files)} images under {where} smaller than {min_size} pixels: {shown}", UserWarning, stacklevel=2)
        if not kept:
            if small:
                largest = max((s for _, s in small), key=min)
                raise ValueError(f"no usable images under {where}: {len(small)} of {len(files)} are smaller than {min_size} pixels "
                                 f"(largest {largest[0]}x{largest[1]}){', the others unreadable' if bad else ''}; use a smaller crop or resolution")
            raise ValueError(f"no usable images under {where} (all {len(files)} files are unreadable)")
        colour = sum(1 for f in kept if bands[f] >= 3)
        gray = len(kept) - colour
        if channels == 3 and gray and colour:
            _say_once(f"mixed-channels:{where}", f"{gray} of {len(kept)} images under {where} are grayscale and are read as RGB "
                                                 "(the gray value in each channel)")
        for bits, n in sorted(deep.items()):
            if value_range is None:
                _say_once(f"{bits}-bit", f"{n} of {len(kept)} images under {where} have {bits}-bit samples: read at full depth and scaled to "
                                         "[0, 1] by their type's range (data.value_range sets another, e.g. [0, 4095] for 12 bits)")
        self.files, self.sizes, self.where = kept, sizes, where

    def __len__(self) -> int:
        return len(self.files)

    def size(self, i: int) -> tuple[int, int]:
        return self.sizes[i]

    def name(self, i: int) -> str:
        return str(self.files[i])

    def _array(self, i: int) -> np.ndarray:
        if self._cache is None:
            self._cache = _Cache(self.cache_mb)  # one per process (workers fill their own)
        a = self._cache.get(i)
        if a is None:
            p = self.files[i]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # what the header scan said already
                    a = _read_array(p)
            except Exception as e:  # noqa: BLE001 - a file that changed or is damaged past its header
                raise ValueError(f"cannot decode {p} ({type(e).__name__}: {e}): fix or remove the file") from e
            if a.ndim == 3 and a.shape[-1] == 1:
                a = a[..., 0]
            if tuple(a.shape[:2]) != self.sizes[i]:
                raise ValueError(f"{p}: decoded as {a.shape[0]}x{a.shape[1]}, but its header said {self.sizes[i][0]}x{self.sizes[i][1]}")
            self._cache.put(i, a)
        return a

    def read(self, i: int) -> Tensor:
        return self._tensor(self._array(i), i)

    def crop(self, i: int, top: int, left: int, size: int) -> Tensor:
        # convert only the window: every conversion (range, colour) is per pixel
        return self._tensor(self._array(i)[top : top + size, left : left + size], i)

    def crops(self, i: int, windows: Sequence[tuple[int, int]], size: int) -> list[Tensor]:
        a = self._array(i)
        return [self._tensor(a[top : top + size, left : left + size], i) for top, left in windows]

    def _tensor(self, a: np.ndarray, i: int) -> Tensor:
        if self.channels == 1 and a.ndim == 3 and a.shape[-1] >= 3 and not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])):
            _say_once("colour-dropped", f"images under {self.where} are in colour but are read as grayscale (channels=1, the default "
                                        "data.channels): the colour is dropped; to keep it, train with --set data.channels=3")
        where = str(self.files[i])
        return to_tensor(scale_values(a, self.value_range, where), self.channels, where=where)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": None}  # a worker starts with an empty cache


# ---------------------------------------------------------------------- NumPy arrays
def _layout(shape: tuple[int, ...], where: str) -> tuple[int, str]:
    """``(number of images, layout)`` of an array: ``HW``, ``HWC``, ``NHW``, ``NHWC`` or ``NCHW``."""
    last = shape[-1] if shape else 0
    if len(shape) == 2:
        return 1, "HW"
    if len(shape) == 3:
        return (1, "HWC") if last in (1, 3, 4) else (shape[0], "NHW")
    if len(shape) == 4:
        if last in (1, 3, 4):
            return shape[0], "NHWC"
        if shape[1] in (1, 3, 4):
            return shape[0], "NCHW"
    raise ValueError(f"{where}: an array of shape {shape}: expected one image (H, W) or (H, W, C), or a stack (N, H, W), "
                     "(N, H, W, C) or (N, C, H, W) with C in 1, 3, 4")


class ArraySource(ImageSource):
    r"""Images from NumPy arrays: a ``.npy`` file (memory-mapped, so a stack larger than memory
    is read one image at a time) or a ``.npz`` file (its arrays in order; each is decompressed
    when first used, one held at a time). Each array is one image ``(H, W)`` / ``(H, W, C)`` or a
    stack ``(N, H, W)``, ``(N, H, W, C)``, ``(N, C, H, W)``. Values: integers by their type's
    range, floats in [0, 1], or mapped by ``value_range``."""

    def __init__(self, path: Path, channels: int = 1, *, min_size: int = 1, value_range: tuple[float, float] | None = None):
        if channels not in (1, 3):
            raise ValueError(f"invalid channels={channels!r}: expected 1 (grayscale) or 3 (RGB)")
        self.path, self.channels, self.value_range = Path(path), channels, value_range
        self._open: tuple[str, np.ndarray] | None = None
        index: list[tuple[str, int]] = []
        self.layouts: dict[str, str] = {}
        try:
            if self.path.suffix.lower() == ".npy":
                arrays = {"": np.load(self.path, mmap_mode="r")}
                shapes = {"": arrays[""].shape}
            else:
                with np.load(self.path) as z:
                    shapes = {k: _npz_shape(z, k) for k in z.files}
        except (OSError, ValueError, EOFError) as e:
            raise ValueError(f"{self.path}: not a readable NumPy {self.path.suffix} file ({e})") from e
        if not shapes:
            raise ValueError(f"{self.path}: no arrays in the file")
        sizes = []
        for key, shape in shapes.items():
            where = f"{self.path}" + (f"[{key}]" if key else "")
            n, layout = _layout(tuple(shape), where)
            self.layouts[key] = layout
            hw = {"HW": shape[:2], "HWC": shape[:2], "NHW": shape[1:3], "NHWC": shape[1:3], "NCHW": shape[2:4]}[layout]
            index += [(key, j) for j in range(n)]
            sizes += [tuple(int(s) for s in hw)] * n
        keep = [k for k, s in enumerate(sizes) if min(s) >= min_size]
        if not keep:
            raise ValueError(f"{self.path}: its {len(sizes)} images are smaller than {min_size} pixels ({sizes[0][0]}x{sizes[0][1]})")
        if len(keep) < len(sizes):
            warnings.warn(f"skipping {len(sizes) - len(keep)} of {len(sizes)} images of {self.path} smaller than {min_size} pixels", UserWarning, stacklevel=2)
        self.index, self.sizes = [index[k] for k in keep], [sizes[k] for k in keep]

    def __len__(self) -> int:
        return len(self.index)

    def size(self, i: int) -> tuple[int, int]:
        return self.sizes[i]

    def name(self, i: int) -> str:
        key, j = self.index[i]
        return f"{self.path}" + (f"[{key}]" if key else "") + f"[{j}]"

    def _array(self, key: str) -> np.ndarray:
        if self._open is None or self._open[0] != key:
            if self.path.suffix.lower() == ".npy":
                a = np.load(self.path, mmap_mode="r")
            else:
                with np.load(self.path) as z:
                    a = z[key]
            self._open = (key, a)
        return self._open[1]

    def _image(self, i: int) -> np.ndarray:
        key, j = self.index[i]
        a, layout = self._array(key), self.layouts[key]
        if layout in ("NHW", "NHWC"):
            a = a[j]
        elif layout == "NCHW":
            a = np.moveaxis(a[j], 0, -1)
        return a

    def read(self, i: int) -> Tensor:
        return self._tensor(self._image(i), i)

    def crop(self, i: int, top: int, left: int, size: int) -> Tensor:
        return self._tensor(self._image(i)[top : top + size, left : left + size], i)

    def _tensor(self, a: np.ndarray, i: int) -> Tensor:
        a = np.asarray(a)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        where = self.name(i)
        if self.value_range is None and a.dtype.kind == "f":
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            if lo < -1e-6 or hi > 1 + 1e-6:
                raise ValueError(f"{where}: float values in [{lo:.4g}, {hi:.4g}]: state their range with data.value_range "
                                 "(e.g. --set 'data.value_range=[0, 4095]')")
        return to_tensor(scale_values(a, self.value_range, where), self.channels, where=where)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_open": None}  # workers map or decompress the file themselves


def _npz_shape(z: Any, key: str) -> tuple[int, ...]:
    """Shape of array ``key`` of an open ``.npz`` from its header (nothing decompressed)."""
    from numpy.lib import format as npformat

    with z.zip.open(key + ".npy") as f:
        version = npformat.read_magic(f)
        read = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        shape, _, _ = read(f)
    return tuple(shape)


# ---------------------------------------------------------------------- whole images at one size
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


# ---------------------------------------------------------------------- choosing a source
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
