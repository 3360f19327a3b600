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

from .arrays import ArraySource
from .base import ImageSource, TensorSource, as_source, scale_values
from .files import FileSource, image_header, list_images, read_list
from .resized import RESOLUTIONS, ResizedSource, generator_sets, read_all, resize_center, split_indices
from .select import ARRAY_SUFFIXES, LIST_SUFFIXES, SOURCE_KINDS, has_split, load_folder, load_images, open_source, source_root

__all__ = [
    "ARRAY_SUFFIXES", "LIST_SUFFIXES", "RESOLUTIONS", "SOURCE_KINDS", "ArraySource", "FileSource", "ImageSource", "ResizedSource", "TensorSource",
    "as_source", "generator_sets", "has_split", "image_header", "list_images", "load_folder", "load_images", "open_source", "read_all", "read_list",
    "resize_center", "scale_values", "source_root", "split_indices",
]
