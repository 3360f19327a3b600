"""Solvers that reconstruct images from measurements with a trained or untrained prior."""

from .latent import LatentSearchConfig, LatentSearchResult, latent_search

__all__ = ["LatentSearchConfig", "LatentSearchResult", "latent_search"]
