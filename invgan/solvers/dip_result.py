r"""The output of the deep image prior (:func:`~invgan.solvers.dip.deep_image_prior`): the estimates,
the steps the stopping rules chose, and the per-step histories they were chosen from."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from .dip_config import DIPConfig


@dataclass
class DIPResult:
    r"""Output of :func:`deep_image_prior`.

    :param x_hat: estimates, one per measurement, shape ``(N, C, H, W)``, detached.
    :param stopped_at: step :math:`t^\star` of each returned estimate (1-based).
    :param decided_at: step at which each sample's stopping rule fired (``steps`` if it never did).
    :param steps: steps actually run.
    :param loss_history: data fit of the raw output :math:`\|A R_{\theta_t}(z) - y\|^2/m`,
        shape ``(steps, N)``.
    :param residual_history: data fit of the averaged estimate :math:`r_t`, ``(steps, N)``.
    :param change_history: relative change :math:`c_t` of the averaged estimate, ``(steps, N)``.
    :param heldout_history: error of the averaged estimate on the withheld entries, ``(steps, N)``;
        ``None`` without ``holdout``.
    :param tv_weight: the TV weight :math:`\lambda = \kappa\sigma^2` of each sample (0: plain DIP).
    :param withheld: the entries of ``y`` withheld from the fit (boolean, ``y``'s shape), or ``None``.
    :param drift_history: drift :math:`d_t` of the averaged estimate over ``window`` steps (NaN until
        the window is full), ``(steps, N)``.
    :param psnr_history: PSNR of the averaged estimate when a reference was given, else ``None``.
    :param seconds: wall time of the run.
    :param backtracks: number of restores of earlier weights.
    :param time_history: seconds elapsed at the end of every step, shape ``(steps,)``.
    :param variance_history: windowed variance (NaN until the window is full), ``(steps, N)``;
        ``None`` unless ``stop`` is ``"wmv"`` or ``"none"`` (or ``"auto"`` fell back to WMV).
    :param rules: the rule each sample used (``"auto"`` resolved).
    :param noise_sigma: the noise level each sample's rule used (``nan``: unknown).
    :param precision: the precision the network ran in, and why (e.g. ``"bf16 (auto: native bf16 found on cpu)"``).
    :param consistency: the consistency step applied to the returned estimate (``"auto"`` resolved:
        ``"wiener"``, ``"project"`` or ``"none"``); the histories are those of the averaged
        estimate before it.
    :param network: the network each sample was fitted with (``net="auto"``: the one chosen).
    :param network_scores: ``net="auto"`` only: per candidate network, each sample's mean squared error
        on the withheld entries at the step its run returned (the lower one was chosen).
    :param blend_weight: ``blend="classical"`` only: each sample's weight :math:`w` of the DIP estimate
        against the classical one (1: DIP alone, 0: the classical estimate alone).
    :param classical: ``blend="classical"`` only: each sample's classical estimator (``"biharmonic"``,
        or the denoiser SURE chose, e.g. ``"nlm h=0.6 sigma"``).
    :param tiles: ``tile > 0`` only: per sample, each tile's ``box`` (top, left, height, width), ``stopped_at``,
        ``decided_at``, ``network`` and, with the blend, ``blend_weight`` and ``classical``
        (:func:`~invgan.solvers.dip_tiles.tiled_deep_image_prior`).
    """

    x_hat: Tensor
    stopped_at: list[int]
    steps: int
    loss_history: Tensor
    psnr_history: Tensor | None
    seconds: float
    backtracks: int = 0
    time_history: Tensor | None = None
    variance_history: Tensor | None = None
    residual_history: Tensor | None = None
    change_history: Tensor | None = None
    drift_history: Tensor | None = None
    heldout_history: Tensor | None = None
    withheld: Tensor | None = None
    tv_weight: list[float] = field(default_factory=list)
    decided_at: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    noise_sigma: list[float] = field(default_factory=list)
    precision: str = "fp32"
    consistency: str = "none"
    network: list[str] = field(default_factory=list)
    network_scores: dict[str, list[float]] = field(default_factory=dict)
    blend_weight: list[float] = field(default_factory=list)
    classical: list[str] = field(default_factory=list)
    tiles: list[list[dict]] = field(default_factory=list)
    config: DIPConfig = field(default_factory=DIPConfig)
