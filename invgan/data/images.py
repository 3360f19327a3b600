"""Images from disk or from what installed packages ship (nothing is ever downloaded), and
an image writer.

Built-in photos come from ``skimage.data`` and ``sklearn.datasets.load_sample_images``
and are split *by image*: no held-out image ever yields a training patch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: suffixes that :func:`read_image` reads with ``tifffile`` (any bit depth, gray or colour) before Pillow
TIFF_SUFFIXES = (".tif", ".tiff")
#: bits per sample that :func:`write_image` writes
WRITE_BITS = (8, 16)

#: notices already given in this process (each is said once, see :func:`_say_once`)
_SAID: set[str] = set()

# Split by image, never by patch.
BUILTIN_TRAIN = (
    "chelsea", "rocket", "coins", "moon", "brick", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "clock", "china", "flower",
)
#: classic test photos (textures such as brick, grass and gravel are training material)
BUILTIN_TEST = ("camera", "astronaut", "coffee")
BUILTIN_SPLITS = {"train": BUILTIN_TRAIN, "test": BUILTIN_TEST, "all": BUILTIN_TRAIN + BUILTIN_TEST}
#: side of the cameraman test image of the deep image prior experiments
CAMERAMAN_SIZE = 256


def to_tensor(img: np.ndarray, channels: int, where: str = "image") -> Tensor:
    """An ``(H, W[, C])`` array of any dtype to a float ``(channels, H, W)`` tensor in [0, 1],
    scaled by its type's range (:func:`unit_range`); alpha is composited on white.

    :Example:

    >>> import numpy as np
    >>> from invgan.data.images import to_tensor
    >>> t = to_tensor(np.full((2, 3), 255, dtype=np.uint8), channels=1)
    >>> tuple(t.shape), float(t.max())
    ((1, 2, 3), 1.0)
    """
    if channels not in (1, 3):
        raise ValueError(f"invalid channels={channels!r}: expected 1 (grayscale) or 3 (RGB)")
    from skimage.color import gray2rgb, rgb2gray, rgba2rgb

    a = unit_range(img, where)
    if a.ndim == 3 and a.shape[-1] == 2:  # gray and alpha
        a = np.concatenate([a[..., :1].repeat(3, -1), a[..., 1:]], -1)
    if a.ndim == 3 and a.shape[-1] == 4:
        a = rgba2rgb(a)
    if a.ndim == 3 and a.shape[-1] == 3:
        a = rgb2gray(a) if channels == 1 else a
    elif a.ndim == 2:
        a = gray2rgb(a) if channels == 3 else a
    else:
        raise ValueError(f"unsupported image shape {a.shape}: expected (H, W), (H, W, 3) or (H, W, 4)")
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    t = t[None] if t.dim() == 2 else t.permute(2, 0, 1)
    return t.clamp_(0, 1).contiguous()


def _builtin_array(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    fn = getattr(skimage.data, name, None)
    if fn is None:
        raise ValueError(f"unknown built-in image {name!r}: expected one of {BUILTIN_SPLITS['all']}")
    return fn()


def load_builtin(split: str = "train", channels: int = 1, names: Sequence[str] | None = None) -> list[Tensor]:
    """The built-in photos of ``split`` ("train", "test" or "all") as ``(C, H, W)`` tensors."""
    if names is None:
        if split not in BUILTIN_SPLITS:
            raise ValueError(f"invalid split={split!r}: expected one of {tuple(BUILTIN_SPLITS)}")
        names = BUILTIN_SPLITS[split]
    return [to_tensor(_builtin_array(n), channels) for n in names]


def load_cameraman(size: int = CAMERAMAN_SIZE) -> Tensor:
    """``skimage.data.camera`` resized (anti-aliased) to ``size x size``, shape ``(1, size, size)`` in [0, 1]."""
    from skimage.transform import resize

    img = load_builtin(names=["camera"], channels=1)[0][0].numpy()
    small = resize(img, (size, size), anti_aliasing=True, preserve_range=True)
    return torch.from_numpy(np.clip(small, 0, 1).astype(np.float32))[None]


def _say_once(key: str, message: str) -> None:
    """Warn ``message`` the first time ``key`` comes up in this process, never again."""
    if key not in _SAID:
        _SAID.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


@dataclass(frozen=True)
class ImageFile:
    """One image file as read: its pixels as a ``(C, H, W)`` tensor in [0, 1], the bits per sample
    of the file (1, 8, 16, 32; floats count as 32) and whether it held colour (RGB channels that
    differ)."""

    pixels: Tensor
    bits: int
    colour: bool


def unit_range(a: np.ndarray, where: str = "image") -> np.ndarray:
    """Pixels of any type as float32 in [0, 1], scaled by their type's range: ``uint8`` by 1/255,
    ``uint16`` by 1/65535 (any byte order), other integers by their type's maximum, booleans as
    0/1; floats are taken as they are and must lie in [0, 1]. Negative integers, non-finite or
    out-of-range floats are an error naming ``where``.

    >>> import numpy as np
    >>> unit_range(np.array([0, 65535], dtype=np.uint16)).tolist()
    [0.0, 1.0]
    >>> unit_range(np.array([0, 255], dtype=np.uint8)).tolist()
    [0.0, 1.0]
    """
    a = np.asarray(a)
    if a.dtype == bool:
        return a.astype(np.float32)
    if a.dtype.kind == "u":  # scikit-image's scaling, bit for bit as before 16-bit reading
        from skimage.util import img_as_float32

        return img_as_float32(a)
    if a.dtype.kind == "i":
        if a.size and int(a.min()) < 0:
            raise ValueError(f"{where}: signed {a.dtype.name} pixels with negative values (min {int(a.min())}): expected an "
                             "unsigned image (8 or 16 bits) or floats in [0, 1]")
        return (a.astype(np.float64) / np.iinfo(a.dtype).max).astype(np.float32)
    if a.dtype.kind == "f":
        if a.size and not np.isfinite(a).all():
            raise ValueError(f"{where}: float image with NaN or infinite pixels")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(f"{where}: float image with values in [{lo:.4g}, {hi:.4g}]: expected [0, 1] (rescale it, or save it "
                             "as an 8- or 16-bit integer image)")
        return np.clip(a, 0, 1).astype(np.float32)
    raise ValueError(f"{where}: unsupported pixel type {a.dtype}: expected integers, booleans or floats in [0, 1]")


def _bits(a: np.ndarray) -> int:
    """Bits per sample of an array as read (bool 1, floats 32 at least)."""
    return 1 if a.dtype == bool else max(8 * a.dtype.itemsize, 32 if a.dtype.kind == "f" else 8)


def read_pixels(im: Any, where: str = "image") -> np.ndarray:
    """A Pillow image at the depth of its mode, as float32 ``(H, W)`` or ``(H, W, 3|4)`` in [0, 1]
    (see :func:`unit_range`): ``1``, ``L``, ``I;16``/``I;16B``/``I;16L`` (by 1/65535), ``I`` (by
    1/65535 when its values fit 16 bits, as older Pillow opens 16-bit PNGs; else by 1/(2^31-1)),
    ``F`` (floats in [0, 1]); palette, alpha and other colour modes through RGB(A)."""
    return unit_range(_pil_array(im), where)


def _pil_array(im: Any) -> np.ndarray:
    """The samples of a Pillow image in their own type (uint16 for the 16-bit modes)."""
    mode = im.mode
    if mode in ("1", "L", "RGB", "RGBA", "F"):
        return np.asarray(im)
    if mode.startswith("I;16") and not mode.endswith("S"):  # any byte order, unsigned
        return np.asarray(im).astype(np.uint16)
    if mode == "I":
        a = np.asarray(im)
        return a.astype(np.uint16) if a.size and 0 <= int(a.min()) and int(a.max()) <= 65535 else a
    return np.asarray(im.convert("RGBA" if mode in ("P", "PA", "LA", "La", "RGBa") else "RGB"))


def _png16_colour(p: Path) -> np.ndarray | None:
    """A 16-bit colour PNG's samples as ``(H, W, 3|4)`` uint16 (through ``pypng``, since Pillow
    decodes colour PNGs at 8 bits); ``None`` for any other file."""
    import png

    with open(p, "rb") as f:
        try:
            width, height, rows, info = png.Reader(file=f).asDirect()
        except png.Error:  # not a PNG (or one Pillow may still read)
            return None
        if info["bitdepth"] != 16 or info["greyscale"]:
            return None
        return np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, info["planes"])


def _read_array(p: Path) -> np.ndarray:
    """The samples of an image file in their own type: TIFFs through ``tifffile`` (any depth, gray
    or colour; Pillow as a fallback), every other format through Pillow."""
    if p.suffix.lower() in TIFF_SUFFIXES:
        import tifffile

        try:
            a = np.asarray(tifffile.imread(p))
        except Exception:  # a TIFF tifffile cannot decode (a codec it lacks): Pillow may
            a = None
        if a is not None:
            if a.ndim == 3 and a.shape[0] in (3, 4) and a.shape[-1] not in (1, 2, 3, 4):
                a = np.moveaxis(a, 0, -1)  # planar (C, H, W)
            if a.ndim > 3 or (a.ndim == 3 and a.shape[-1] > 4):
                raise ValueError(f"{p}: a TIFF of shape {a.shape} (several pages or planes): expected one image (H, W[, C])")
            return a
    from PIL import Image

    with Image.open(p) as im:
        im.load()
        a = _pil_array(im)
    if a.dtype == np.uint8 and a.ndim == 3 and p.suffix.lower() == ".png":
        deep = _png16_colour(p)
        if deep is not None:
            return deep
    return a


def open_image(path: str | Path, channels: int = 1) -> ImageFile:
    """Read one image file at its full depth (see :func:`read_image`), with its bits per sample
    and whether it held colour."""
    from PIL import UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image not found: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"expected an image file, got a folder: {p}")
    try:
        a = _read_array(p)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"not a readable image: {p} ({e})") from e
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    bits = _bits(a)
    if a.dtype.kind in "ui" and a.dtype.itemsize > 1:  # 16-bit (or 32-bit) samples: said once
        _say_once(f"{bits}-bit", f"{p}: {bits}-bit image read at full depth and scaled to [0, 1] by 1/{np.iinfo(a.dtype).max} "
                                 f"(every {bits}-bit image is read so)")
    colour = a.ndim == 3 and a.shape[-1] >= 3 and not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2]))
    return ImageFile(to_tensor(a, channels, where=str(p)), bits, bool(colour))


def read_image(path: str | Path, channels: int = 1) -> Tensor:
    """Read one image file as a ``(C, H, W)`` tensor in [0, 1]; clear errors for bad paths.

    The one image reader of invgan (training folders, ``reconstruct``, ``invert``, ``dip``):
    samples are read at the file's full depth and scaled by their type's range
    (:func:`unit_range`): 8-bit by 1/255, 16-bit PNGs and TIFFs by 1/65535 (said once per
    process), float TIFFs taken as they are (values in [0, 1]). Colour is converted to gray for
    ``channels=1`` and gray repeated for ``channels=3``; an alpha channel is composited on white."""
    return open_image(path, channels).pixels


def write_image(x: Tensor, path: str | Path, bits: int = 8) -> Path:
    """Save a ``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] (clipped) as an 8-bit image
    (``bits=16``: a 16-bit PNG or TIFF, as for 16-bit inputs), grayscale for ``C = 1``, RGB for
    ``C = 3``; the format follows the suffix (:data:`IMAGE_SUFFIXES`). The parent folder must exist.

    :Example:

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from invgan.data.images import read_image, write_image
    >>> x = torch.linspace(0, 1, 16).view(1, 4, 4)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_image(write_image(x, Path(d) / "x.png"))
    >>> tuple(back.shape), float((back - x).abs().max()) <= 1 / 255
    ((1, 4, 4), True)
    """
    from PIL import Image

    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"expected an image file name, got a folder: {p}")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"unknown image extension {p.suffix!r} of {p}: expected one of {IMAGE_SUFFIXES}")
    if bits not in WRITE_BITS:
        raise ValueError(f"invalid bits={bits!r}: expected one of {WRITE_BITS}")
    if bits == 16 and p.suffix.lower() not in (".png", *TIFF_SUFFIXES):
        raise ValueError(f"{p}: 16-bit images are written as .png or .tif, not {p.suffix}")
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    if x.dim() != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"expected an image of shape (C, H, W) with C = 1 or 3, got {tuple(x.shape)}")
    if bits == 8:
        arr = (x.clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
    else:
        arr = (x.clamp(0, 1).double().numpy() * 65535.0 + 0.5).astype(np.uint16)
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    if bits == 16 and p.suffix.lower() in TIFF_SUFFIXES:
        import tifffile

        tifffile.imwrite(p, arr)
    elif bits == 16 and arr.ndim == 3:  # Pillow writes no 48-bit colour PNG: pypng does
        import png

        h, w, c = arr.shape
        with open(p, "wb") as f:
            png.Writer(w, h, bitdepth=16, greyscale=False).write(f, arr.reshape(h, w * c))
    else:
        Image.fromarray(arr).save(p)
    return p
