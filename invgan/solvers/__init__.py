"""Per-image solvers that need no training data (deep image prior, ...)."""

from invgan.solvers.dip import DIPConfig, DIPResult, deep_image_prior

__all__ = ["DIPConfig", "DIPResult", "deep_image_prior"]
