r"""Latent search: invert measurements through an unconditional generator (CSGM, Bora et al. 2017).

For each measurement :math:`y_i` (a batch of :math:`N`) the solver computes

.. math::

    \hat z_i = \arg\min_z\; f_i(z) = \|A(G(z)) - y_i\|_2^2 + \lambda \|z\|_2^2,
    \qquad \hat x_i = G(\hat z_i),

from :math:`R` random starts :math:`z^{(0)}\sim\mathcal{N}(0, I)` per measurement (restart :math:`r` is drawn
from ``seed + r``). All :math:`N R` searches run together as one batch (one generator forward per step); the
objectives are independent, so the summed loss gives each latent its own gradient. Each
search keeps its best iterate, stops on its own when its objective has not improved by a
relative ``tolerance`` for ``patience`` steps (at most ``max_steps``), and the best restart per measurement (lowest final
:math:`f_i`) is returned. The generator is used in eval mode with its weights frozen; they
receive no gradient and are left exactly as they were.

Operators drawn per sample (e.g. one inpainting mask per measurement, batch :math:`N`) work
unchanged: :math:`A` is applied to the :math:`R` groups of :math:`N` candidates in turn.

The calling convention is deepinv's: :func:`latent_search` takes ``(y, physics, generator)``
and :class:`LatentSearch` is a :class:`deepinv.models.Reconstructor`, ``x_hat = model(y, physics)``,
so :func:`invgan.metrics.evaluate_estimator` scores it like any trained reconstructor.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from deepinv.models import Reconstructor
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..options import with_overrides
from .heldout import Entries, auto_layers, choice_rule, fold_count, informative_entries, pick_candidate
from .latent_config import AUTO_DEVIATIONS, DEFAULT_LR, PRIOR_WEIGHTS, REFERENCE_PRIOR_WEIGHT, LatentSearchConfig, LatentSearchResult
from .latent_refine import (deviation_weight, finetune_generator, gaussian_sigma, one_measurement, refine, search_space, space_inputs,
                            sparse_deviation)
from .latent_sampling import latent_posterior, sampling_std

def _apply_operator(physics, x: Tensor, groups: int) -> Tensor:
    """:math:`A` on ``R`` stacked groups of the ``N`` measurements' candidates (index ``r*N + i``)."""
    return torch.cat([physics.A(chunk) for chunk in x.chunk(groups)], dim=0)


def _check_inputs(generator: nn.Module, y: Tensor, physics) -> tuple[int, tuple[int, ...]]:
    latent_dim = getattr(generator, "latent_dim", None)
    if latent_dim is None:
        raise ValueError("the generator needs a 'latent_dim' attribute (see invgan.nets.generators)")
    if not isinstance(y, Tensor) or y.dim() < 2:
        raise ValueError(f"y must be a batch of measurements of shape (N, ...), got {getattr(y, 'shape', type(y))}")
    if not torch.isfinite(y).all():
        raise ValueError("y contains NaN or infinite values")
    with torch.no_grad():
        x0 = generator(torch.zeros(1, latent_dim, device=y.device))
    n = x0[0].numel()
    img_size = getattr(physics, "img_size", None)
    if img_size is not None and tuple(img_size) != tuple(x0.shape[1:]):
        raise ValueError(f"generator output {tuple(x0.shape[1:])} does not match the operator's input {tuple(img_size)}")
    try:
        with torch.no_grad():
            ax0 = physics.A(x0)
    except Exception as e:  # the operator rejects the generator's images
        raise ValueError(f"generator output {tuple(x0.shape[1:])} does not fit the operator {type(physics).__name__}: {e}") from e
    m = y[0].numel()
    if m > n:
        raise ValueError(f"m = {m} measurements per sample exceed n = {n} unknowns (C*H*W of the generator's output)")
    if tuple(ax0.shape[1:]) != tuple(y.shape[1:]):
        raise ValueError(f"y has per-sample shape {tuple(y.shape[1:])} but A(G(z)) has {tuple(ax0.shape[1:])}")
    return latent_dim, tuple(x0.shape[1:])


def latent_search(y: Tensor, physics, generator: nn.Module, config: LatentSearchConfig | None = None, **overrides) -> LatentSearchResult:
    r"""Solve :math:`\min_z \|A(G(z)) - y_i\|^2 + \lambda\|z\|^2` for every measurement :math:`y_i`.

    :param y: measurements, shape ``(N, ...)``; ``N`` reconstructions are returned.
    :param physics: a deepinv physics (only ``physics.A`` is used; its batch may be 1 or ``N``).
    :param generator: :math:`G`, with a ``latent_dim`` attribute (``z`` of shape ``(B, d)``).
    :param config: a :class:`LatentSearchConfig`; keyword ``overrides`` replace its fields.

    Gradients are enabled for the search even under ``torch.no_grad()`` (as in an evaluation loop).

    :Example:

    >>> import torch
    >>> from invgan.nets.generators import MLPGenerator
    >>> from invgan.physics import make_physics
    >>> from invgan.solvers import latent_search
    >>> _ = torch.manual_seed(0)
    >>> G = MLPGenerator(4, (1, 8, 8), (16,), output="sigmoid")
    >>> model = make_physics("cs", (1, 8, 8), m=20, noise="none")
    >>> x = G(torch.randn(2, 4)).detach()
    >>> res = latent_search(model.measure(x), model.physics, G, restarts=2, max_steps=50, prior_weight=0.0, deviation="none")
    >>> tuple(res.x_hat.shape), tuple(res.z_hat.shape), tuple(res.restart_objectives.shape)
    ((2, 1, 8, 8), (2, 4), (2, 2))
    >>> bool((res.objective <= res.restart_objectives.min(1).values + 1e-6).all())
    True
    """
    cfg = with_overrides(config or LatentSearchConfig(), **overrides)
    was_training = generator.training
    flags = [p.requires_grad for p in generator.parameters()]
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    try:
        latent_dim, shape = _check_inputs(generator, y, physics)
        spaces = generator.latent_spaces() if hasattr(generator, "latent_spaces") else {"z": None}
        if cfg.space not in spaces or cfg.space == "noise":
            searchable = tuple(k for k in spaces if k != "noise")
            raise ValueError(f"{type(generator).__name__} declares no latent space {cfg.space!r} to search: expected one of {searchable}"
                             + (" (its noise maps are searched beside another space, not yet offered)" if cfg.space == "noise" else ""))
        if cfg.sampling_space not in ("auto", "z") and cfg.sampling_space not in spaces:
            raise ValueError(f"{type(generator).__name__} declares no latent space {cfg.sampling_space!r} to sample in: "
                             f"use sampling_space 'z' (or 'auto')")
        with torch.enable_grad():
            if cfg.space != "z":  # the z search (lambda chosen unless given), then the search continues in that space
                result = (_chosen(generator, y.detach(), physics, dataclasses.replace(cfg, deviation="none"), latent_dim, shape)
                          if cfg.prior_weight is None else _search(generator, y.detach(), physics, cfg, latent_dim))
                result.x_map = result.x_hat
                lam = torch.tensor(result.choice["prior_weight"]) if result.choice else cfg.prior_weight
                result.x_hat, _ = search_space(y.detach(), physics, generator, result.z_hat, cfg.space, steps=cfg.space_steps,
                                               radius=cfg.space_radius, prior_weight=lam, tolerance=cfg.tolerance, patience=cfg.patience)
                return result
            if cfg.prior_weight is None or cfg.deviation == "auto" or (cfg.samples and cfg.sampling_noise == "heldout"):
                return _chosen(generator, y.detach(), physics, cfg, latent_dim, shape)
            result = _search(generator, y.detach(), physics, cfg, latent_dim)
            return refine(result, generator, y.detach(), physics, cfg)
    finally:
        for p, f in zip(generator.parameters(), flags):
            p.requires_grad_(f)
        generator.train(was_training)


def _restart_start(cfg: LatentSearchConfig, n: int, latent_dim: int, r: int) -> Tensor:
    r"""Where restart ``r`` of ``n`` searches starts: :math:`z^{(0)}\sim\mathcal N(0, I)` from seed ``cfg.seed + r``."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(cfg.seed + r))


def _search(generator: nn.Module, y: Tensor, physics, cfg: LatentSearchConfig, latent_dim: int, prior: Tensor | float | None = None,
            start: Tensor | None = None) -> LatentSearchResult:
    r"""The batched search; ``prior``: :math:`\lambda` (one, or one per measurement; default
    ``cfg.prior_weight``); ``start``: the latents ``(N, d)`` of a warm start, run as one more chain
    beside the restarts (the lowest objective wins)."""
    N = y.shape[0]
    R = cfg.restarts + (start is not None)
    y_rep = y.repeat(R, *([1] * (y.dim() - 1)))  # index r*N + i
    # restart r starts from seed + r: a run with R restarts contains the runs with 1 restart
    starts = [_restart_start(cfg, N, latent_dim, r) for r in range(cfg.restarts)]
    if start is not None:
        starts.append(start.detach().cpu())
    z = torch.cat(starts).to(device=y.device, dtype=y.dtype).requires_grad_(True)
    lam = torch.as_tensor(cfg.prior_weight if prior is None else prior, dtype=y.dtype, device=y.device).flatten()
    lam = (lam if lam.numel() == N else lam[:1].expand(N)).repeat(R)

    def objectives(zz: Tensor) -> Tensor:
        residual = _apply_operator(physics, generator(zz), R) - y_rep
        return residual.flatten(1).pow(2).sum(1) + lam * zz.pow(2).sum(1)

    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimizer]
    if cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam([z], lr=lr)
    else:
        opt = torch.optim.LBFGS([z], lr=lr, max_iter=1, history_size=20, line_search_fn="strong_wolfe")

    active = torch.ones(R * N, dtype=torch.bool, device=y.device)
    best_f = torch.full((R * N,), math.inf, device=y.device)
    best_z = z.detach().clone()
    stale = torch.zeros(R * N, dtype=torch.long, device=y.device)
    steps = torch.zeros(R * N, dtype=torch.long, device=y.device)

    record: list[Tensor] = []

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=False)
        f = objectives(z)
        f.sum().backward()
        z.grad[~active] = 0  # converged searches stay where they are (Adam and L-BFGS alike)
        record.append(f.detach())
        return f.sum()

    bar = tqdm(range(cfg.max_steps), desc="latent search", disable=not cfg.progress, leave=False)
    for _ in bar:
        before = z.detach().clone()
        record.clear()
        opt.step(closure)
        f = record[0]  # objectives at `before` (the first evaluation of the step)
        with torch.no_grad():
            z[~active] = before[~active]  # Adam's momentum must not move a stopped search
        steps += active.long()
        better = f < best_f
        best_z[better] = before[better]
        improved = f < best_f * (1 - cfg.tolerance)
        best_f = torch.minimum(best_f, f)
        stale = torch.where(improved, torch.zeros_like(stale), stale + 1)
        active &= stale < cfg.patience
        bar.set_postfix(objective=f"{best_f.view(R, N).min(0).values.mean().item():.4g}", active=int(active.sum()))
        if not active.any():
            break
    bar.close()

    with torch.no_grad():
        f = objectives(z.detach())
        better = f < best_f
        best_z[better] = z.detach()[better]
        final = objectives(best_z)  # recomputed: the objective of exactly what is returned
        per_restart = final.view(R, N)
        pick = per_restart.argmin(0)  # (N,)
        idx = pick * N + torch.arange(N, device=y.device)
        z_hat = best_z[idx]
        x_hat = generator(z_hat)
    return LatentSearchResult(x_hat=x_hat, z_hat=z_hat, objective=final[idx], restart_objectives=per_restart.T.contiguous(),
                              steps=steps.view(R, N).T.contiguous(), restart_z=best_z.view(R, N, -1).transpose(0, 1).contiguous())


def _chosen(generator: nn.Module, y: Tensor, physics, cfg: LatentSearchConfig, latent_dim: int, shape: tuple[int, ...]) -> LatentSearchResult:
    r"""The search with what is left to choice (``prior_weight=None``, ``deviation="auto"``) chosen
    per measurement from the measurements alone: a seeded ``holdout`` share of each :math:`y_i`'s
    entries is set aside; each candidate is fitted on the rest and scored by its error on the
    held-out entries, :math:`\|(1 - M)\odot(A\hat x - y)\|^2`; first :math:`\lambda`, then the
    deviation from the chosen :math:`\hat z`. Where one split holds out fewer than
    ``heldout_entries`` informative entries (few CS rows, a sparse inpainting mask, whose zero rows
    say nothing), :func:`~invgan.solvers.heldout.fold_count` disjoint splits are fitted and their
    held-out errors pooled (cross-validation). A candidate replaces the reference (:math:`\lambda` =
    :data:`REFERENCE_PRIOR_WEIGHT`, then no refinement) only when it wins by more than
    :func:`~invgan.solvers.heldout.standard_errors` standard errors of the paired per-entry
    differences, one for a single challenger and more for several, so that a chance win among many
    candidates on few noisy entries does not replace it. The choice is then fitted on every entry:
    the restarts again, and, where another weight won, a warm start from the first split's chosen
    :math:`\hat z` beside them (where the reference stands, the fit is plain CSGM's). Where a
    measurement has at most ``mean_share`` :math:`\cdot d` informative entries (:math:`d` the latent
    dimension), :math:`z` is far from pinned down and the MAP is one of many points that fit
    :math:`y`: its estimate is the posterior mean of ``mean_chains`` MALA chains (in
    ``sampling_space``: :math:`z`, or a Gaussianised :math:`w`; :math:`s = \max(\sigma, \text{held-out rms})`),
    not a refinement, and its ``refinement`` is ``"none"``. Elsewhere, where
    :math:`\sigma` is known (``deviation="auto"``), the range itself (of :math:`G`, or of its blocks
    after the ILO layer that won) is then left by construction, not by a held-out test (too few
    held-out pixels rank a refinement's gain at inpainting): a copy of :math:`G` is fine-tuned from
    the kept point :math:`v`, beside the kept sparse deviation :math:`\nu` if one won, until the
    discrepancy principle :math:`\|A(G(v) + \nu) - y\|^2 \le m\sigma^2` holds, which changes
    nothing where the fit already explains the measurements down to the noise.
    ``result.choice`` records it, the folds and the errors. (With few measurements, a sparse
    inpainting mask, the restart that fits 90 % of the entries best is often not the one that fits
    all of them best: hence the restarts again.)"""
    N = y.shape[0]
    g = torch.Generator().manual_seed(cfg.seed + 7919)
    u = torch.rand(y.shape, generator=g).to(device=y.device)
    informative = informative_entries(physics, shape, N, y.device)  # shape: G's image, from _check_inputs
    n_informative = informative.flatten(1).sum(1)
    folds = fold_count(n_informative, cfg.holdout, cfg.heldout_entries)  # (N,)
    K = int(folds.max())
    in_fold = [(u >= k * cfg.holdout) & (u < (k + 1) * cfg.holdout) for k in range(K)]
    keep = torch.cat([(~f).to(y.dtype) for f in in_fold])  # (K N, ...): fold k's fitting entries
    # the entries each measurement holds out: its first K_i folds, informative entries only
    counted = [f & informative & (k < folds).view(-1, *[1] * (y.dim() - 1)) for k, f in enumerate(in_fold)]
    fit, y_fit = Entries(physics, keep, groups=K), y.repeat(K, *[1] * (y.dim() - 1)) * keep

    def held_sq(x: Tensor) -> Tensor:  # squared errors on the held-out entries of every fold, 0 elsewhere, (N, entries)
        with torch.no_grad():
            return sum(((physics.A(xk) - y) * c).flatten(1).pow(2) for xk, c in zip(x.chunk(K), counted))

    held_flat = sum(c.flatten(1).to(y.dtype) for c in counted)
    lams = PRIOR_WEIGHTS if cfg.prior_weight is None else (cfg.prior_weight,)
    fits = [_search(generator, y_fit, fit, cfg, latent_dim, prior=lam) for lam in lams]
    sq = {f"prior_weight={lam:g}": held_sq(r.x_hat) for lam, r in zip(lams, fits)}
    errors = {k: v.sum(1) for k, v in sq.items()}
    ref = lams.index(REFERENCE_PRIOR_WEIGHT) if REFERENCE_PRIOR_WEIGHT in lams else 0
    pick = pick_candidate(list(sq.values()), ref, held_flat)
    lam = torch.tensor(lams, dtype=y.dtype, device=y.device)[pick]
    z_fit = torch.stack([f.z_hat for f in fits])[pick.repeat(K), torch.arange(K * N, device=y.device)]  # (K N, d)
    with torch.no_grad():
        x_fit = generator(z_fit[:N])
    known = cfg.noise_level if cfg.noise_level is not None else gaussian_sigma(physics)
    if known is not None:
        sigma = torch.full((N,), float(known), device=y.device)
    else:  # the rms residual of the first fold's fit on its own entries
        with torch.no_grad():
            k0 = keep[:N] * informative  # the fitting entries that carry the image (not an inpainting mask's zeros)
            sigma = (((physics.A(x_fit) - y) * k0).flatten(1).pow(2).sum(1) / k0.flatten(1).sum(1).clamp_min(1)).sqrt().clamp_min(1e-3)
    lo, hi = getattr(generator, "output_range", None) or (0.0, 1.0)
    n = x_fit[0].numel()
    devs = ("none",) if cfg.finetune or cfg.samples else AUTO_DEVIATIONS if cfg.deviation == "auto" else (cfg.deviation,)
    # few informative entries (at most mean_share * d): z is far from pinned down, so the posterior mean of z's chains
    low = (n_informative <= cfg.mean_share * latent_dim) & bool(cfg.mean_chains and cfg.deviation == "auto" and not (cfg.finetune or cfg.samples))
    if cfg.deviation == "auto" and not (cfg.finetune or cfg.samples) and not bool(low.all()):
        devs = devs + auto_layers(generator)
    elif bool(low.all()):
        devs = ("none",)
    none_sq = torch.stack(list(sq.values()))[pick, torch.arange(len(pick), device=pick.device)]
    dev_sq = {"none": none_sq}

    def refined(d: str, yy: Tensor, phys, z: Tensor) -> tuple[Tensor, tuple]:  # (x_hat, (the kept point, the deviation or None))
        lam_z = lam.repeat(z.shape[0] // N)
        if d.startswith("layer:"):
            x_l, v_l = search_space(yy, phys, generator, z, d, steps=cfg.space_steps, radius=cfg.space_radius, prior_weight=lam_z,
                                    tolerance=cfg.tolerance, patience=cfg.patience)
            return x_l, (v_l, None)
        x_d, z_d, nu = sparse_deviation(yy, phys, generator, z, d, deviation_weight(cfg.deviation_weight, sigma, n), steps=cfg.deviation_steps,
                                        prior_weight=lam_z, output_range=(lo, hi))
        return x_d, (z_d, nu)

    for d in devs:
        if d != "none":
            dev_sq[d] = held_sq(refined(d, y_fit, fit, z_fit)[0])
    names = [d for d in devs]
    dev_errors = {d: v.sum(1) for d, v in dev_sq.items()}
    dev_pick = pick_candidate([dev_sq[d] for d in names], names.index("none") if "none" in names else None, held_flat)
    if bool(low.any()):  # the posterior mean's rows keep no refinement (and are neither refined nor fine-tuned)
        dev_pick = torch.where(low.to(dev_pick.device), names.index("none"), dev_pick)
    # the warm start only where another lambda won: where the reference stands, its fit is plain CSGM's (the warm
    # chain repeats restart 0), never a different optimum of the same objective picked without evidence
    kept_ref = (pick == ref)[:, None].cpu()
    start = torch.where(kept_ref, _restart_start(cfg, N, latent_dim, 0), z_fit[:N].detach().cpu())
    result = _search(generator, y, physics, cfg, latent_dim, prior=lam, start=start)
    result.x_map, result.sigma = result.x_hat, sigma
    x_hat = result.x_hat.clone()
    points: dict[str, tuple] = {"none": (result.z_hat, None)}  # each refinement's point (and deviation), to fine-tune from
    for k, d in enumerate(names):
        chosen = dev_pick == k
        if d != "none" and bool(chosen.any()):
            x_hat_d, points[d] = refined(d, y, physics, result.z_hat)
            x_hat[chosen] = x_hat_d[chosen]
    # the generator's range (of z, or of the ILO layer that won; beside the sparse deviation that won) left where the
    # kept estimate does not explain y down to the noise: a copy of G fine-tuned until it does (the discrepancy principle)
    finetuned = torch.zeros(N, dtype=torch.long)
    if cfg.discrepancy_finetune and known is not None and cfg.deviation == "auto" and not (cfg.finetune or cfg.samples):
        for d, (v, nu) in points.items():
            rows = ((dev_pick == names.index(d)) & ~low).cpu().nonzero().flatten()
            if not len(rows):
                continue
            at = rows.to(y.device)
            space, inputs = (d, space_inputs(generator, d, result.z_hat[at])) if d.startswith("layer:") else ("z", {})
            x_hat[at], finetuned[rows] = finetune_generator(
                y[at], one_measurement(physics, N, rows), generator, v[at], steps=cfg.discrepancy_finetune, lr=cfg.finetune_lr,
                sigma=float(known), space=space, inputs=inputs, offset=None if nu is None else nu[at],
                output_range=None if nu is None else (lo, hi))
    heldout_rms = (none_sq.sum(1) / held_flat.sum(1).clamp_min(1)).sqrt()  # the kept lambda's misfit on the entries it did not see
    if bool(low.any()):
        _, mean, _, _ = latent_posterior(y, physics, generator, result.z_hat, sampling_std(sigma, heldout_rms, "heldout"), cfg.mean_chains,
                                         space=cfg.sampling_space, steps=cfg.sampling_steps, seed=cfg.seed)
        x_hat[low] = mean[low]
    result.x_hat = x_hat
    result.choice = {
        "rule": choice_rule(cfg, REFERENCE_PRIOR_WEIGHT, latent_dim),
        "posterior_mean": [bool(v) for v in low],
        "finetune_steps": [int(v) for v in finetuned],
        "folds": [int(v) for v in folds], "heldout_entries": [int(v) for v in held_flat.sum(1)],
        "heldout_rms": [float(v) for v in heldout_rms],
        "prior_weight": [float(v) for v in lam], "refinement": [names[k] for k in dev_pick.tolist()],
        "heldout_error": {**{k: [float(v) for v in e] for k, e in errors.items()},
                          **{(f"space={d}" if d.startswith("layer:") else f"deviation={d}"): [float(v) for v in dev_errors[d]]
                             for d in names if d != "none"}},
    }
    if cfg.finetune or cfg.samples:
        return refine(result, generator, y, physics, dataclasses.replace(cfg, prior_weight=float(lam.mean()), deviation="none"))
    return result


class LatentSearch(Reconstructor):
    r"""Latent search as a deepinv reconstructor: ``x_hat = model(y, physics)`` returns
    :math:`G(\hat z)` of :func:`latent_search` with the options given here.

    :param generator: :math:`G`, with a ``latent_dim`` attribute.
    :param config: a :class:`LatentSearchConfig`; keyword ``overrides`` replace its fields.

    The full result of the last call (latents, objectives, steps) is kept in ``self.result``.

    :Example:

    >>> import torch
    >>> from invgan.nets.generators import MLPGenerator
    >>> from invgan.physics import make_physics
    >>> from invgan.solvers import LatentSearch
    >>> _ = torch.manual_seed(0)
    >>> G = MLPGenerator(4, (1, 8, 8), (16,), output="sigmoid")
    >>> model = make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none")
    >>> search = LatentSearch(G, max_steps=20, restarts=1)
    >>> tuple(search(model.measure(torch.rand(2, 1, 8, 8)), model.physics).shape)
    (2, 1, 8, 8)
    """

    def __init__(self, generator: nn.Module, config: LatentSearchConfig | None = None, **overrides):
        super().__init__()
        self.generator = generator
        self.config = with_overrides(config or LatentSearchConfig(), **overrides)
        self.result: LatentSearchResult | None = None

    def forward(self, y: Tensor, physics, **kwargs) -> Tensor:
        r""":math:`\hat x`, shape ``(N, C, H, W)``; keyword arguments override config fields for this call."""
        self.result = latent_search(y, physics, self.generator, self.config, **kwargs)
        return self.result.x_hat
