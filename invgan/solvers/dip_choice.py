r"""``net="auto"`` of the deep image prior: the network chosen per image by measurement splitting,
without ground truth (:func:`choose_network`), and the candidates it chooses between."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from invgan.options import with_overrides

from .dip_config import DIPConfig
from .dip_result import DIPResult


AUTO_HOLDOUT = 0.05  # share of the measured entries net="auto" withholds when `holdout` is 0


def network_candidates(cfg: DIPConfig, img_shape: tuple[int, int, int]) -> dict[str, DIPConfig]:
    """The configurations ``net="auto"`` chooses between: the skip net as configured, and a
    ConvDecoder whose input grid is a sixteenth of the image side (8 at 128x128 and 16 at 256x256,
    the sizes at which it was measured), at least 2."""
    side = max(img_shape[1:])
    return {"skip": with_overrides(cfg, net="skip"),
            "convdecoder": with_overrides(cfg, net="convdecoder", in_size=max(2, side // 16))}


def choose_network(
    y: Tensor, physics, config: DIPConfig, *, reference: Tensor | None = None, withheld: Tensor | None = None,
) -> DIPResult:
    r"""``net="auto"``: the network chosen from the image by measurement splitting, no ground truth.

    A share :math:`h` of the measured entries that depend on the image, :math:`S` (``holdout``, or
    :data:`AUTO_HOLDOUT` when 0; the same entries for every candidate), is withheld; each candidate of
    :func:`network_candidates` is fitted to the rest with its own stop, and each sample keeps the
    candidate whose returned estimate (before the consistency step) has the least error on them,

    .. math:: k^\star = \arg\min_k \frac{1}{|S|}\sum_{j \in S} \big((A\bar x^{(k)})_j - y_j\big)^2 .

    For a random split that error estimates the candidate's error on entries it did not see, up to
    the noise, which is the same for every candidate. The consistency step then uses all of
    :math:`y`, so an inpainting result gets the withheld pixels back. It costs one run per
    candidate; ``seconds`` and ``time_history`` count all of them.
    """
    from .dip import _image_shape, deep_image_prior  # the solver calls back here for net="auto"
    from .heldout import informative_entries, withhold_pixels

    n_samples, img_shape = y.shape[0], _image_shape(y, physics)
    if withheld is None:
        share = config.holdout if config.holdout > 0 else AUTO_HOLDOUT
        # a stream of its own: seeded like an operator's mask (seed 0), its draws would pick the kept pixels again
        seed = config.seed if config.seed is not None else int(torch.randint(2**31, ()))
        gen = torch.Generator().manual_seed(0x9E3779B9 + seed)
        informative = informative_entries(physics, img_shape, n_samples, y.device)
        withheld = withhold_pixels(informative, share, gen)
    if not bool(withheld.flatten(1).any(1).all()):
        raise ValueError("net='auto' needs withheld entries in every measurement: raise holdout, or name the network")
    runs = {name: deep_image_prior(y, physics, config=cfg, reference=reference, withheld=withheld)
            for name, cfg in network_candidates(config, img_shape).items()}
    names = list(runs)
    scores = {name: [float(run.heldout_history[run.stopped_at[i] - 1, i]) for i in range(n_samples)] for name, run in runs.items()}
    pick = [min(names, key=lambda name: scores[name][i]) for i in range(n_samples)]
    return _merge_runs(runs, pick, scores, config)


def _merge_runs(runs: dict[str, DIPResult], pick: list[str], scores: dict[str, list[float]], config: DIPConfig) -> DIPResult:
    """One result holding, for sample ``i``, what the run ``pick[i]`` gave it (histories padded with NaN
    to the longest run); ``seconds`` and ``time_history`` add up every run."""
    steps = max(run.steps for run in runs.values())

    def column(key: str) -> Tensor | None:
        if any(getattr(run, key) is None for run in runs.values()):
            return None
        out = torch.full((steps, len(pick)), math.nan)
        for i, name in enumerate(pick):
            h = getattr(runs[name], key)
            out[: h.shape[0], i] = h[:, i]
        return out

    def each(key: str) -> list:
        return [getattr(runs[name], key)[i] for i, name in enumerate(pick)]

    longest = max(runs.values(), key=lambda run: run.steps)
    others = sum(run.seconds for run in runs.values() if run is not longest)
    withheld = next(iter(runs.values())).withheld
    return DIPResult(
        x_hat=torch.stack([runs[name].x_hat[i] for i, name in enumerate(pick)]),
        stopped_at=each("stopped_at"), decided_at=each("decided_at"), steps=steps,
        loss_history=column("loss_history"), residual_history=column("residual_history"),
        change_history=column("change_history"), drift_history=column("drift_history"),
        heldout_history=column("heldout_history"), variance_history=column("variance_history"),
        psnr_history=column("psnr_history"), withheld=withheld, tv_weight=each("tv_weight"),
        seconds=sum(run.seconds for run in runs.values()), backtracks=sum(run.backtracks for run in runs.values()),
        time_history=longest.time_history + others if longest.time_history is not None else None,
        rules=each("rules"), noise_sigma=each("noise_sigma"), precision=longest.precision,
        consistency=longest.consistency, network=list(pick), network_scores=scores,
        config=runs[pick[0]].config,  # how the first sample's estimate was made (input noise resolved)
    )
