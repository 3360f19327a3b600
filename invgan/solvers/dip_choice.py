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
    """The blend a run makes: ``"auto"`` is ``"classical"`` for an inpainting operator, else ``"none"``;
    ``"classical"`` for another operator is an error before any fitting."""
    import deepinv.physics as dphys

    inpainting = isinstance(physics, dphys.Inpainting)
    if mode == "auto":
        return "classical" if inpainting else "none"
    if mode == "classical" and not inpainting:
        raise ValueError(f"blend='classical' needs an inpainting operator (biharmonic inpainting without the withheld pixels), "
                         f"got {type(physics).__name__}; use blend='none' or 'auto'")
    return mode


def blend_weight(a_dip: Tensor, a_classical: Tensor, y: Tensor, held: Tensor) -> Tensor:
    r"""Per measurement, the weight :math:`w \in [0, 1]` of :math:`w\,a + (1-w)\,c` that best predicts
    :math:`y` on the ``held`` entries (least squares, clipped):
    :math:`w = \Pi_{[0,1]} \langle a - c, y - c\rangle_S / \|a - c\|_S^2` (0 where :math:`a = c` on :math:`S`).

    :Example:

    >>> import torch
    >>> from invgan.solvers.dip_choice import blend_weight
    >>> y, c, held = torch.ones(3, 2), torch.zeros(3, 2), torch.ones(3, 2)
    >>> blend_weight(torch.tensor([[2., 2.], [-1., -1.], [.5, .5]]), c, y, held).tolist()
    [0.5, 0.0, 1.0]
    """
    diff = (a_dip - a_classical) * held
    dot = (diff * (y - a_classical)).flatten(1).sum(1)
    return (dot / diff.pow(2).flatten(1).sum(1).clamp_min(1e-12)).clamp(0, 1)


def blend_with_classical(
    y: Tensor, physics, net, config: DIPConfig, *, reference: Tensor | None = None, withheld: Tensor | None = None,
) -> DIPResult:
    r"""``blend="classical"``: the DIP estimate stacked with the operator's classical estimate
    (biharmonic inpainting), the weight fitted per image on withheld measured entries.

    Both estimates are made without the withheld entries :math:`S` (drawn as for ``net="auto"``):
    DIP :math:`\bar x` (with ``net`` as configured, ``"auto"`` included, on the same :math:`S`) and
    the classical :math:`x_c`. The weight is the least-squares one on :math:`S`, clipped to
    :math:`[0, 1]`,

    .. math:: w = \Pi_{[0,1]}\,\frac{\langle (A\bar x - Ax_c)_S,\ (y - Ax_c)_S\rangle}{\|(A\bar x - Ax_c)_S\|^2},
              \qquad \hat x = w\,\bar x + (1 - w)\,x_c ,

    where :math:`x_c` is then remade from every measured entry (it is cheap; DIP is not refitted),
    and the consistency step uses all of :math:`y`. Two estimators with different errors
    (DIP's texture against a smooth interpolation) average to less error than either where
    neither wins everywhere; where one does, :math:`w` goes to 0 or 1. :math:`w` is one number from
    the :math:`|S|` withheld entries (about 800 pixels at 128x128 with half kept, 160 with a fifth
    kept, where it can miss: docs/experiments/dip.md). Needs an inpainting operator: the classical
    estimate of other operators cannot leave entries out. ``seconds`` includes both classical
    estimates.
    """
    from invgan.classical import biharmonic_inpaint
    from invgan.physics import enforce_consistency

    from .dip import deep_image_prior, resolve_consistency

    resolve_blend("classical", physics)
    if withheld is None:
        withheld = draw_withheld(y, physics, config)
    if not bool(withheld.flatten(1).any(1).all()):
        raise ValueError("blend='classical' needs withheld entries in every measurement: raise holdout")
    res = deep_image_prior(y, physics, net=net, config=with_overrides(config, blend="none", consistency="none"),
                           reference=reference, withheld=withheld)
    held = withheld.to(y.dtype)
    start = time.perf_counter()
    with torch.no_grad():
        classical = biharmonic_inpaint(y, physics, keep=~withheld)
        weight = blend_weight(physics.A(res.x_hat), physics.A(classical), y, held)
        w = weight.view(-1, *[1] * (res.x_hat.dim() - 1))
        x_hat = w * res.x_hat + (1 - w) * biharmonic_inpaint(y, physics)  # the classical estimate is cheap: remade from every pixel
        mode = resolve_consistency(config.consistency, physics)
        x_hat = enforce_consistency(physics, x_hat, y, mode, sigma=torch.tensor(res.noise_sigma, device=y.device))
    return dataclasses.replace(res, x_hat=x_hat.clamp(0, 1), consistency=mode, blend_weight=[float(w) for w in weight.cpu()],
                               seconds=res.seconds + time.perf_counter() - start,
                               config=with_overrides(res.config, blend="classical", consistency=config.consistency))


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
