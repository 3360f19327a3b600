r"""What the deep image prior chooses from withheld measured entries, without ground truth: the
network (``net="auto"``, :func:`choose_network`, between :func:`network_candidates`) and the weight
of a blend with the classical estimate (``blend="classical"``, :func:`blend_with_classical`)."""

from __future__ import annotations

import dataclasses
import math
import time

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

    n_samples, img_shape = y.shape[0], _image_shape(y, physics)
    if withheld is None:
        withheld = draw_withheld(y, physics, config)
    if not bool(withheld.flatten(1).any(1).all()):
        raise ValueError("net='auto' needs withheld entries in every measurement: raise holdout, or name the network")
    runs = {name: deep_image_prior(y, physics, config=cfg, reference=reference, withheld=withheld)
            for name, cfg in network_candidates(config, img_shape).items()}
    names = list(runs)
    scores = {name: [float(run.heldout_history[run.stopped_at[i] - 1, i]) for i in range(n_samples)] for name, run in runs.items()}
    pick = [min(names, key=lambda name: scores[name][i]) for i in range(n_samples)]
    return _merge_runs(runs, pick, scores, config)


def draw_withheld(y: Tensor, physics, config: DIPConfig) -> Tensor:
    """The measured entries a choice withholds (boolean, ``y``'s shape): a share ``holdout`` (or
    :data:`AUTO_HOLDOUT` when 0) of those that depend on the image, whole pixels of an image-shaped
    ``y``, from a random stream of its own (seeded like an operator's mask, its draws would pick the
    kept pixels again); at least one pixel of every measurement that has two (:func:`withhold_pixels`)."""
    from .dip import _image_shape
    from .heldout import informative_entries, withhold_pixels

    share = config.holdout if config.holdout > 0 else AUTO_HOLDOUT
    seed = config.seed if config.seed is not None else int(torch.randint(2**31, ()))
    gen = torch.Generator().manual_seed(0x9E3779B9 + seed)
    informative = informative_entries(physics, _image_shape(y, physics), y.shape[0], y.device)
    return withhold_pixels(informative, share, gen)


def resolve_blend(mode: str, physics) -> str:
    """The blend a run makes: ``"auto"`` is ``"classical"`` for an inpainting, a downsampling
    (super-resolution) or a denoising operator, else ``"none"``; ``"classical"`` for another operator
    is an error before any fitting."""
    if mode == "auto":
        return "classical" if _blendable(physics) else "none"
    if mode == "classical" and not _blendable(physics):
        raise ValueError(f"blend='classical' needs an inpainting, a downsampling or a denoising operator (a classical estimate "
                         f"that can be scored on withheld pixels), got {type(physics).__name__}; use blend='none' or 'auto'")
    return mode


def _blendable(physics) -> bool:
    import deepinv.physics as dphys

    return isinstance(physics, (dphys.Inpainting, dphys.Denoising, dphys.Downsampling))


def blend_weight(a_dip: Tensor, a_classical: Tensor, y: Tensor, held: Tensor, correction: Tensor | float = 0.0) -> Tensor:
    r"""Per measurement, the weight :math:`w \in [0, 1]` of :math:`w\,a + (1-w)\,c` that best predicts
    :math:`y` on the ``held`` entries (least squares, clipped):
    :math:`w = \Pi_{[0,1]} (\langle a - c, y - c\rangle_S + \delta) / \|a - c\|_S^2` (0 where :math:`a = c` on :math:`S`);
    :math:`\delta` (``correction``, per measurement) is 0 when :math:`c` did not see :math:`y_S`, and
    :math:`\sigma^2\,\mathrm{div}_S\,c` when it did (then :math:`w` minimises SURE on :math:`S`).

    :Example:

    >>> import torch
    >>> from invgan.solvers.dip_choice import blend_weight
    >>> y, c, held = torch.ones(3, 2), torch.zeros(3, 2), torch.ones(3, 2)
    >>> blend_weight(torch.tensor([[2., 2.], [-1., -1.], [.5, .5]]), c, y, held).tolist()
    [0.5, 0.0, 1.0]
    """
    diff = (a_dip - a_classical) * held
    dot = (diff * (y - a_classical)).flatten(1).sum(1) + torch.as_tensor(correction, dtype=diff.dtype, device=diff.device)
    return (dot / diff.pow(2).flatten(1).sum(1).clamp_min(1e-12)).clamp(0, 1)


def blend_with_classical(
    y: Tensor, physics, net, config: DIPConfig, *, reference: Tensor | None = None, withheld: Tensor | None = None,
) -> DIPResult:
    r"""``blend="classical"``: the DIP estimate stacked with the operator's classical estimate, the
    weight fitted per image on withheld measured entries.

    DIP :math:`\bar x` is fitted without the withheld entries :math:`S` (drawn as for ``net="auto"``;
    ``net`` as configured, ``"auto"`` included, on the same :math:`S`). The classical estimate
    :math:`x_c` (:func:`classical_for_blend`) is, for inpainting, biharmonic inpainting made without
    :math:`S` too; for super-resolution, bicubic interpolation of the low-resolution image with :math:`S`
    filled by biharmonic inpainting; for denoising, the TV or non-local-means denoiser of least SURE, made from all of
    :math:`y`, whose use of :math:`y_S` the weight corrects for. The weight is the least-squares one on
    :math:`S`, clipped to :math:`[0, 1]` (:func:`blend_weight`),

    .. math:: w = \Pi_{[0,1]}\,\frac{\langle (A\bar x - Ax_c)_S,\ (y - Ax_c)_S\rangle + \delta}{\|(A\bar x - Ax_c)_S\|^2},
              \qquad \hat x = w\,\bar x + (1 - w)\,x_c ,

    :math:`\delta = \sigma^2\,\mathrm{div}_S\,x_c` for denoising (so :math:`w` minimises Stein's
    unbiased estimate of the error on :math:`S`: :math:`\bar x_S` does not depend on :math:`y_S`), 0 for
    inpainting and super-resolution; there :math:`x_c` is then remade from every measured pixel (it is cheap; DIP is not
    refitted), and the consistency step uses all of :math:`y`. Two estimators with different errors
    average to less error than either where neither wins everywhere; where one does, :math:`w` goes to
    0 or 1. :math:`w` is one number from the :math:`|S|` withheld entries (about 800 pixels at 128x128
    with half kept, 160 with a fifth kept, where it can miss: docs/experiments/dip.md). DIP predicts
    :math:`S` worse than the pixels it fits, so :math:`w` leans to the classical estimate. Needs an
    inpainting, a downsampling or a denoising operator. ``seconds`` includes the classical estimates.
    """
    from invgan.physics import enforce_consistency

    from .dip import deep_image_prior, resolve_consistency

    resolve_blend("classical", physics)
    if withheld is None:
        withheld = draw_withheld(y, physics, config)
    problem = _cannot_blend(y, physics, config, withheld)
    if problem:  # before any fitting; "auto" runs DIP alone instead
        if config.blend == "auto":
            return deep_image_prior(y, physics, net=net, config=with_overrides(config, blend="none"), reference=reference)
        raise ValueError(problem)
    res = deep_image_prior(y, physics, net=net, config=with_overrides(config, blend="none", consistency="none"),
                           reference=reference, withheld=withheld)
    start = time.perf_counter()
    with torch.no_grad():
        scored, returned, correction, names = classical_for_blend(y, physics, withheld, torch.tensor(res.noise_sigma),
                                                                  seed=config.seed or 0)
        weight = blend_weight(physics.A(res.x_hat), physics.A(scored), y, withheld.to(y.dtype), correction)
        w = weight.view(-1, *[1] * (res.x_hat.dim() - 1))
        x_hat = w * res.x_hat + (1 - w) * returned
        mode = resolve_consistency(config.consistency, physics)
        x_hat = enforce_consistency(physics, x_hat, y, mode, sigma=torch.tensor(res.noise_sigma, device=y.device))
    return dataclasses.replace(res, x_hat=x_hat.clamp(0, 1), consistency=mode, blend_weight=[float(w) for w in weight.cpu()],
                               classical=names, seconds=res.seconds + time.perf_counter() - start,
                               config=with_overrides(res.config, blend="classical", consistency=config.consistency))


def _cannot_blend(y: Tensor, physics, config: DIPConfig, withheld: Tensor) -> str:
    """Why the blend cannot be made (empty when it can): a measurement without a withheld entry (an
    image of one pixel), or denoising without a noise level > 0 (SURE needs one)."""
    import deepinv.physics as dphys

    from .stopping import noise_level

    if not bool(withheld.flatten(1).any(1).all()):
        return "blend='classical' needs withheld entries in every measurement: raise holdout"
    if isinstance(physics, dphys.Denoising):
        sigma = noise_level(physics, y, config.noise_sigma)
        if not bool(torch.isfinite(sigma).all() & (sigma > 0).all()):
            return f"blend='classical' on denoising needs a noise level > 0 (noise_sigma), got {sigma.tolist()}"
    return ""


def classical_for_blend(
    y: Tensor, physics, withheld: Tensor, sigma: Tensor, *, seed: int = 0,
) -> tuple[Tensor, Tensor, Tensor, list[str]]:
    r"""The classical side of :func:`blend_with_classical`: ``(scored, returned, correction, names)``,
    the estimate scored on the withheld entries :math:`S`, the one blended into the result, the
    per-sample :math:`\delta` of :func:`blend_weight`, and each sample's estimator by name.

    * inpainting: biharmonic inpainting without :math:`S` (scored), from every kept pixel (returned);
      :math:`\delta = 0`;
    * super-resolution (:class:`~deepinv.physics.Downsampling`): bicubic interpolation of the
      low-resolution image whose pixels in :math:`S` are filled by biharmonic inpainting first (scored),
      of all of it (returned); :math:`\delta = 0`;
    * denoising at noise std :math:`\sigma`: the denoiser of least SURE (:func:`~invgan.classical.choose_denoiser`),
      both scored and returned; :math:`\delta = \sigma^2\,\mathrm{div}_S` of it (:func:`~invgan.classical.mc_divergence`).
    """
    import deepinv.physics as dphys

    from invgan.classical import (bicubic_upsample, biharmonic_inpaint, choose_denoiser, denoise, denoiser_name, fill_biharmonic,
                                  mc_divergence)

    zero = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
    if isinstance(physics, dphys.Inpainting):
        return biharmonic_inpaint(y, physics, keep=~withheld), biharmonic_inpaint(y, physics), zero, ["biharmonic"] * y.shape[0]
    if isinstance(physics, dphys.Downsampling):
        scored = bicubic_upsample(fill_biharmonic(y, withheld), physics)
        return scored, bicubic_upsample(y, physics), zero, ["bicubic"] * y.shape[0]
    if not isinstance(physics, dphys.Denoising):
        raise ValueError(f"no classical estimate to blend for {type(physics).__name__}: inpainting, super-resolution or denoising only")
    sigma = torch.as_tensor(sigma, dtype=torch.float64).flatten().expand(y.shape[0])
    estimate, choice = choose_denoiser(y, sigma, seed=seed)
    gen = torch.Generator().manual_seed(0x5EED + seed)
    div = mc_divergence(lambda v: denoise(v, sigma, choice), y, estimate, where=withheld, generator=gen)
    return estimate, estimate, sigma.to(y.dtype) ** 2 * div, [denoiser_name(*c) for c in choice]


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
