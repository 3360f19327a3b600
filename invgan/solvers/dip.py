r"""Deep image prior: fit an untrained generator to one measurement through the operator.

For a measurement :math:`y = \mathcal{N}(A x)` the solver minimises

.. math::

    \min_\theta \ \frac{1}{m}\,\big\|A\,R_\theta(z + \eta_t) - y\big\|_2^2,
    \qquad \eta_t \sim \mathcal{N}(0, \sigma_z^2 I),

with Adam from fresh weights :math:`\theta_0`, a fixed random input :math:`z` and
optional input noise :math:`\eta_t` (Ulyanov et al. 2018); on a noisy problem the loss also holds
:math:`\lambda\,\mathrm{TV}(R_\theta(z + \eta_t))` with :math:`\lambda = \kappa\sigma^2` (``tv``
:math:`=\kappa`; Liu et al. 2019).  The estimate is the
exponential average :math:`\bar x_t = \beta \bar x_{t-1} + (1-\beta) R_{\theta_t}(z)`.

The run stops without ground truth.  The rule depends on whether the problem is
noisy, because only a noisy problem can be over-fitted (``stop="auto"``):

* noise level :math:`\sigma > 0` known (from the physics' noise model or the
  config) or estimated: the **discrepancy principle**, stop at the first step with

  .. math:: r_t = \frac{1}{m}\|A\bar x_t - y\|_2^2 \le \tau\,\sigma^2 ;

* noiseless (:math:`\sigma = 0`): a **convergence test** on the averaged output,
  stop once the mean relative change

  .. math:: c_t = \frac{\|\bar x_t - \bar x_{t-1}\|_2}{\|\bar x_t\|_2}

  over the last ``window`` :math:`W` steps is below ``tolerance``, or once the drift

  .. math:: d_t = \frac{\|\bar x_t - \bar x_{t-W}\|_2}{W\,\|\bar x_t\|_2} \le \frac1W\sum_{w<W} c_{t-w}

  is below ``drift_tolerance``.  Where the input is perturbed every step, :math:`\bar x_t` jitters
  and the mean change stays above its threshold long after the estimate has settled; the jitter
  cancels in the drift, which measures only the net motion.  Where entries are withheld (the blend,
  ``holdout``) and ``heldout_gate`` :math:`g > 0`, the test waits as well until the least error on them,
  :math:`e^\star_t`, fell by less than :math:`g` over the last ``patience`` :math:`P` steps,
  :math:`e^\star_t > (1-g)\,e^\star_{t-P}` (for smooth images, where the estimate settles early
  while the fit still improves);
* noise model unknown and :math:`\sigma` not estimable: the windowed moving
  variance of the outputs (ES-WMV, Wang et al. 2021),

  .. math::

      \mathrm{VAR}_t = \frac{1}{W}\sum_{w=0}^{W-1}
      \Big\| x_{t-w} - \frac{1}{W}\sum_{v=0}^{W-1} x_{t-v} \Big\|_2^2 / n,

  returning :math:`\bar x_{t^\star}` at :math:`t^\star = \arg\min_t \mathrm{VAR}_t`
  once the variance made no relative progress ``wmv_tolerance`` for ``patience`` steps.

``stop="heldout"`` (with ``holdout`` :math:`=h > 0`) withholds a share :math:`h` of the measured
entries from the fit and returns :math:`\bar x_{t^\star}` with the least error on them, once it has not
fallen for ``patience`` steps. Where a noisy run withholds entries anyway (the denoising blend, or
``holdout``), ``heldout_check`` :math:`=z` returns instead the averaged estimate of least error on them
where :func:`~invgan.solvers.stopping.heldout_beats_stop` finds it better than the rule's beyond the
noise, :math:`e_d - e_h > 2z\sigma\|(A\bar x_d - A\bar x_h)_S\|`.

A batch of :math:`N` measurements is solved as :math:`N` independent problems
(one network, one Adam state and one stop each) in one loop; a sample whose rule has fired is not
fitted further.  With ``tile`` :math:`T > 0` (by default for denoising images with a side over 128) each
image is cut into overlapping tiles solved the same way (:mod:`invgan.solvers.dip_tiles`).  The stopping
rules are :class:`StopRule` objects fed with per-step statistics, so that a
run recorded with ``stop="none"`` can be replayed offline (:func:`replay_stop`)
and gives exactly the step the online rule would have chosen.
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from typing import Any, Callable, Mapping

import torch
from deepinv.models import Reconstructor
from torch import Tensor, nn

from invgan.memory import release_free_memory
from invgan.nets.dip import ConvDecoder, SkipNet, dip_input, make_dip_net
from invgan.options import with_overrides
from invgan.physics import consistency_supported, enforce_consistency
from invgan.precision import autocast_dtype, describe_precision, resolve_precision

from .dip_choice import AUTO_HOLDOUT, blend_weight, blend_with_classical, choose_network, draw_withheld, network_candidates, resolve_blend
from .dip_config import DIPConfig
from .dip_heldout import check_heldout, holdout_split, track_least
from .dip_result import DIPResult
from .dip_tiles import default_tile, fitted_shape, needs_tiles, tiled_deep_image_prior
from .stopping import STOP_RULES, StepStats, StopRule, estimate_noise_sigma, noise_level, replay_stop, resolve_rules

#: steps between returns of freed memory to the system: without them a long CPU run grows in resident memory
_TRIM_EVERY = 50


# ---------------------------------------------------------------- solver


def _reset_parameters(net: nn.Module) -> None:
    for module in net.modules():
        if module is not net and hasattr(module, "reset_parameters"):
            module.reset_parameters()


def _image_shape(y: Tensor, physics) -> tuple[int, int, int]:
    """The image shape :math:`(C, H, W)` of :math:`A^\\top y`; a clear error if ``y`` does not fit."""
    try:
        with torch.no_grad():
            x0 = physics.A_adjoint(y[:1])
    except (RuntimeError, ValueError, IndexError) as e:
        raise ValueError(f"measurement of shape {tuple(y.shape)} does not fit the operator {type(physics).__name__}: {e}") from e
    if x0.dim() != 4:
        raise ValueError(f"the operator maps the measurement to shape {tuple(x0.shape)}: expected (N, C, H, W) images")
    return tuple(x0.shape[1:])  # type: ignore[return-value]


#: :math:`\sigma_z` of ``input_noise=None`` for super-resolution: the DIP paper's value, and on the
#: suite's x4 problems (128², noiseless) the change that put DIP above TV (docs/dip.md)
SR_INPUT_NOISE = 0.03
#: the same for denoising (the paper's 1/30): on the suite at sigma = 25/255, DIP went from +0.36 dB
#: over TV to +1.48 (camera, coins: where it was chosen) and +2.82 (the six others)
DENOISING_INPUT_NOISE = 0.033


def default_input_noise(physics) -> float:
    r"""The input perturbation :math:`\sigma_z` of ``input_noise=None``: :data:`SR_INPUT_NOISE` for
    :class:`deepinv.physics.Downsampling` and :data:`DENOISING_INPUT_NOISE` for
    :class:`deepinv.physics.Denoising` (a fresh :math:`z + \sigma_z\epsilon` every step slows the
    fitting of aliasing and noise, so the network learns the image's detail first), else 0
    (inpainting was tuned without it, and the convergence test that stops it does not fire with it).

    >>> from invgan.physics import make_physics
    >>> default_input_noise(make_physics("downsampling", (1, 16, 16), factor=4).physics)
    0.03
    >>> default_input_noise(make_physics("denoising", (1, 16, 16)).physics)
    0.033
    >>> default_input_noise(make_physics("inpainting", (1, 16, 16), keep=0.5).physics)
    0.0
    """
    import deepinv.physics as dphys

    if isinstance(physics, dphys.Downsampling):
        return SR_INPUT_NOISE
    return DENOISING_INPUT_NOISE if isinstance(physics, dphys.Denoising) else 0.0


def resolve_consistency(mode: str, physics) -> str:
    r"""The consistency step a run applies to its returned estimate: ``"auto"`` is ``"wiener"``
    where :func:`~invgan.physics.enforce_consistency` accepts the operator, else ``"none"``; a step
    named for an operator that does not allow it is an error before any fitting.

    Without noise ``"wiener"`` is the projection :math:`\hat x + A^\dagger(y - A\hat x)` onto
    :math:`\{x : Ax = y\}`, which holds the true image, so it can only bring :math:`\hat x`
    closer to it; at the discrepancy stop of a noisy run :math:`r^2 \le \tau\sigma^2 < \sigma^2`
    and it changes nothing. :math:`\sigma` is the noise level the stopping rule uses (given, the
    physics', or estimated from :math:`y`, as for a Poisson noise model); where it is unknown the
    step leaves the estimate alone."""
    if mode == "auto":
        return "wiener" if consistency_supported(physics) else "none"
    if mode != "none" and not consistency_supported(physics):
        raise ValueError(f"consistency={mode!r} needs an inpainting, downsampling or compressed-sensing operator, "
                         f"got {type(physics).__name__}: use consistency='none' or 'auto'")
    return mode


def build_net(cfg: DIPConfig, img_shape: tuple[int, int, int]) -> ConvDecoder | SkipNet:
    """The network ``cfg`` describes, for images of shape ``(C, H, W)`` (``net="auto"``: the skip net;
    :func:`deep_image_prior` chooses between :func:`network_candidates` instead)."""
    if cfg.net == "auto":
        cfg = with_overrides(cfg, net="skip")
    extra: dict[str, Any] = {"in_size": (min(cfg.in_size, img_shape[1]), min(cfg.in_size, img_shape[2]))} if cfg.net == "convdecoder" else {}
    return make_dip_net(cfg.net, img_shape, depth=cfg.depth, channels=cfg.channels, upsampling=cfg.upsampling, **extra)


def _windowed_variance(window: deque) -> Tensor:
    """Per-sample mean over pixels of the variance over the window, shape ``(N,)``."""
    stack = torch.stack(tuple(window))  # (W, N, C, H, W)
    return stack.var(dim=0, unbiased=False).flatten(1).mean(1)


def total_variation(x: Tensor) -> Tensor:
    r"""Anisotropic total variation per pixel, per sample ``(N,)``:
    :math:`\mathrm{TV}(x) = \frac1n\sum_i |(D_h x)_i| + |(D_v x)_i|`, with deepinv's finite
    differences (:meth:`deepinv.models.TVDenoiser.nabla`).  The anisotropic form keeps its
    gradient finite where the image is flat, where the isotropic norm's is not."""
    from deepinv.models import TVDenoiser

    return TVDenoiser.nabla(x).abs().flatten(1).sum(1) / x[0].numel()


def _per_sample_mse(a: Tensor) -> Tensor:
    return a.pow(2).flatten(1).mean(1)


def _fresh_nets(template: nn.Module, n: int, device: torch.device) -> list[nn.Module]:
    nets = []
    for _ in range(n):
        m = copy.deepcopy(template).to(device).train()
        _reset_parameters(m)
        m.requires_grad_(True)
        nets.append(m)
    return nets


def deep_image_prior(
    y: Tensor,
    physics,
    net: nn.Module | None = None,
    config: DIPConfig | Mapping[str, Any] | None = None,
    *,
    reference: Tensor | None = None,
    withheld: Tensor | None = None,
    **overrides: Any,
) -> DIPResult:
    r"""Reconstruct :math:`x` from :math:`y = \mathcal{N}(Ax)` with a deep image prior.

    :param y: measurements ``(N, ...)``: ``N`` independent problems.
    :param physics: a :class:`deepinv.physics.Physics` (e.g. ``make_physics(...).physics``).
    :param net: an untrained generator with ``input_shape()``; it is copied and re-initialised
        for every sample, so re-running always starts from fresh weights.  ``None``: built
        from ``config``.
    :param config: a :class:`DIPConfig` or a dict of its fields.
    :param reference: ground truth ``(N, C, H, W)`` for the PSNR history only (never used to stop).
    :param withheld: entries of ``y`` (boolean, ``y``'s shape) to withhold from the fit and score every
        step, instead of a random ``holdout`` share of them (:func:`choose_network` gives every candidate
        the same ones).
    :param overrides: :class:`DIPConfig` fields that replace those of ``config``
        (e.g. ``max_steps=500, progress=False``).
    """
    from deepinv.loss.metric import PSNR
    from tqdm.auto import tqdm

    cfg = config if isinstance(config, DIPConfig) else DIPConfig.from_dict(config or {})
    if overrides:
        cfg = with_overrides(cfg, **overrides)
    if not isinstance(y, Tensor) or y.dim() < 2:
        raise ValueError(f"y must be a batched tensor (N, ...), got {type(y).__name__} of shape {getattr(y, 'shape', None)}")
    y = y.detach()
    n_samples = y.shape[0]
    img_shape = _image_shape(y, physics)
    if reference is not None:
        reference = reference.detach().to(y.device)
        if reference.dim() == 3:
            reference = reference[None]
        if tuple(reference.shape) != (n_samples, *img_shape):
            raise ValueError(f"reference of shape {tuple(reference.shape)} does not match the images {(n_samples, *img_shape)}")
    if cfg.tile is None:  # a network passed in was built for the whole image
        cfg = with_overrides(cfg, tile=0 if net is not None else default_tile(physics, img_shape))
    if needs_tiles(cfg, img_shape, physics):
        return tiled_deep_image_prior(y, physics, net, cfg, img_shape, reference=reference, withheld=withheld)
    if resolve_blend(cfg.blend, physics) == "classical":
        return blend_with_classical(y, physics, net, cfg, reference=reference, withheld=withheld)
    if net is None and cfg.net == "auto":
        return choose_network(y, physics, cfg, reference=reference, withheld=withheld)
    if cfg.input_noise is None:
        cfg = with_overrides(cfg, input_noise=default_input_noise(physics))
    precision = resolve_precision(cfg.precision, y.device)
    cast = autocast_dtype(precision)
    sigma = noise_level(physics, y, cfg.noise_sigma)
    rules = resolve_rules(cfg.stop, sigma)
    tv_weight = (cfg.tv * torch.nan_to_num(sigma, nan=0.0) ** 2).to(y.device)  # lambda_i = kappa sigma_i^2 (0 where unknown)
    tv_on = bool((tv_weight > 0).any())
    need_variance = cfg.stop == "none" or "wmv" in rules
    consistency = resolve_consistency(cfg.consistency, physics)

    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
    saved_rng = torch.get_rng_state() if cfg.seed is not None else None  # restored at the end: the caller's stream is left alone
    if cfg.seed is not None:
        torch.manual_seed(cfg.seed)

    try:
        if net is None:
            template: nn.Module = build_net(cfg, img_shape)
        else:
            template = net
            if not hasattr(template, "input_shape"):
                raise ValueError("net must expose input_shape() giving the (C, H, W) shape of its random input")
        layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
        nets = [m.to(memory_format=layout) for m in _fresh_nets(template, n_samples, y.device)]
        z = dip_input(nets[0], n_samples, generator=gen).to(y.device)
        if z.dim() == 4:
            z = z.contiguous(memory_format=layout)
        with torch.no_grad():
            probe = nets[0](z[:1])
        if tuple(probe.shape[1:]) != img_shape:
            raise ValueError(f"the network outputs images of shape {tuple(probe.shape[1:])}, the operator expects {img_shape}")
        optimizers = [torch.optim.Adam(m.parameters(), lr=cfg.lr) for m in nets]
        if withheld is not None:
            if tuple(withheld.shape) != tuple(y.shape):
                raise ValueError(f"withheld must have y's shape {tuple(y.shape)}, got {tuple(withheld.shape)}")
            held = withheld.to(device=y.device, dtype=y.dtype)
            weight: Tensor | float = 1.0 - held
        else:
            weight, held = holdout_split(physics, y, img_shape, cfg.holdout, gen)
        psnr = PSNR(max_pixel=1.0) if reference is not None else None
        stop_rule = StopRule(cfg, rules, sigma)

        def snapshot(i: int) -> dict[str, Any]:
            return {"net": copy.deepcopy(nets[i].state_dict()), "opt": copy.deepcopy(optimizers[i].state_dict())}

        checkpoints = [snapshot(i) for i in range(n_samples)]
        checkpoint_loss = torch.full((n_samples,), math.inf)
        lr_scale = [1.0] * n_samples
        hist: dict[str, list] = {"loss": [], "residual": [], "change": [], "drift": [], "variance": [], "heldout": [], "psnr": [], "time": []}
        window: deque = deque(maxlen=cfg.window)
        past: deque = deque(maxlen=cfg.window + 1)  # the averaged estimates of the last window steps, for the drift
        ema: Tensor | None = None
        chosen_x: Tensor | None = None
        check = held is not None and cfg.heldout_check > 0 and bool((torch.nan_to_num(sigma) > 0).any())
        least = (torch.full((n_samples,), math.inf), [0] * n_samples, None)  # withheld error, step, estimate (heldout_check)
        backtracks = 0
        start = time.perf_counter()
        bar = tqdm(range(1, cfg.max_steps + 1), disable=not cfg.progress, desc="dip", leave=False)
        step = 0
        device_type = "cpu" if y.device.type == "cpu" else y.device.type
        for step in bar:
            stopped = stop_rule.done.clone()
            z_in = z + cfg.input_noise * torch.randn(z.shape, generator=gen).to(z.device) if cfg.input_noise > 0 else z
            if z_in.dim() == 4:
                z_in = z_in.contiguous(memory_format=layout)
            with torch.autocast(device_type, dtype=cast or torch.bfloat16, enabled=cast is not None):
                # a sample whose rule has fired is not fitted further: its estimate is chosen, its averaged output held
                outs = [ema[i : i + 1] if stopped[i] else nets[i](z_in[i : i + 1]) for i in range(n_samples)]
            x = torch.cat(outs).float()
            fit = _per_sample_mse(physics.A(x) - y if held is None else (physics.A(x) - y) * weight)
            objective = fit + tv_weight * total_variation(x) if tv_on else fit
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            objective.sum().backward()

            losses = fit.detach().cpu()
            objectives = objective.detach().cpu()
            jumped = ~torch.isfinite(objectives)
            if cfg.backtrack_factor > 0:
                jumped |= objectives > cfg.backtrack_factor * checkpoint_loss
            jumped &= ~stopped
            for i in range(n_samples):
                if stopped[i]:
                    continue
                if jumped[i]:  # restore the last good weights with half the step size, skip this update
                    nets[i].load_state_dict(checkpoints[i]["net"])
                    optimizers[i].load_state_dict(checkpoints[i]["opt"])
                    lr_scale[i] *= 0.5  # replaying the same steps would jump again
                    for group in optimizers[i].param_groups:
                        group["lr"] = cfg.lr * lr_scale[i]
                    backtracks += 1
                else:
                    if step % cfg.checkpoint_every == 0:  # the weights that gave this loss, before the update
                        checkpoints[i] = snapshot(i)
                        checkpoint_loss[i] = objectives[i]
                    optimizers[i].step()
            x = x.detach()
            if bool(jumped.any()) and ema is not None:  # a jumped output is not averaged in
                x = torch.where(jumped.view(-1, 1, 1, 1).to(x.device), ema, x)
            previous = ema
            ema = x.clone() if ema is None or cfg.ema == 0 else cfg.ema * ema + (1 - cfg.ema) * x
            with torch.no_grad():
                error = physics.A(ema) - y
                if held is None:
                    residual, heldout = _per_sample_mse(error).cpu(), None
                else:  # the mean over the entries fitted, and over those withheld
                    residual = ((error.pow(2) * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1)).cpu()
                    heldout = ((error.pow(2) * held).flatten(1).sum(1) / held.flatten(1).sum(1).clamp_min(1)).cpu()
            change = (
                torch.full((n_samples,), math.inf) if previous is None
                else ((ema - previous).flatten(1).norm(dim=1) / ema.flatten(1).norm(dim=1).clamp_min(1e-12)).cpu()
            )
            past.append(ema)
            drift = torch.full((n_samples,), math.nan)
            if len(past) > cfg.window:
                drift = ((ema - past[0]).flatten(1).norm(dim=1) / (cfg.window * ema.flatten(1).norm(dim=1).clamp_min(1e-12))).cpu()
            variance = torch.full((n_samples,), math.nan)
            if need_variance:
                window.append(x)
                if len(window) == cfg.window:
                    variance = _windowed_variance(window).cpu()
            for key, value in (("loss", losses), ("residual", residual), ("change", change), ("drift", drift), ("variance", variance),
                               ("heldout", heldout if heldout is not None else torch.full((n_samples,), math.nan))):
                hist[key].append(value)

            if check and not bool(stop_rule.done.all()):
                least = track_least(least, heldout, step, ema, stop_rule.done)
            if not bool(stop_rule.done.all()):
                keep = stop_rule.update(StepStats(step, losses, residual, change, variance, drift, heldout))
                if bool(keep.any()):
                    mask = keep.view(-1, 1, 1, 1).to(ema.device)
                    chosen_x = ema.clone() if chosen_x is None else torch.where(mask, ema, chosen_x)
            postfix = {"loss": f"{float(losses.mean()):.2e}"}
            if psnr is not None:
                p = psnr(ema.clamp(0, 1), reference).detach().cpu().flatten()
                hist["psnr"].append(p)
                postfix["psnr"] = f"{float(p.mean()):.2f}"
            if cfg.progress:
                bar.set_postfix(postfix, refresh=False)
            if step % _TRIM_EVERY == 0:
                release_free_memory()  # the freed pages the steps leave behind (invgan.memory)
            hist["time"].append(time.perf_counter() - start)
            if cfg.stop != "none" and bool(stop_rule.done.all()):
                break
        bar.close()
    finally:
        if cfg.threads:
            torch.set_num_threads(old_threads)
        if saved_rng is not None:
            torch.set_rng_state(saved_rng)

    stop_rule.finish(step)
    x_hat = chosen_x if chosen_x is not None else ema
    if check and least[2] is not None:
        x_hat = check_heldout(physics, y, held, sigma, cfg.heldout_check, x_hat, least, stop_rule)
    with torch.no_grad():
        x_hat = enforce_consistency(physics, x_hat, y, consistency, sigma=sigma)  # the noise level the stop used
    return DIPResult(
        x_hat=x_hat.clamp(0, 1).detach(),
        stopped_at=list(stop_rule.chosen),
        decided_at=list(stop_rule.decided_at),
        steps=step,
        loss_history=torch.stack(hist["loss"]),
        residual_history=torch.stack(hist["residual"]),
        change_history=torch.stack(hist["change"]),
        drift_history=torch.stack(hist["drift"]),
        heldout_history=torch.stack(hist["heldout"]) if held is not None else None,
        withheld=held.bool() if held is not None else None,
        tv_weight=[float(w) for w in tv_weight.cpu()],
        psnr_history=torch.stack(hist["psnr"]) if hist["psnr"] else None,
        seconds=time.perf_counter() - start,
        backtracks=backtracks,
        time_history=torch.tensor(hist["time"]),
        variance_history=torch.stack(hist["variance"]) if need_variance else None,
        rules=rules,
        noise_sigma=[float(s) for s in sigma],
        precision=describe_precision(cfg.precision, y.device),
        consistency=consistency,
        network=[cfg.net if net is None else type(template).__name__] * n_samples,
        config=cfg,
    )


class DeepImagePrior(Reconstructor):
    r"""The deep image prior as a deepinv reconstructor: ``x_hat = model(y, physics)``.

    Every call fits a *fresh* network to ``y`` (DIP has no trained weights) with
    :func:`deep_image_prior`, so it plugs into any evaluation loop that calls
    ``model(y, physics)``.

    :param config: a :class:`DIPConfig` (default: the defaults, without progress bar).
    :param net_factory: ``img_shape -> nn.Module`` building the untrained network for
        images of shape ``(C, H, W)`` (default: :func:`build_net` from the config).
    :param overrides: :class:`DIPConfig` fields that replace those of ``config``.
    """

    def __init__(self, config: DIPConfig | None = None, net_factory: Callable[[tuple[int, int, int]], nn.Module] | None = None, **overrides: Any) -> None:
        super().__init__()
        base = config if config is not None else DIPConfig(progress=False)
        self.config = with_overrides(base, **overrides)
        self.net_factory = net_factory
        self.last_result: DIPResult | None = None

    def forward(self, y: Tensor, physics, **kwargs: Any) -> Tensor:
        """The DIP estimate of ``y`` under ``physics``; ``kwargs`` are :class:`DIPConfig` overrides."""
        cfg, shape = with_overrides(self.config, **kwargs), _image_shape(y, physics)
        if cfg.tile is None:  # resolved here, so that a factory builds for a tile's shape
            cfg = with_overrides(cfg, tile=default_tile(physics, shape))
        net = self.net_factory(fitted_shape(cfg, shape)) if self.net_factory is not None else None
        with torch.enable_grad():  # fitting needs gradients, also inside an evaluation loop under no_grad
            self.last_result = deep_image_prior(y, physics, net=net, config=cfg)
        return self.last_result.x_hat


__all__ = [
    "DIPConfig", "DIPResult", "SR_INPUT_NOISE", "DENOISING_INPUT_NOISE", "default_input_noise", "DeepImagePrior", "deep_image_prior", "build_net", "replay_stop", "StopRule", "StepStats",
    "noise_level", "estimate_noise_sigma", "resolve_rules", "ConvDecoder", "SkipNet", "STOP_RULES",
    "choose_network", "network_candidates", "AUTO_HOLDOUT", "blend_with_classical", "blend_weight", "draw_withheld", "resolve_blend",
]
