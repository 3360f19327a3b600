r"""What latent search does after finding :math:`\hat z`, to get past the generator's range:

* :func:`sparse_deviation` (Sparse-Gen, Dhar et al. 2018): :math:`\hat x = G(z) + \nu` with
  :math:`\nu = B^\top c` sparse in an orthonormal basis :math:`B` (:mod:`invgan.solvers.bases`),

  .. math:: \min_{z, c}\; \|A(G(z) + B^\top c) - y\|^2 + \lambda\|z\|^2 + \mu\|c\|_1,

  :math:`z` by Adam and :math:`c` by proximal gradient steps (soft thresholding with step
  :math:`1/L`, :math:`L = 2\|A\|^2`), started from :math:`(\hat z, 0)`, the result clipped to the
  data range;
* :func:`finetune_generator` (Deep Generative Prior, Pan et al. 2020): a copy of :math:`G` per
  measurement, its layers unfrozen one block at a time from the input on, trained with
  :math:`z` on :math:`\|A G(z) - y\|^2` at a small step size and stopped by the discrepancy
  principle :math:`\|A G(z) - y\|^2 \le \tau m \sigma^2` when the noise level is known;
* posterior samples (MALA, :mod:`invgan.solvers.latent_sampling`), in :math:`z` or in a
  Gaussianised :math:`w`.

The generator passed in is never changed.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
from torch import Tensor, nn

from .bases import SeparableBasis
from .heldout import informative_entries
from .latent_sampling import chain_dim, chain_starts, chain_temperature, latent_posterior, sampling_std


def soft_threshold(c: Tensor, t: float | Tensor) -> Tensor:
    r"""The proximal map of :math:`t\|c\|_1`: :math:`\mathrm{sign}(c)\max(|c| - t, 0)`.

    >>> import torch
    >>> soft_threshold(torch.tensor([-3.0, -0.5, 0.2, 2.0]), 1.0).tolist()
    [-2.0, -0.0, 0.0, 1.0]
    """
    return torch.sign(c) * (c.abs() - t).clamp_min(0)


def gaussian_sigma(physics) -> float | None:
    """The std of a Gaussian noise model of ``physics`` (``None`` for another or no noise model)."""
    model = getattr(physics, "noise_model", None)
    sigma = getattr(model, "sigma", None)
    if sigma is None or type(model).__name__ != "GaussianNoise":
        return None
    return float(sigma.flatten()[0]) if isinstance(sigma, Tensor) else float(sigma)


def _operator_norm_squared(physics, x: Tensor) -> float:
    r""":math:`\|A\|^2`, by the power iteration of deepinv's ``compute_norm``, from a seeded start
    (never the global random state: a search's answer must not depend on what ran before it;
    deepinv draws the start from the global generator, so it runs inside a forked, seeded one)."""
    import warnings

    devices = [x.device] if x.device.type == "cuda" else []
    with torch.no_grad(), warnings.catch_warnings(), torch.random.fork_rng(devices=devices):
        warnings.simplefilter("ignore")  # "convergence not reached": a close estimate is enough (a 10 % margin is taken)
        torch.manual_seed(0)
        return 1.1 * float(physics.compute_norm(x, max_iter=50, tol=1e-3, verbose=False))  # the whole batch: per-sample operators


@torch.enable_grad()
def sparse_deviation(y: Tensor, physics, generator: nn.Module, z0: Tensor, basis: str, weight: float, *, steps: int = 300,
                     lr: float = 0.05, prior_weight: float | Tensor = 0.1, output_range: tuple[float, float] = (0.0, 1.0)) -> tuple[Tensor, Tensor, Tensor]:
    r"""Joint refinement of :math:`(z, c)` from :math:`(\hat z, 0)`; returns ``(x_hat, z, nu)`` with
    :math:`\hat x = \mathrm{clip}(G(z) + \nu)` and :math:`\nu = B^\top c`; ``prior_weight`` is
    :math:`\lambda`, one or one per measurement."""
    with torch.no_grad():
        x0 = generator(z0)
    B = SeparableBasis(basis, x0.shape[-2], x0.shape[-1], device=x0.device, dtype=x0.dtype)
    step = 1.0 / (2.0 * max(_operator_norm_squared(physics, x0), 1e-12))
    z = z0.detach().clone().requires_grad_(True)
    lam = torch.as_tensor(prior_weight, dtype=z.dtype, device=z.device).flatten()
    lam = lam if lam.numel() == z.shape[0] else lam[:1].expand(z.shape[0])
    c = torch.zeros_like(x0, requires_grad=True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        residual = physics.A(generator(z) + B.synthesis(c)) - y
        loss = residual.flatten(1).pow(2).sum() + (lam * z.pow(2).sum(1)).sum()
        gz, gc = torch.autograd.grad(loss, (z, c))
        z.grad = gz
        opt.step()
        with torch.no_grad():
            c.copy_(soft_threshold(c - step * gc, step * weight))
    with torch.no_grad():
        nu = B.synthesis(c)
        x_hat = (generator(z) + nu).clamp(*output_range)
    return x_hat, z.detach(), nu


def _blocks(net: nn.Module) -> list[nn.Module]:
    """The modules of ``net`` that hold parameters of their own, in the order they were defined
    (the order of the forward pass for the generators of :mod:`invgan.nets.generators`)."""
    return [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]


@torch.enable_grad()
def noise_std(x_hat: Tensor, y: Tensor, physics, given: float | None = None) -> Tensor:
    r"""Per-measurement noise std: ``given``, the physics' Gaussian noise, or the rms of the
    residual :math:`A\hat x - y` (at least 1e-3)."""
    known = given if given is not None else gaussian_sigma(physics)
    if known is not None:
        return torch.full((y.shape[0],), float(known), device=y.device)
    return residual_rms(physics, x_hat, y).clamp_min(1e-3)


def residual_rms(physics, x: Tensor, y: Tensor) -> Tensor:
    r"""Per measurement, :math:`\|Ax - y\|/\sqrt{m}` over its :math:`m` informative entries only (those that
    depend on the image: an inpainting mask's kept pixels; the others are 0 in :math:`y` and :math:`Ax` alike)."""
    with torch.no_grad():
        sq = (physics.A(x) - y).flatten(1).pow(2)
        m = informative_entries(physics, tuple(x.shape[1:]), x.shape[0], x.device).flatten(1).sum(1)
    return (sq.sum(1) / m.clamp_min(1)).sqrt()


def deviation_weight(given: float | None, sigma: Tensor, n: int) -> float:
    r""":math:`\mu` of a sparse deviation: ``given``, else :math:`2\sigma\sqrt{2\log n}` (the universal threshold of the gradient :math:`2A^\top r`)."""
    return given if given is not None else float(2 * sigma.mean() * math.sqrt(2 * math.log(n)))


def one_measurement(physics, n: int, index: Tensor | list[int] | None = None) -> Callable[[int], object]:
    """``physics_for(j)`` for :func:`finetune_generator`: the operator of measurement ``index[j]``
    alone (of ``j`` when ``index`` is ``None``), whatever the batch of ``physics`` (one or ``n``)."""
    rows = list(range(n)) if index is None else [int(i) for i in index]

    def physics_for(j: int):
        i = rows[j]

        class One:
            @staticmethod
            def A(x: Tensor) -> Tensor:
                return physics.A(x.expand(n, *x.shape[1:]))[i : i + 1]
        return One

    return physics_for


def finetune_generator(y: Tensor, physics_for: Callable[[int], object], generator: nn.Module, z0: Tensor, *, steps: int = 200,
                       lr: float = 1e-4, z_lr: float = 0.01, sigma: float | None = None, tau: float = 1.0, space: str = "z",
                       inputs: dict[str, Tensor] | None = None, offset: Tensor | None = None,
                       output_range: tuple[float, float] | None = None) -> tuple[Tensor, Tensor]:
    r"""Per measurement :math:`i`, a copy of :math:`G` fine-tuned with its latent :math:`v_i` on
    :math:`\|A (G_{\text{space}}(v) + \nu_i) - y_i\|^2`: ``steps`` split evenly over the blocks
    (:func:`_blocks`) that the output depends on from ``space``, block :math:`k`'s stage training
    blocks :math:`1..k`; stopped once the residual is :math:`\le \tau\, m\, \sigma^2` when ``sigma``
    is known, :math:`m` the informative entries of :math:`y_i` (an inpainting mask's kept pixels).
    ``space`` is ``"z"`` (:math:`v = z`, Deep Generative Prior) or one of ``G.latent_spaces()``
    (``layer:l`` after ILO: only the blocks after layer :math:`l`), with the fixed ``inputs`` it needs
    (batched like ``z0``); ``offset`` is a fixed sparse deviation :math:`\nu` (0 if ``None``), and
    ``output_range`` clips the answer (as :func:`sparse_deviation` does). ``physics_for(i)`` is the
    operator of measurement :math:`i`. Returns ``(x_hat, steps run)``."""
    outs, ran = [], []
    for i in range(y.shape[0]):
        G = copy.deepcopy(generator).eval()
        for p in G.parameters():
            p.requires_grad_(False)
        fixed = {k: v[i : i + 1] for k, v in (inputs or {}).items()}
        nu = 0.0 if offset is None else offset[i : i + 1].detach()

        def forward(v: Tensor) -> Tensor:
            return (G(v) if space == "z" else G.from_space(space, v, **fixed)) + nu

        z = z0[i : i + 1].detach().clone().requires_grad_(True)
        yi, physics = y[i : i + 1], physics_for(i)
        blocks = _blocks(G) if space == "z" else _blocks_reached(G, lambda: physics.A(forward(z)).sum())
        with torch.no_grad():
            m = int(informative_entries(physics, tuple(forward(z).shape[1:]), 1, y.device).sum())
        target = tau * m * sigma**2 if sigma is not None else -math.inf  # m: the entries that carry the image (and the noise)
        opt = torch.optim.Adam([{"params": [z], "lr": z_lr}], lr=lr)
        per_stage = max(1, steps // max(1, len(blocks)))
        done = 0
        for k, block in enumerate(blocks):
            params = [p for p in block.parameters(recurse=False)]
            for p in params:
                p.requires_grad_(True)
            opt.add_param_group({"params": params, "lr": lr})
            stage = per_stage if k < len(blocks) - 1 else steps - done
            for _ in range(max(stage, 0)):
                loss = (physics.A(forward(z)) - yi).pow(2).sum()
                if float(loss.detach()) <= target:
                    break
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += 1
            else:
                continue
            break
        with torch.no_grad():
            outs.append(forward(z) if output_range is None else forward(z).clamp(*output_range))
        ran.append(done)
    return torch.cat(outs), torch.tensor(ran)


@torch.enable_grad()
def _blocks_reached(net: nn.Module, objective: Callable[[], Tensor]) -> list[nn.Module]:
    """The blocks of ``net`` (:func:`_blocks`) whose own parameters ``objective()`` depends on
    (one backward pass with every parameter trainable); ``requires_grad`` is left off again."""
    blocks = _blocks(net)
    params = list(net.parameters())
    for p in params:
        p.requires_grad_(True)
    grads = torch.autograd.grad(objective(), params, allow_unused=True)
    reached = {id(p) for p, g in zip(params, grads) if g is not None}
    for p in params:
        p.requires_grad_(False)
    return [b for b in blocks if any(id(p) in reached for p in b.parameters(recurse=False))]


def refine(result, generator: nn.Module, y: Tensor, physics, cfg):
    """The refinements of this module that ``cfg`` (a :class:`~invgan.solvers.latent.LatentSearchConfig`) asks for, after the
    search that gave ``result`` (a :class:`~invgan.solvers.latent.LatentSearchResult`, updated and returned)."""
    if cfg.deviation == "none" and not cfg.finetune and not cfg.samples:
        return result
    result.x_map = result.x_hat
    sigma = noise_std(result.x_hat, y, physics, cfg.noise_level)
    result.sigma = sigma
    lo, hi = getattr(generator, "output_range", None) or (0.0, 1.0)
    if cfg.deviation != "none":
        n = result.x_hat[0].numel()
        weight = deviation_weight(cfg.deviation_weight, sigma, n)
        result.x_hat, result.z_hat, _ = sparse_deviation(y, physics, generator, result.z_hat, cfg.deviation, weight, steps=cfg.deviation_steps,
                                                         prior_weight=cfg.prior_weight, output_range=(lo, hi))
    if cfg.finetune:
        known = cfg.noise_level if cfg.noise_level is not None else gaussian_sigma(physics)
        result.x_hat, _ = finetune_generator(y, one_measurement(physics, y.shape[0]), generator, result.z_hat, steps=cfg.finetune,
                                             lr=cfg.finetune_lr, sigma=known)
    if cfg.samples:
        rms = (torch.tensor(result.choice["heldout_rms"], device=y.device) if cfg.sampling_noise == "heldout"  # from the held-out choice
               else residual_rms(physics, result.x_map, y))
        result.sampling_std = sampling_std(sigma, rms, cfg.sampling_noise)
        temperature = None  # restarts: chains in different modes, weighted by exp(-mean energy / T)
        if cfg.sampling_start == "restarts":
            m = informative_entries(physics, tuple(result.x_hat.shape[1:]), y.shape[0], y.device).flatten(1).sum(1)
            temperature = chain_temperature(m, sigma, result.sampling_std, chain_dim(generator, cfg.sampling_space)).to(y.device)
        starts = chain_starts(result.z_hat, cfg.samples, cfg.sampling_start, result.restart_z, result.restart_objectives)
        samples, mean, std, rate = latent_posterior(y, physics, generator, starts, result.sampling_std, cfg.samples,
                                                    space=cfg.sampling_space, steps=cfg.sampling_steps, seed=cfg.seed,
                                                    temperature=temperature)
        result.samples, result.mean, result.std, result.acceptance, result.x_hat = samples, mean, std, rate, mean
    return result


def project_l1_ball(v: Tensor, center: Tensor, radius: Tensor) -> Tensor:
    r"""The Euclidean projection of each sample of ``v`` onto the :math:`\ell_1` ball
    :math:`\{u : \|u - c\|_1 \le r\}` (``radius`` per sample), by soft thresholding at the
    :math:`\theta \ge 0` that puts the point on the sphere (Duchi et al. 2008's sort).

    >>> import torch
    >>> project_l1_ball(torch.tensor([[3.0, -1.0]]), torch.zeros(1, 2), torch.tensor([2.0])).abs().tolist()
    [[2.0, 0.0]]
    """
    d = (v - center).flatten(1)
    inside = d.abs().sum(1) <= radius
    a = d.abs().sort(1, descending=True).values
    cum = a.cumsum(1) - radius[:, None]
    k = torch.arange(1, a.shape[1] + 1, device=v.device, dtype=v.dtype)
    rho = ((a - cum / k) > 0).sum(1).clamp_min(1)  # the number of coordinates left nonzero
    theta = (cum.gather(1, (rho - 1)[:, None]) / rho[:, None].to(v.dtype)).clamp_min(0)
    projected = torch.sign(d) * (d.abs() - theta).clamp_min(0)
    out = torch.where(inside[:, None], d, projected)
    return center + out.view_as(v)


#: which space a generator input of that name comes from (StyleGAN2's layer spaces take ``wplus``)
NEED_SPACES = {"wplus": "w+"}


def space_inputs(generator: nn.Module, space: str, z: Tensor) -> dict[str, Tensor]:
    """The fixed inputs that running ``generator`` from ``space`` needs besides the point itself
    (``wplus`` for StyleGAN2's layers), those of the latents ``z``, without gradients."""
    spec = generator.latent_spaces()[space]
    with torch.no_grad():
        return {k: generator.to_space(NEED_SPACES.get(k, k), z) for k in spec.needs if k not in spec.optional}


@torch.enable_grad()
def search_space(y: Tensor, physics, generator: nn.Module, z0: Tensor, space: str, *, steps: int = 300, lr: float = 0.01,
                 radius: float = 0.2, prior_weight: float | Tensor = 0.1, tolerance: float = 1e-4, patience: int = 25) -> tuple[Tensor, Tensor]:
    r"""Continue the search in another space of the generator (``G.latent_spaces()``) from
    :math:`v_0 = \mathrm{to\_space}(\hat z)`, with Adam on :math:`\|A\,G_{\text{space}}(v) - y\|^2`
    plus the space's prior:

    * ``layer:l`` (Intermediate Layer Optimisation, Daras et al. 2021): :math:`v` kept in the
      :math:`\ell_1` ball of radius ``radius`` :math:`\cdot\|v_0\|_1` around :math:`v_0`, the point
      of the earlier layers' range the z search found (:func:`project_l1_ball` after each step);
    * ``w`` / ``w+`` (StyleGAN2): :math:`\lambda\|w - \bar w\|^2` around the running average
      :math:`\bar w` (``w_avg``), and for ``w+`` the cross term :math:`\lambda \operatorname{mean}_{l<l'}\|w_l - w_{l'}\|^2`
      that keeps the layer styles together (PULSE).

    Inputs a space needs (``wplus`` for StyleGAN2's layers) are those of :math:`\hat z`, held fixed.
    Each search keeps its best iterate and stops when its objective has not improved by a relative
    ``tolerance`` for ``patience`` steps (at most ``steps``). Returns ``(x_hat, v)``."""
    with torch.no_grad():
        v0 = generator.to_space(space, z0)
    inputs = space_inputs(generator, space, z0)
    lam = torch.as_tensor(prior_weight, dtype=z0.dtype, device=z0.device).flatten()
    lam = lam if lam.numel() == z0.shape[0] else lam[:1].expand(z0.shape[0])
    center = v0.detach()
    ball = radius * center.flatten(1).abs().sum(1)
    v = center.clone().requires_grad_(True)
    opt = torch.optim.Adam([v], lr=lr)
    w_avg = getattr(generator, "w_avg", None)
    B = v.shape[0]
    best_f, best_v = torch.full((B,), math.inf, device=v.device), center.clone()
    stale = torch.zeros(B, dtype=torch.long, device=v.device)
    active = torch.ones(B, dtype=torch.bool, device=v.device)
    for _ in range(steps + 1):  # the last pass only scores the last step
        residual = physics.A(generator.from_space(space, v, **inputs)) - y
        loss = residual.flatten(1).pow(2).sum(1)
        if space in ("w", "w+") and w_avg is not None:
            loss = loss + lam * (v - w_avg).flatten(1).pow(2).sum(1)
            if space == "w+" and v.shape[1] > 1:
                diff = (v[:, :, None] - v[:, None]).pow(2).sum(-1)  # (B, L, L)
                loss = loss + lam * diff.sum((1, 2)) / (v.shape[1] * (v.shape[1] - 1))
        elif space == "z":
            loss = loss + lam * v.pow(2).sum(1)
        with torch.no_grad():  # each search keeps its best iterate and stops on its own, as the z search does
            f = loss.detach()
            better = f < best_f
            best_v[better] = v.detach()[better]
            stale = torch.where(f < best_f * (1 - tolerance), torch.zeros_like(stale), stale + 1)
            best_f = torch.minimum(best_f, f)
            active &= stale < patience
        if _ == steps or not active.any():
            break
        opt.zero_grad()
        loss.sum().backward()
        v.grad[~active] = 0
        before = v.detach().clone()
        opt.step()
        with torch.no_grad():
            v[~active] = before[~active]  # Adam's momentum must not move a stopped search
            if space.startswith("layer:"):
                v.copy_(project_l1_ball(v, center, ball))
    v = best_v
    with torch.no_grad():
        return generator.from_space(space, v, **inputs), v.detach()
