"""Solvers that reconstruct images from measurements: latent search with a trained generator
(CSGM) and the deep image prior, which needs no training data. Each is a function and a deepinv
``Reconstructor`` (``model(y, physics)``), so one evaluation function scores every job."""

from .dip import DeepImagePrior, DIPConfig, DIPResult, deep_image_prior
from .latent import LatentSearch, LatentSearchConfig, LatentSearchResult, latent_search

__all__ = ["DIPConfig", "DIPResult", "DeepImagePrior", "LatentSearch", "LatentSearchConfig", "LatentSearchResult",
           "deep_image_prior", "latent_search"]
