r"""What a GAN run reports on held-out data, and the preview grid it draws.

* :class:`ReconstructionEvaluator`: PSNR/SSIM of :math:`\hat x = R(y, A)` against the
  back-projection and the best-tuned Tikhonov solution; the preview shows
  measurement | reconstruction | truth.
* :class:`SampleEvaluator`: generator metrics (:mod:`invgan.metrics`) of samples :math:`G(z)`
  against held-out images; the preview renders a fixed latent batch.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ..data import MeasuredSet
from ..physics import MeasurementModel, lift
from ..metrics import baselines, evaluate_estimator, set_operator


class ReconstructionEvaluator:
    """Held-out reconstruction quality of the network ``key`` against the classical baselines
    (computed once, they do not change during a run)."""

    best_metric = "psnr"
    preview_columns = 3

    def __init__(self, measurement: MeasurementModel, back_projection: str = "adjoint", key: str = "G"):
        self.measurement, self.back_projection, self.key = measurement, back_projection, key
        self._baselines: dict[str, float] | None = None

    def evaluate(self, nets: Mapping[str, nn.Module], data: MeasuredSet | None, full: bool = False) -> dict[str, float]:
        if data is None:
            return {}
        physics = self.measurement.physics
        if self._baselines is None:
            self._baselines = baselines(data, physics, self.back_projection)
        return {**evaluate_estimator(nets[self.key], data, physics), **self._baselines}

    def preview(self, nets: Mapping[str, nn.Module], data: MeasuredSet | None, n: int = 6) -> Tensor | None:
        """Rows of (back-projected measurement | reconstruction | truth)."""
        if data is None:
            return None
        model = nets[self.key]
        x, y, params = next(data.batches(n))
        device = next(model.parameters()).device
        physics = self.measurement.physics
        set_operator(physics, {k: v.to(device) for k, v in params.items()})
        x, y = x.to(device), y.to(device)
        rows = torch.stack([lift(physics, y, self.back_projection), model(y, physics), x], dim=1)
        return rows.flatten(0, 1)


class SampleEvaluator:
    r"""Metrics of ``eval_samples`` samples :math:`G(z)` (latents from a fixed seed) against held-out
    images with a digit ``classifier`` (``fd``, its negation ``neg_fd`` kept as best, precision,
    recall, classifier score; with ``full`` also the sliced Wasserstein distances, about 20 s for
    1,000 MNIST digits on one CPU core). ``classifier=None``: no metrics, only previews."""

    best_metric = "neg_fd"
    preview_columns = 8

    def __init__(self, latent_shape: int | tuple[int, ...], classifier: Any = None, eval_samples: int = 1000,
                 preview_n: int = 64, seed: int = 0, key: str = "G"):
        self.latent_shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
        self.classifier, self.eval_samples, self.key = classifier, eval_samples, key
        self.preview_z = torch.randn(preview_n, *self.latent_shape, generator=torch.Generator().manual_seed(seed + 7919))

    @torch.no_grad()
    def evaluate(self, nets: Mapping[str, nn.Module], data: Tensor | None, full: bool = False) -> dict[str, float]:
        if data is None or self.classifier is None:
            return {}
        from ..metrics import generator_metrics

        G = nets[self.key]
        z = torch.randn(self.eval_samples, *self.latent_shape, generator=torch.Generator().manual_seed(1)).to(data.device)
        fake = torch.cat([G(c) for c in z.split(250)])
        m = generator_metrics(fake.cpu(), data.cpu(), self.classifier, swd=full)
        return {**m, "neg_fd": -m["fd"]}

    @torch.no_grad()
    def preview(self, nets: Mapping[str, nn.Module], data: Any) -> Tensor:
        """Samples from the fixed latent batch (the same at every evaluation)."""
        G = nets[self.key]
        return G(self.preview_z.to(next(G.parameters()).device))
