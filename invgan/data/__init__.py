"""Data: built-in photos and your own images read lazily (folders, lists, arrays:
:mod:`invgan.data.sources`), the small built-in sets (digits, faces), random crops, measurements,
and an image writer."""

from .crops import CropStream, SampleStream, UnpairedCropStream, fixed_crops, split_by_image
from .images import BUILTIN_TEST, BUILTIN_TRAIN, ImageFile, load_builtin, load_cameraman, open_image, read_image, to_tensor, write_image
from .sources import ImageSource, load_folder, load_images, open_source
from .measurements import MeasuredSet, fixed_measurements
from .small_sets import SMALL_SETS, SmallImageSet, load_small_set

__all__ = [
    "BUILTIN_TEST", "BUILTIN_TRAIN", "SMALL_SETS", "CropStream", "MeasuredSet", "SampleStream", "SmallImageSet", "fixed_crops", "fixed_measurements",
    "ImageFile", "load_builtin", "load_cameraman", "load_folder", "load_images", "load_small_set", "open_image", "read_image", "to_tensor", "write_image",
    "UnpairedCropStream", "split_by_image", "ImageSource", "open_source",
]
