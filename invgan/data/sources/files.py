r"""Image files, from a folder or a list: headers read at start, pixels when drawn."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from torch import Tensor

from ..images import IMAGE_SUFFIXES, TIFF_SUFFIXES, _read_array, _say_once, to_tensor
from .base import ImageSource, _Cache, scale_values

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
