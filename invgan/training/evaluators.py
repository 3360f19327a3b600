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
from ..nets.generators import LatentCodes
from ..physics import MeasurementModel, lift
from ..metrics import baselines, best_matching_accuracy, evaluate_estimator, set_operator
from ..metrics.images import SELECTION_RULES, held_out_measurement_psnr


class ReconstructionEvaluator:
    """Held-out reconstruction quality of the network ``key`` against the classical baselines
    (computed once, they do not change during a run)."""

    best_metric = "psnr"
    preview_columns = 3

    def __init__(self, measurement: MeasurementModel, back_projection: str = "adjoint", key: str = "G", select: str = "psnr"):
        if select not in SELECTION_RULES:
            raise ValueError(f"invalid select={select!r}: expected one of {SELECTION_RULES}")
        self.measurement, self.back_projection, self.key = measurement, back_projection, key
        self._baselines: dict[str, float] | None = None
        # "measurements": best.pt is chosen without ground truth, on held-out measured pixels
        self.best_metric = "heldout_psnr" if select == "measurements" else "psnr"

    def evaluate(self, nets: Mapping[str, nn.Module], data: MeasuredSet | None, full: bool = False) -> dict[str, float]:
        if data is None:
            return {}
        physics = self.measurement.physics
        if self._baselines is None:
            self._baselines = baselines(data, physics, self.back_projection)
        out = {**evaluate_estimator(nets[self.key], data, physics), **self._baselines}
        if self.best_metric == "heldout_psnr":
            out["heldout_psnr"] = held_out_measurement_psnr(nets[self.key], data, physics)
        return out

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


def _latent_batch(n: int, latent_shape: tuple[int, ...], codes: LatentCodes | None, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return codes.sample(n, gen) if codes is not None else torch.randn(n, *latent_shape, generator=gen)


def _classes(G: nn.Module) -> int:
    return int(getattr(G, "n_classes", 0) or 0)


@torch.no_grad()
def label_rows(G: nn.Module, columns: int = 8, seed: int = 0) -> Tensor:
    """A grid of a class-conditional ``G(z, c)``: one row per label, the same ``columns`` latents in every row."""
    n_classes = _classes(G)
    if not n_classes:
        raise ValueError("label rows need a class-conditional generator G(z, c)")
    device = next(G.parameters()).device
    z = torch.randn(columns, G.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    return torch.cat([G(z, torch.full((columns,), c, device=device)) for c in range(n_classes)])


@torch.no_grad()
def code_traversal(G: nn.Module, codes: LatentCodes, code: str = "categorical", columns: int = 8, seed: int = 0,
                   span: float = 2.0) -> Tensor:
    r"""InfoGAN traversals of ``G(z')``. ``code="categorical"``: one row per value of the first
    categorical code, the same ``columns`` noise vectors in every row (continuous codes 0).
    ``code="continuous:j"``: one row per category, continuous code ``j`` going from :math:`-`\ ``span``
    to ``span`` along the row (the other codes and the noise fixed per row)."""
    device = next(G.parameters()).device
    k = codes.categorical[0]
    if code == "categorical":
        base = codes.sample(columns, torch.Generator().manual_seed(seed))
        base = codes.with_codes(base, continuous=torch.zeros(columns, codes.continuous))
        rows = [codes.with_codes(base, categories=torch.full((columns,), c)) for c in range(k)]
    elif code.startswith("continuous:") and code.split(":")[1].isdigit() and int(code.split(":")[1]) < codes.continuous:
        j = int(code.split(":")[1])
        noise = codes.sample(k, torch.Generator().manual_seed(seed))
        values = torch.linspace(-span, span, columns)
        rows = []
        for c in range(k):
            row = codes.with_codes(noise[c : c + 1].expand(columns, -1), categories=torch.full((columns,), c),
                                   continuous=torch.zeros(columns, codes.continuous))
            row[:, codes.dim - codes.continuous + j] = values
            rows.append(row)
    else:
        raise ValueError(f"invalid code={code!r}: expected 'categorical' or 'continuous:j' with j < {codes.continuous}")
    return torch.cat([G(r.to(device)) for r in rows])


class SampleEvaluator:
    r"""Metrics of ``eval_samples`` samples :math:`G(z)` (latents from a fixed seed) against held-out
    images with a digit ``classifier`` (``fd``, its negation ``neg_fd`` kept as best, precision,
    recall, classifier score; with ``full`` also the sliced Wasserstein distances, about 20 s for
    1,000 MNIST digits on one CPU core). ``classifier=None``: no metrics, only previews. A scorer
    with its own ``best_metric`` (:class:`~invgan.metrics.inception.PhotoMetrics`, for photos) is
    called as ``classifier(fake, real, full)`` instead.

    A class-conditional ``G(z, c)`` (``G.n_classes``) is sampled with labels ``0, 1, ...`` in turn
    and also scored by ``label_accuracy``, how often the classifier recognises the requested label;
    its preview has one row per label. With InfoGAN ``codes``, ``code_accuracy`` is the agreement of
    the first categorical code with the classifier's label after the best matching of code values
    to labels, and the preview is the categorical traversal."""

    best_metric = "neg_fd"
    preview_columns = 8

    def __init__(self, latent_shape: int | tuple[int, ...], classifier: Any = None, eval_samples: int = 1000,
                 preview_n: int = 64, seed: int = 0, key: str = "G", codes: LatentCodes | None = None):
        self.latent_shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
        self.classifier, self.eval_samples, self.key, self.codes, self.seed = classifier, eval_samples, key, codes, seed
        # a scorer with its own key (PhotoMetrics: FID/KID on Inception features) replaces the digit classifier's metrics
        self.best_metric = getattr(classifier, "best_metric", type(self).best_metric)
        self.preview_z = _latent_batch(preview_n, self.latent_shape, codes, seed + 7919)

    @torch.no_grad()
    def samples(self, G: nn.Module, n: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor | None]:
        """``n`` samples from latents of seed 1, the latents, and the labels asked for (conditional ``G``)."""
        z = _latent_batch(n, self.latent_shape, self.codes, 1).to(device)
        n_classes = _classes(G)
        labels = (torch.arange(n, device=device) % n_classes) if n_classes else None
        chunks = [G(zc, lc) if labels is not None else G(zc) for zc, lc in zip(z.split(250), (labels.split(250) if labels is not None else [None] * n))]
        return torch.cat(chunks), z, labels

    @torch.no_grad()
    def evaluate(self, nets: Mapping[str, nn.Module], data: Tensor | None, full: bool = False) -> dict[str, float]:
        if data is None or self.classifier is None:
            return {}
        from ..metrics import generator_metrics

        G = nets[self.key]
        fake, z, labels = self.samples(G, self.eval_samples, data.device)
        if self.best_metric != type(self).best_metric:  # a photo scorer (photos carry neither labels nor codes)
            return self.classifier(fake.cpu(), data.cpu(), full)
        m = generator_metrics(fake.cpu(), data.cpu(), self.classifier, swd=full)
        out = {**m, "neg_fd": -m["fd"]}
        if labels is not None or self.codes is not None:
            _, probs = self.classifier.embed(fake.cpu())
            predicted = probs.argmax(1)
            if labels is not None:
                out["label_accuracy"] = float((predicted == labels.cpu()).float().mean())
            if self.codes is not None and self.codes.categorical:
                cats, _ = self.codes.split(z.cpu())
                out["code_accuracy"] = best_matching_accuracy(cats[0], predicted, self.codes.categorical[0], probs.shape[1])
        return out

    @torch.no_grad()
    def preview(self, nets: Mapping[str, nn.Module], data: Any) -> Tensor:
        """Samples from the fixed latent batch (the same at every evaluation); rows per label or code value."""
        G = nets[self.key]
        if _classes(G):
            return label_rows(G, self.preview_columns, self.seed + 7919)
        if self.codes is not None and self.codes.categorical:
            return code_traversal(G, self.codes, "categorical", self.preview_columns, self.seed + 7919)
        return G(self.preview_z.to(next(G.parameters()).device))
