"""Data: built-in photos and user folders, random crops, and measurements."""

from .crops import CropStream, fixed_crops
from .images import BUILTIN_TEST, BUILTIN_TRAIN, load_builtin, load_folder, load_images, read_image, to_tensor
from .measurements import MeasuredSet, fixed_measurements

__all__ = [
    "BUILTIN_TEST", "BUILTIN_TRAIN", "CropStream", "MeasuredSet", "fixed_crops", "fixed_measurements",
    "load_builtin", "load_folder", "load_images", "read_image", "to_tensor",
]
