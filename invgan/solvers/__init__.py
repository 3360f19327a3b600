"""Solvers that reconstruct images from measurements: latent search with a trained generator
(CSGM) and the deep image prior, which needs no training data."""

from .dip import DeepImagePrior, DIPConfig, DIPResult, deep_image_prior
from .latent import LatentSearchConfig, LatentSearchResult, latent_search

__all__ = ["DeepImagePrior", "DIPConfig", "DIPResult", "LatentSearchConfig", "LatentSearchResult", "deep_image_prior", "latent_search"]
