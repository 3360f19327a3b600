r"""Deep image prior: fit an untrained generator to one measurement through the operator.

For a measurement :math:`y = \mathcal{N}(A x)` the solver minimises

.. math::

    \min_\theta \ \frac{1}{m}\,\big\|A\,R_\theta(z + \eta_t) - y\big\|_2^2,
    \qquad \eta_t \sim \mathcal{N}(0, \sigma_z^2 I),

with Adam from fresh weights :math:`\theta_0`, a fixed random input :math:`z` and
optional input noise :math:`\eta_t` (Ulyanov et al. 2018).  The estimate is the
exponential average :math:`\bar x_t = \beta \bar x_{t-1} + (1-\beta) R_{\theta_t}(z)`.
Fitting long enough reproduces the noise, so the run stops without ground truth
by the windowed moving variance of the outputs (ES-WMV, Wang et al. 2021):

.. math::

    \mathrm{VAR}_t = \frac{1}{W}\sum_{w=0}^{W-1}
    \Big\| x_{t-w} - \frac{1}{W}\sum_{v=0}^{W-1} x_{t-v} \Big\|_2^2 / n,

and returns the estimate at :math:`t^\star = \arg\min_t \mathrm{VAR}_t` once the
variance has not dropped by more than a relative ``tolerance`` below its running
minimum for ``patience`` steps (it rises once the noise is being fitted, and
plateaus on noiseless problems).  A batch of :math:`N`
measurements is solved as :math:`N` independent problems (one network and one
Adam state each) in one loop.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from invgan.nets.dip import NET_NAMES, UPSAMPLING_MODES, ConvDecoder, SkipNet, dip_input, make_dip_net

STOP_RULES = ("wmv", "none")


@dataclass
class DIPConfig:
    r"""Settings of :func:`deep_image_prior`; the defaults are those of the cameraman experiment.

    :param net: ``"convdecoder"`` or ``"skip"`` (used when no network is passed).
    :param channels: hidden width of the network.
    :param depth: number of upsampling blocks (ConvDecoder) or levels (skip net).
    :param upsampling: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``.
    :param in_size: spatial size of the ConvDecoder input :math:`z`.
    :param lr: Adam step size.
    :param max_steps: hard limit on the number of steps.
    :param input_noise: std :math:`\sigma_z` of the noise added to :math:`z` every step.
    :param ema: averaging weight :math:`\beta` of the returned estimate (0: no averaging).
    :param stop: ``"wmv"`` (windowed moving variance) or ``"none"`` (run ``max_steps``).
    :param window: window :math:`W` of the variance.
    :param patience: stop once the variance has not dropped below
        :math:`(1 - \text{tolerance})` times its running minimum for this many steps.
    :param tolerance: relative drop of the variance that counts as progress (0: any new minimum);
        a small positive value also stops noiseless problems once the variance plateaus.
    :param min_steps: never stop before this step.
    :param backtrack_factor: restore the last good weights when the loss exceeds this factor
        times the loss at the last checkpoint (or is not finite); 0 disables backtracking.
    :param checkpoint_every: steps between checkpoints of good weights.
    :param bf16: run the network in bfloat16 autocast (about 2x faster on CPUs with bf16 support).
    :param seed: seed of the weights and of :math:`z` (``None``: not seeded).
    :param threads: ``torch.set_num_threads`` for the run (``None``: leave as is).
    """

    net: str = "skip"
    channels: int = 32
    depth: int = 5
    upsampling: str = "bilinear"
    in_size: int = 8
    lr: float = 0.01
    max_steps: int = 1500
    input_noise: float = 0.0
    ema: float = 0.99
    stop: str = "wmv"
    window: int = 100
    patience: int = 200
    tolerance: float = 0.05
    min_steps: int = 200
    backtrack_factor: float = 5.0
    checkpoint_every: int = 50
    bf16: bool = True
    seed: int | None = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("net", self.net in NET_NAMES, f"one of {NET_NAMES}"),
            ("upsampling", self.upsampling in UPSAMPLING_MODES, f"one of {UPSAMPLING_MODES}"),
            ("stop", self.stop in STOP_RULES, f"one of {STOP_RULES}"),
            ("channels", self.channels >= 1, "an integer >= 1"),
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("in_size", self.in_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a value > 0"),
            ("max_steps", self.max_steps >= 1, "an integer >= 1"),
            ("input_noise", self.input_noise >= 0, "a value >= 0"),
            ("ema", 0 <= self.ema < 1, "a value in [0, 1)"),
            ("window", self.window >= 2, "an integer >= 2"),
            ("patience", self.patience >= 1, "an integer >= 1"),
            ("tolerance", 0 <= self.tolerance < 1, "a value in [0, 1)"),
            ("min_steps", self.min_steps >= 0, "an integer >= 0"),
            ("backtrack_factor", self.backtrack_factor == 0 or self.backtrack_factor > 1, "0 (off) or a value > 1"),
            ("checkpoint_every", self.checkpoint_every >= 1, "an integer >= 1"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"invalid {name}={getattr(self, name)!r}: expected {allowed}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "DIPConfig":
        """Build from a mapping; unknown keys are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown DIPConfig keys {unknown}: expected a subset of {sorted(known)}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class DIPResult:
    r"""Output of :func:`deep_image_prior`.

    :param x: estimates, one per measurement, shape ``(N, C, H, W)``, detached.
    :param stopped_at: step :math:`t^\star` of each returned estimate (1-based).
    :param steps: steps actually run.
    :param loss_history: data-fit loss per step and sample, shape ``(steps, N)``.
    :param psnr_history: PSNR of the averaged estimate per step and sample when a reference
        was given (``(steps, N)``), else ``None``.
    :param seconds: wall time of the run.
    :param backtracks: number of restores of earlier weights.
    :param variance_history: windowed variance per step and sample (NaN until the window is full),
        shape ``(steps, N)``; ``None`` when ``stop="none"``.
    :param time_history: seconds elapsed at the end of every step, shape ``(steps,)``.
    """

    x: Tensor
    stopped_at: list[int]
    steps: int
    loss_history: Tensor
    psnr_history: Tensor | None
    seconds: float
    backtracks: int = 0
    time_history: Tensor | None = None
    variance_history: Tensor | None = None
    config: DIPConfig = field(default_factory=DIPConfig)


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


def build_net(cfg: DIPConfig, img_shape: tuple[int, int, int]) -> ConvDecoder | SkipNet:
    """The network ``cfg`` describes, for images of shape ``(C, H, W)``."""
    extra: dict[str, Any] = {"in_size": (min(cfg.in_size, img_shape[1]), min(cfg.in_size, img_shape[2]))} if cfg.net == "convdecoder" else {}
    return make_dip_net(cfg.net, img_shape, depth=cfg.depth, channels=cfg.channels, upsampling=cfg.upsampling, **extra)


def _windowed_variance(window: deque) -> Tensor:
    """Per-sample mean over pixels of the variance over the window, shape ``(N,)``."""
    stack = torch.stack(tuple(window))  # (W, N, C, H, W)
    return stack.var(dim=0, unbiased=False).flatten(1).mean(1)


def deep_image_prior(
    y: Tensor,
    physics,
    net: nn.Module | None = None,
    config: DIPConfig | Mapping[str, Any] | None = None,
    reference: Tensor | None = None,
    progress: bool = True,
) -> DIPResult:
    r"""Reconstruct :math:`x` from :math:`y = \mathcal{N}(Ax)` with a deep image prior.

    :param y: measurements ``(N, ...)``: ``N`` independent problems.
    :param physics: a :class:`deepinv.physics.Physics` (e.g. ``make_physics(...).physics``).
    :param net: an untrained generator with ``input_shape()``; it is copied and re-initialised
        for every sample, so re-running always starts from fresh weights.  ``None``: built
        from ``config``.
    :param config: a :class:`DIPConfig` or a dict of its fields.
    :param reference: ground truth ``(N, C, H, W)`` for the PSNR history only (never used to stop).
    :param progress: show a tqdm bar with the loss (and PSNR).
    """
    from deepinv.loss.metric import PSNR
    from tqdm.auto import tqdm

    cfg = config if isinstance(config, DIPConfig) else DIPConfig.from_dict(config or {})
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

    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
    saved_rng = torch.get_rng_state() if cfg.seed is not None else None  # restored at the end: the caller's stream is left alone
    if cfg.seed is not None:
        torch.manual_seed(cfg.seed)

    if net is None:
        template: nn.Module = build_net(cfg, img_shape)
    else:
        template = net
        if not hasattr(template, "input_shape"):
            raise ValueError("net must expose input_shape() giving the (C, H, W) shape of its random input")
    nets: list[nn.Module] = []
    for _ in range(n_samples):
        m = copy.deepcopy(template).to(y.device).train()
        _reset_parameters(m)
        m.requires_grad_(True)
        nets.append(m)
    z = dip_input(nets[0], n_samples, generator=gen).to(y.device)
    with torch.no_grad():
        probe = nets[0](z[:1])
    if tuple(probe.shape[1:]) != img_shape:
        raise ValueError(f"the network outputs images of shape {tuple(probe.shape[1:])}, the operator expects {img_shape}")
    optimizers = [torch.optim.Adam(m.parameters(), lr=cfg.lr) for m in nets]
    psnr = PSNR(max_pixel=1.0) if reference is not None else None

    def snapshot(i: int) -> dict[str, Any]:
        return {"net": copy.deepcopy(nets[i].state_dict()), "opt": copy.deepcopy(optimizers[i].state_dict())}

    checkpoints = [snapshot(i) for i in range(n_samples)]
    checkpoint_loss = torch.full((n_samples,), math.inf)
    loss_history: list[Tensor] = []
    psnr_history: list[Tensor] = []
    time_history: list[float] = []
    window: deque = deque(maxlen=cfg.window)
    ema: Tensor | None = None
    best_var = torch.full((n_samples,), math.inf)
    best_step = [0] * n_samples
    progress_var = torch.full((n_samples,), math.inf)
    progress_step = [0] * n_samples
    variance_history: list[Tensor] = []
    best_x: Tensor | None = None
    backtracks = 0
    start = time.perf_counter()
    bar = tqdm(range(1, cfg.max_steps + 1), disable=not progress, desc="dip", leave=False)
    step = 0
    try:
        for step in bar:
            z_in = z + cfg.input_noise * torch.randn(z.shape, generator=gen).to(z.device) if cfg.input_noise > 0 else z
            with torch.autocast("cpu" if y.device.type == "cpu" else y.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                outs = [nets[i](z_in[i : i + 1]) for i in range(n_samples)]
            x = torch.cat(outs).float()
            residual = physics.A(x) - y
            per_sample = residual.pow(2).flatten(1).mean(1)
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            per_sample.sum().backward()

            losses = per_sample.detach().cpu()
            jumped = ~torch.isfinite(losses)
            if cfg.backtrack_factor > 0:
                jumped |= losses > cfg.backtrack_factor * checkpoint_loss
            for i in range(n_samples):
                if jumped[i]:  # restore the last good weights, skip this update
                    nets[i].load_state_dict(checkpoints[i]["net"])
                    optimizers[i].load_state_dict(checkpoints[i]["opt"])
                    backtracks += 1
                else:
                    optimizers[i].step()
                    if step % cfg.checkpoint_every == 0:
                        checkpoints[i] = snapshot(i)
                        checkpoint_loss[i] = losses[i]
            x = x.detach()
            if bool(jumped.any()) and ema is not None:  # a jumped output is not averaged in
                x = torch.where(jumped.view(-1, 1, 1, 1).to(x.device), ema, x)
            ema = x.clone() if ema is None or cfg.ema == 0 else cfg.ema * ema + (1 - cfg.ema) * x
            loss_history.append(losses)

            if cfg.stop == "wmv":
                window.append(x)
                if len(window) < cfg.window:
                    variance_history.append(torch.full((n_samples,), math.nan))
                else:
                    var = _windowed_variance(window).cpu()
                    variance_history.append(var)
                    progressed = var < (1 - cfg.tolerance) * progress_var
                    for i in torch.nonzero(progressed).flatten().tolist():
                        progress_var[i] = var[i]
                        progress_step[i] = step
                    improved = var < best_var
                    if bool(improved.any()):
                        best_x = ema.clone() if best_x is None else torch.where(improved.view(-1, 1, 1, 1).to(ema.device), ema, best_x)
                        for i in torch.nonzero(improved).flatten().tolist():
                            best_var[i] = var[i]
                            best_step[i] = step
            postfix = {"loss": f"{float(losses.mean()):.2e}"}
            if psnr is not None:
                p = psnr(ema.clamp(0, 1), reference).detach().cpu().flatten()
                psnr_history.append(p)
                postfix["psnr"] = f"{float(p.mean()):.2f}"
            if progress:
                bar.set_postfix(postfix, refresh=False)
            time_history.append(time.perf_counter() - start)
            if cfg.stop == "wmv" and step >= cfg.min_steps and best_x is not None:
                if all(step - progress_step[i] >= cfg.patience for i in range(n_samples)):
                    break
    finally:
        bar.close()
        if cfg.threads:
            torch.set_num_threads(old_threads)
        if saved_rng is not None:
            torch.set_rng_state(saved_rng)

    if cfg.stop == "wmv" and best_x is not None:
        x_hat, stopped_at = best_x, list(best_step)
    else:
        x_hat, stopped_at = ema, [step] * n_samples
    return DIPResult(
        x=x_hat.clamp(0, 1).detach(),
        stopped_at=stopped_at,
        steps=step,
        loss_history=torch.stack(loss_history),
        psnr_history=torch.stack(psnr_history) if psnr_history else None,
        seconds=time.perf_counter() - start,
        backtracks=backtracks,
        time_history=torch.tensor(time_history),
        variance_history=torch.stack(variance_history) if variance_history else None,
        config=cfg,
    )


__all__ = ["DIPConfig", "DIPResult", "deep_image_prior", "build_net", "ConvDecoder", "SkipNet", "STOP_RULES"]
