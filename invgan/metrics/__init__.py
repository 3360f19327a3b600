r"""Quality metrics: image metrics of reconstructions and offline metrics of generators.

:func:`evaluate_estimator` scores any ``model(y, physics)`` (a trained reconstructor, a
deepinv ``Reconstructor`` such as :class:`invgan.solvers.LatentSearch`, or a function) by
PSNR/SSIM on a fixed measured set; :func:`baselines` scores :math:`A^\top y` and the
best-tuned Tikhonov solution on the same set.

:func:`generator_metrics` compares generated images with real ones through a small digit
classifier trained once on the built-in digits (:func:`load_classifier`): Fréchet distance
on its features, precision/recall, classifier score, and the Laplacian-pyramid sliced
Wasserstein distance. :mod:`invgan.metrics.inception` gives FID and KID on the standard
Inception-v3 features, offline, with the optional ``fid`` extra. :func:`evaluate_posterior` scores
posterior samples (:class:`~invgan.nets.PosteriorSamples`): the mean, one sample, the std's
correlation with the error and the coverage of its intervals.
"""

from __future__ import annotations

from torch import Tensor

from .classifier import ClassifierConfig, DigitClassifier, cache_dir, load_classifier, train_classifier
from .distances import best_matching_accuracy, classifier_score, frechet_distance, precision_recall, sliced_wasserstein
from .inception import InceptionFeatures, inception_metrics, kernel_distance
from .posterior import Sampler, calibrate_intervals, evaluate_posterior, patch_kid, sample_set
from .images import TIKHONOV_GAMMAS, Estimator, baselines, compare_estimators, evaluate_estimator, image_metrics, patches, set_operator


def generator_metrics(fake: Tensor, real: Tensor, classifier: DigitClassifier | None = None, *, k: int = 3, swd: bool = True) -> dict[str, float]:
    """All metrics of ``fake`` against ``real`` images in [0, 1] (``(N, 1, H, W)``): keys
    ``fd``, ``precision``, ``recall``, ``classifier_score`` (of ``fake``) and ``swd_*``."""
    if fake.dim() != 4 or real.dim() != 4:
        raise ValueError(f"expected image batches (N, C, H, W), got {tuple(fake.shape)} and {tuple(real.shape)}")
    classifier = classifier or load_classifier()
    f_fake, p_fake = classifier.embed(fake.float())
    f_real, _ = classifier.embed(real.float())
    precision, recall = precision_recall(f_real, f_fake, k=k)
    out = {"fd": frechet_distance(f_real, f_fake), "precision": precision, "recall": recall, "classifier_score": classifier_score(p_fake)}
    if swd:
        out.update(sliced_wasserstein(real, fake) if min(real.shape[-2:]) >= 8 else {})
    return out


__all__ = [
    "best_matching_accuracy", "InceptionFeatures", "inception_metrics", "kernel_distance",
    "TIKHONOV_GAMMAS", "ClassifierConfig", "DigitClassifier", "Estimator", "baselines", "cache_dir", "classifier_score",
    "compare_estimators", "evaluate_estimator", "frechet_distance", "patches", "generator_metrics", "image_metrics", "load_classifier", "precision_recall",
    "set_operator", "sliced_wasserstein", "train_classifier", "Sampler", "calibrate_intervals", "evaluate_posterior", "patch_kid", "sample_set",
]
