r"""NumPy arrays as image sources: ``.npy`` memory-mapped, ``.npz`` one array at a time."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from ..images import to_tensor
from .base import ImageSource, scale_values

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
