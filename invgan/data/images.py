"""Images from disk or from what installed packages ship (nothing is ever downloaded), and
an image writer.

Built-in photos come from ``skimage.data`` and ``sklearn.datasets.load_sample_images``
and are split *by image*: no held-out image ever yields a training patch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

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


def to_tensor(img: np.ndarray, channels: int) -> Tensor:
    """An ``(H, W[, C])`` array of any dtype to a float ``(channels, H, W)`` tensor in [0, 1].

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
    from skimage.util import img_as_float32

    a = img_as_float32(np.asarray(img))
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


def read_image(path: str | Path, channels: int = 1) -> Tensor:
    """Read one image file as a ``(C, H, W)`` tensor in [0, 1]; clear errors for bad paths."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image not found: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"expected an image file, got a folder: {p}")
    try:
        with Image.open(p) as im:
            im.load()
            arr = np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else ("L" if im.mode in ("L", "I", "I;16", "F", "1") else "RGB")))
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"not a readable image: {p} ({e})") from e
    return to_tensor(arr, channels)


def load_folder(path: str | Path, channels: int = 1, min_size: int = 1) -> list[Tensor]:
    """All images under ``path`` (recursive). Unreadable or too-small files are skipped with a
    warning; a missing or empty folder is an error naming it."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"image folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"expected a folder of images, got a file: {root}")
    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {root}")
    images, small = [], []
    for f in files:
        try:
            img = read_image(f, channels)
        except ValueError as e:
            warnings.warn(f"skipping {e}", stacklevel=2)
            continue
        if min(img.shape[-2:]) < min_size:
            warnings.warn(f"skipping {f}: {tuple(img.shape[-2:])} is smaller than the crop size {min_size}", stacklevel=2)
            small.append(tuple(img.shape[-2:]))
            continue
        images.append(img)
    if not images:
        if small:
            largest = max(small, key=min)
            raise ValueError(f"no usable images under {root}: {len(small)} of {len(files)} are smaller than the crop size "
                             f"{min_size} (largest {largest[0]}x{largest[1]}){', the others unreadable' if len(small) < len(files) else ''}; "
                             "use a smaller crop")
        raise ValueError(f"no usable images under {root} (all {len(files)} files were unreadable)")
    return images


def load_images(source: str = "builtin", split: str = "train", channels: int = 1, min_size: int = 1) -> list[Tensor]:
    """``source="builtin"`` for the shipped photos, otherwise a folder path (``split`` is then a
    sub-folder if it exists, so ``root/train`` and ``root/test`` are honoured)."""
    if source == "builtin":
        return load_builtin(split, channels)
    root = Path(source)
    if (root / split).is_dir():
        root = root / split
    return load_folder(root, channels, min_size=min_size)


def write_image(x: Tensor, path: str | Path) -> Path:
    """Save a ``(C, H, W)`` or ``(1, C, H, W)`` tensor in [0, 1] (clipped) as an 8-bit image,
    grayscale for ``C = 1``, RGB for ``C = 3``; the format follows the suffix
    (:data:`IMAGE_SUFFIXES`). The parent folder must exist.

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
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    if x.dim() != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"expected an image of shape (C, H, W) with C = 1 or 3, got {tuple(x.shape)}")
    arr = (x.clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    Image.fromarray(arr).save(p)
    return p
