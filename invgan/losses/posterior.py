r"""Losses of a conditional GAN trained to sample the posterior (rcGAN, Bendel, Ahmad and Schniter,
NeurIPS 2022).

Each step draws :math:`P` reconstructions :math:`\hat x_p = R(y, A, z_p)` of every measurement
(:class:`~invgan.training.gan.MeasurementInput` with ``samples=P``), kept on the step as
``extras["samples"]``, ``(B, P, C, H, W)``. With :math:`\bar x = \frac1P\sum_p \hat x_p` and
:math:`s` the per-pixel (unbiased) standard deviation of the :math:`\hat x_p`,

.. math::

    \mathcal{L}_G = \|\bar x - x\|_1 \;-\; \beta_\text{SD}\sqrt{\tfrac{2}{\pi P(P+1)}}\;\overline{s}
    \;+\; \lambda\,\ell_G\big(D(\hat x_p)\big),

:class:`SampleMeanLoss` being the first term and :class:`StdReward` the second. The reward's
coefficient is the rule of the paper: for a Gaussian posterior of spread :math:`\sigma`,
:math:`\mathbb{E}\|\bar x - x\|_1 \propto \sqrt{2/\pi}\,\sqrt{\sigma^2 + \sigma_g^2/P}` (samples of spread
:math:`\sigma_g`), whose derivative in :math:`\sigma_g` at :math:`\sigma_g = \sigma` is
:math:`\sqrt{2/(\pi P(P+1))}`; so :math:`\beta_\text{SD} = 1` makes the true spread the stationary
point, where the mean-only loss would shrink the spread to 0 (mode collapse).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .step import GANStep


def step_samples(s: GANStep) -> Tensor:
    """The step's ``(B, P, C, H, W)`` posterior samples, with a clear error when the step has none."""
    samples = s.extras.get("samples")
    if samples is None or samples.dim() != 5 or samples.shape[1] < 2:
        raise ValueError("this loss needs P >= 2 samples per measurement on the step (extras['samples']): "
                         "give the measurement input samples >= 2 (loss.posterior_samples)")
    return samples


def std_reward_coefficient(p: int) -> float:
    r"""rcGAN's :math:`\sqrt{2/(\pi P(P+1))}`: with :math:`\beta_\text{SD} = 1`, the reward balances the
    :math:`\ell_1` loss of the :math:`P`-sample mean at the true posterior spread (Gaussian case).

    >>> from invgan.losses.posterior import std_reward_coefficient
    >>> round(std_reward_coefficient(2), 4)
    0.3257
    """
    if p < 2:
        raise ValueError(f"invalid P={p!r}: the std reward needs P >= 2 samples")
    return math.sqrt(2.0 / (math.pi * p * (p + 1)))


class SampleMeanLoss(nn.Module):
    r"""Supervised loss of the mean of the step's :math:`P` samples, :math:`\|\bar x - x\|_1`
    (``"l1"``, rcGAN's) or :math:`\|\bar x - x\|_2^2` (``"mse"``), averaged over pixels.

    :Example:

    >>> import torch
    >>> from invgan.losses import GANStep
    >>> from invgan.losses.posterior import SampleMeanLoss
    >>> samples = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1, 1)   # mean 1, spread 1.41
    >>> s = GANStep(x_hat=samples.flatten(0, 1), batch={"x": torch.ones(1, 1, 1, 1)}, extras={"samples": samples})
    >>> float(SampleMeanLoss("l1")(s))
    0.0
    """

    def __init__(self, metric: str = "l1"):
        super().__init__()
        if metric not in ("mse", "l1"):
            raise ValueError(f"invalid reconstruction metric={metric!r}: expected 'mse' or 'l1'")
        self.metric = metric

    def forward(self, s: GANStep) -> Tensor:
        x = s.batch.get("x")
        if x is None:
            raise ValueError("the supervised loss of the sample mean needs ground truth x")
        mean = step_samples(s).mean(1)
        return F.mse_loss(mean, x) if self.metric == "mse" else F.l1_loss(mean, x)


def draw_errors(samples: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    r"""The squared errors behind the PSNR gap of the step's rcGAN draws: :math:`(e_1, e_P)` with
    :math:`e_1 = \frac1P\sum_p\|\hat x_p - x\|^2` (one draw) and :math:`e_P = \|\bar x - x\|^2` (their mean),
    summed over the batch and its pixels. The gap is :math:`10\log_{10}(e_1/e_P)` dB; for exact posterior
    draws its expectation is :math:`10\log_{10}\frac{2P}{P+1}` (1.25 dB for :math:`P = 2`)."""
    samples, x = samples.detach().float(), x.detach().float()
    one = (samples - x.unsqueeze(1)).pow(2).mean(1).sum()
    mean = (samples.mean(1) - x).pow(2).sum()
    return one, mean


def box_filtered(samples: Tensor, size: int) -> Tensor:
    r"""The ``(B, P, C, H, W)`` draws averaged over every :math:`k\times k` box inside the image (stride 1,
    no padding; a side shorter than :math:`k` is averaged whole); ``size`` 1 returns them unchanged."""
    if size == 1:
        return samples
    b, p, _, h, w = samples.shape
    return F.avg_pool2d(samples.flatten(0, 1), (min(size, h), min(size, w)), stride=1).unflatten(0, (b, p))


def measured_spread(samples: Tensor, physics: nn.Module) -> Tensor:
    r"""The mean over measurement entries of the unbiased std of the :math:`P` measured draws
    :math:`A\hat x_p` (noise-free), ``samples`` ``(B, P, C, H, W)`` and ``physics`` the operator of the
    :math:`B` measurements."""
    if physics is None:
        raise ValueError("the spread of the measured draws needs the step's operator (physics)")
    measured = torch.stack([physics.A(samples[:, p]) for p in range(samples.shape[1])], 1)
    return measured.std(1, correction=1).mean()


class StdReward(nn.Module):
    r"""rcGAN's standard-deviation reward, :math:`-\sqrt{2/(\pi P(P+1))}\;\frac1N\sum_i s_i` with
    :math:`s_i` the unbiased std of the :math:`P` samples at pixel :math:`i` (a loss: minimising it
    spreads the samples); weighted by :math:`\beta_\text{SD}` (``loss.std_weight``). With ``ramp`` :math:`= N`
    the reward is scaled by :math:`\min(1, t/N)` at step :math:`t` (``loss.std_ramp``): the draws learn
    their mean before they are pushed apart.

    With ``pool`` :math:`= k > 1` (``loss.std_pool``) :math:`s_i` is the std of the draws averaged over the
    :math:`k\times k` box at :math:`i` (:func:`box_filtered`): variation that the box averages out
    (pixel grain) earns nothing and only costs the :math:`\ell_1` loss of the mean, so the draws
    spread by structure (edges placed differently) instead of grain.

    With ``unseen`` (``loss.std_unseen``) the reward is :math:`\overline{s} - \overline{s_A}`,
    :math:`s_A` the std of the measured draws :math:`A\hat x_p` (:func:`measured_spread`): spread that
    the operator passes (which the measurement :math:`y` pins down, up to its noise) earns nothing, so
    the draws differ where :math:`A` is blind (for a blur, the fine detail it removes).

    With ``adapt`` :math:`= \mu > 0` (``loss.std_adapt``) the weight follows the paper's rule during
    training: after the ramp, each step multiplies it by a scale :math:`a` (starting at 1, kept in
    :math:`[0, 2]`, checkpointed) updated from the step's own draws,

    .. math::

        a \leftarrow a + \mu\Big(10\log_{10}\tfrac{2P}{P+1} - 10\log_{10}\tfrac{e_1}{e_P}\Big),

    :math:`e_1/e_P` the squared error of one draw over that of their mean (:func:`draw_errors`):
    for exact posterior draws it is :math:`2P/(P+1)`. Draws that spread too little have a smaller
    gap and the weight grows; too much, and it shrinks. (Bendel et al. update it once an epoch from
    the gap of 8 draws on validation data; here the :math:`P` training draws give the gap for free,
    and a small :math:`\mu` averages its noise.) In a data-parallel run the errors are summed over
    the processes, so every process keeps the same scale.

    :Example:

    >>> import torch
    >>> from invgan.losses import GANStep
    >>> from invgan.losses.posterior import StdReward
    >>> samples = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1, 1)   # std sqrt(2)
    >>> round(float(StdReward()(GANStep(x_hat=samples.flatten(0, 1), extras={"samples": samples}))), 4)
    -0.4607
    """

    max_scale = 2.0  # beyond about 2.2 the reward outgrows the l1 loss of the mean (Gaussian case)

    def __init__(self, ramp: int = 0, adapt: float = 0.0, pool: int = 1, unseen: bool = False):
        super().__init__()
        if pool != int(pool) or pool < 1:
            raise ValueError(f"invalid pool={pool!r}: expected an integer box size >= 1 (1: the std of each pixel)")
        if ramp < 0:
            raise ValueError(f"invalid ramp={ramp!r}: expected a number of steps >= 0")
        if adapt < 0:
            raise ValueError(f"invalid adapt={adapt!r}: expected a rate >= 0 (0: a fixed weight)")
        self.ramp, self.adapt, self.pool, self.unseen = ramp, float(adapt), int(pool), bool(unseen)
        self.scale = torch.ones((), dtype=torch.float64)  # a tensor: adapting it needs no host sync

    def forward(self, s: GANStep) -> Tensor:
        samples = step_samples(s)
        gain = min(1.0, s.step / self.ramp) if self.ramp else 1.0
        self.scale = self.scale.to(samples.device)
        spread = box_filtered(samples, self.pool).std(1, correction=1).mean()
        if self.unseen:
            spread = spread - measured_spread(samples, s.physics)
        reward = std_reward_coefficient(samples.shape[1]) * spread
        loss = -gain * self.scale.to(reward.dtype) * reward  # scale 1 unless adapted
        if self.adapt > 0 and s.step >= self.ramp:
            self._update(samples, s.batch.get("x"))
        return loss

    def _update(self, samples: Tensor, x: Tensor | None) -> None:
        if x is None:
            raise ValueError("adapting the std reward's weight needs ground truth x (the gap of the draws' errors)")
        errors = torch.stack(draw_errors(samples, x)).double()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(errors)
        p = samples.shape[1]
        one, mean = errors.clamp_min(1e-30).unbind()
        step = self.adapt * (10 * math.log10(2 * p / (p + 1)) - 10 * torch.log10(one / mean))
        self.scale = (self.scale + step).clamp(0.0, self.max_scale)

    def step_logs(self) -> dict[str, Tensor]:
        """``scale``: the adapted factor :math:`a` of the weight (logged as ``G/std_scale``)."""
        return {"scale": self.scale.detach().float()} if self.adapt > 0 else {}

    def rng_state(self) -> dict[str, Tensor]:
        """The adapted scale, saved with the recipe's state in checkpoints (a resumed run goes on with it)."""
        return {"std_reward_scale": self.scale.detach().cpu().clone()} if self.adapt > 0 else {}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if "std_reward_scale" in state:
            self.scale = state["std_reward_scale"].clone().double()
