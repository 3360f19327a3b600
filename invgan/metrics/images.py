r"""Image metrics and held-out evaluation of reconstructors against the baselines.

One function scores every job: :func:`evaluate_estimator` takes any callable
``model(y, physics)`` — a trained conditional reconstructor, a deepinv
:class:`~deepinv.models.Reconstructor` (e.g. :class:`invgan.solvers.LatentSearch` with a
generator) or a plain function — and reports the mean PSNR/SSIM of :math:`\hat x` on a
fixed :class:`~invgan.data.MeasuredSet`. :func:`baselines` gives the same figures for the
back-projection :math:`A^\top y` and the best-tuned Tikhonov solution
:math:`\hat x_\gamma = (A^\top A + \gamma I)^{-1}A^\top y`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ..data import MeasuredSet

#: anything called as ``model(y, physics)`` (a deepinv ``Reconstructor`` included)
Estimator = Callable[[Tensor, nn.Module], Tensor]

#: Tikhonov weights searched for the classical baseline
TIKHONOV_GAMMAS = tuple(float(g) for g in torch.logspace(-5, 0, 21))

#: what picks ``best.pt`` of a reconstructor: held-out PSNR against the truth, or
#: :func:`held_out_measurement_psnr` (no ground truth; inpainting)
SELECTION_RULES = ("psnr", "measurements")

#: Wiener balances searched for the deblurring baseline
WIENER_BALANCES = tuple(float(b) for b in torch.logspace(-4, 0, 13))


#: the smallest image side SSIM (an 11x11 window, reflect-padded by 5) is computed for
SSIM_MIN_SIZE = 6


@cache
def _metrics() -> tuple[nn.Module, nn.Module]:
    from deepinv.loss.metric import PSNR, SSIM

    return PSNR(max_pixel=1.0), SSIM(max_pixel=1.0)


def set_operator(physics: nn.Module, params: dict[str, Tensor]) -> None:
    """Restore the operator draw (e.g. mask) that produced a batch of the evaluation set."""
    if params:
        physics.update(**params)


@torch.no_grad()
def image_metrics(estimate: Tensor, truth: Tensor) -> dict[str, Tensor]:
    """Per-image PSNR and SSIM of ``estimate`` clipped to [0, 1]. SSIM's 11x11 window needs
    images of at least :data:`SSIM_MIN_SIZE` pixels a side; on smaller ones it is NaN (undefined).

    :Example:

    >>> import torch
    >>> from invgan.metrics import image_metrics
    >>> x = torch.full((1, 1, 8, 8), 0.5)
    >>> m = image_metrics(x + 0.1, x)
    >>> round(float(m["psnr"]), 2), round(float(m["ssim"]), 4) <= 1.0
    (20.0, True)
    """
    psnr, ssim = _metrics()
    est = estimate.float().clamp(0, 1)
    truth = truth.float()
    if min(truth.shape[-2:]) < SSIM_MIN_SIZE:
        return {"psnr": psnr(est, truth), "ssim": torch.full((truth.shape[0],), float("nan"), device=truth.device)}
    return {"psnr": psnr(est, truth), "ssim": ssim(est, truth)}


@torch.no_grad()
def evaluate_estimator(model: Estimator, data: MeasuredSet, physics: nn.Module, batch_size: int = 16,
                       outputs: list[Tensor] | None = None) -> dict[str, float]:
    """Mean PSNR/SSIM of ``model(y, physics)`` over ``data``.

    ``model`` is any callable with deepinv's calling convention ``model(y, physics)``: a
    conditional reconstructor, a deepinv ``Reconstructor`` (such as
    :class:`invgan.solvers.LatentSearch`, which re-enables gradients for its own search) or a
    function. It is called as given: put a network in eval mode first. The operator draw of
    each batch (``data.batches``) is restored in ``physics`` before the call. ``outputs``, when
    given, receives the estimates (on the CPU, clipped to [0, 1]) for metrics of the whole set.

    :Example:

    >>> import torch
    >>> from invgan.data import fixed_measurements
    >>> from invgan.metrics import evaluate_estimator
    >>> from invgan.physics import make_physics
    >>> model = make_physics("denoising", (1, 8, 8), noise="none")
    >>> data = fixed_measurements(model, torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    >>> scores = evaluate_estimator(lambda y, physics: y, data, model.physics)
    >>> scores  # PSNR is capped at 80 dB for an exact estimate
    {'psnr': 80.0, 'ssim': 1.0}
    """
    sums: dict[str, list[Tensor]] = {"psnr": [], "ssim": []}
    device = next(iter(physics.buffers()), torch.empty(0)).device
    for x, y, params in data.batches(batch_size):
        x, y = x.to(device), y.to(device)
        set_operator(physics, {k: v.to(device) for k, v in params.items()})
        estimate = model(y, physics)
        if outputs is not None:
            outputs.append(estimate.detach().float().clamp(0, 1).cpu())
        for k, v in image_metrics(estimate, x).items():
            sums[k].append(v.cpu())
    return {k: float(torch.cat(v).mean()) for k, v in sums.items()}


@torch.no_grad()
def held_out_measurement_psnr(model: Estimator, data: MeasuredSet, physics: nn.Module, fraction: float = 0.05, splits: int = 4,
                              seed: int = 0, batch_size: int = 16) -> float:
    r"""A score of ``model`` without ground truth, for inpainting: of each held-out measurement
    :math:`y = \mathcal{N}(M x)`, a fixed random ``fraction`` of the measured pixels :math:`M_2` is
    withheld, the reconstructor is given the rest, :math:`\hat x = R(M_1 y, M_1)`, and is scored on
    the withheld pixels only, over ``splits`` disjoint withheld sets:

    .. math::

        \text{PSNR} = -10\log_{10}\frac{\sum \|M_2(\hat x - y)\|^2}{\sum |M_2|},

    an estimate of its error at missing pixels plus the noise variance, computed from
    measurements alone (a selection rule for runs that have no clean image). A small ``fraction``
    keeps the reconstructor's input close to the real one (:math:`1 -` ``fraction`` of the measured
    pixels); the splits are the same at every call (``seed``)."""
    from deepinv.physics import Inpainting

    if not isinstance(physics, Inpainting):
        raise ValueError(f"held-out measured pixels need an inpainting operator, got {type(physics).__name__}")
    if not (0 < fraction and splits >= 1 and fraction * splits <= 1):
        raise ValueError(f"invalid fraction={fraction!r}, splits={splits!r}: expected fraction > 0, splits >= 1, fraction * splits <= 1")
    device = next(iter(physics.buffers()), torch.empty(0)).device
    err, count = 0.0, 0.0
    for i, (_, y, params) in enumerate(data.batches(batch_size)):
        y = y.to(device)
        set_operator(physics, {k: v.to(device) for k, v in params.items()})
        mask = physics.mask.expand_as(y)
        u = torch.rand(y.shape, generator=torch.Generator().manual_seed(seed + i)).to(device)
        for k in range(splits):
            held = (u >= k * fraction) & (u < (k + 1) * fraction)
            kept, withheld = mask * ~held, mask * held
            physics.update(mask=kept)
            estimate = model(y * kept, physics).float().clamp(0, 1)
            err += float((withheld * (estimate - y) ** 2).sum())
            count += float(withheld.sum())
        physics.update(mask=mask)
    return float(-10 * torch.log10(torch.tensor(max(err / max(count, 1.0), 1e-8))))


@torch.no_grad()
def baselines(data: MeasuredSet, physics: nn.Module, back_projection: str = "adjoint") -> dict[str, float]:
    """Metrics of the back-projection (``baseline_*``), of the best-tuned Tikhonov
    solution over :data:`TIKHONOV_GAMMAS` (``classical_*``, with its ``classical_gamma``) and of
    the classical method of the operator: for downsampling bicubic interpolation on the
    operator's sampling grid (``bicubic_*``), for inpainting biharmonic inpainting
    (``biharmonic_*``, :func:`~invgan.classical.biharmonic_inpaint`), for blur Wiener deconvolution
    with the best balance over :data:`WIENER_BALANCES` (``wiener_*``, with its ``wiener_balance``;
    :func:`~invgan.classical.wiener_deconvolve`).

    The Tikhonov weight and the Wiener balance are tuned on the evaluation set itself (an oracle
    choice), so those figures are upper bounds of what the methods give."""
    from deepinv.physics import Blur, BlurFFT, Downsampling, Inpainting

    from ..classical import bicubic_upsample, biharmonic_inpaint, wiener_deconvolve
    from ..physics import lift

    base = evaluate_estimator(lambda y, p: lift(p, y, back_projection), data, physics)
    best: dict[str, float] | None = None
    for gamma in TIKHONOV_GAMMAS:
        m = evaluate_estimator(lambda y, p, g=gamma: lift(p, y, "tikhonov", g), data, physics)
        if best is None or m["psnr"] > best["psnr"]:
            best = {**m, "gamma": gamma}
    assert best is not None
    out = {
        "baseline_psnr": base["psnr"], "baseline_ssim": base["ssim"],
        "classical_psnr": best["psnr"], "classical_ssim": best["ssim"], "classical_gamma": best["gamma"],
    }
    if isinstance(physics, Downsampling):
        bic = evaluate_estimator(bicubic_upsample, data, physics)
        out.update(bicubic_psnr=bic["psnr"], bicubic_ssim=bic["ssim"])
    if isinstance(physics, Inpainting):
        bih = evaluate_estimator(biharmonic_inpaint, data, physics)
        out.update(biharmonic_psnr=bih["psnr"], biharmonic_ssim=bih["ssim"])
    if isinstance(physics, (Blur, BlurFFT)):
        wien = max(({**evaluate_estimator(lambda y, p, b=b: wiener_deconvolve(y, p, b), data, physics), "balance": b} for b in WIENER_BALANCES),
                   key=lambda m: m["psnr"])
        out.update(wiener_psnr=wien["psnr"], wiener_ssim=wien["ssim"], wiener_balance=wien["balance"])
    return out


def patches(images: Tensor, size: int) -> Tensor:
    """The non-overlapping ``size`` x ``size`` patches of a batch of images, ``(N * k, C, size, size)``.

    :Example:

    >>> import torch
    >>> from invgan.metrics.images import patches
    >>> tuple(patches(torch.rand(2, 1, 8, 8), 4).shape)
    (8, 1, 4, 4)
    """
    if min(images.shape[-2:]) < size:
        raise ValueError(f"patches of {size}x{size} need images at least that large, got {tuple(images.shape[-2:])}")
    p = images.unfold(-2, size, size).unfold(-2, size, size)  # (N, C, rows, cols, size, size)
    return p.permute(0, 2, 3, 1, 4, 5).reshape(-1, images.shape[1], size, size)


@torch.no_grad()
def compare_estimators(estimators: dict[str, Estimator], data: MeasuredSet, physics: nn.Module, features: nn.Module | None = None,
                       patch: int = 64, batch_size: int = 8) -> dict[str, dict[str, float]]:
    r"""Every estimator of ``estimators`` (name: ``model(y, physics)``) on one held-out set, through
    :func:`evaluate_estimator`: mean PSNR/SSIM and, with Inception ``features``
    (:class:`~invgan.metrics.InceptionFeatures`), FID and KID of the estimates' ``patch`` x ``patch``
    patches against the same patches of the truth (patch FID/KID: how natural the textures are,
    which PSNR does not see). Put networks in eval mode first."""
    from .inception import kernel_distance
    from .distances import frechet_distance

    real = None
    if features is not None:
        real = features(patches(data.x.float().cpu(), patch))
    table: dict[str, dict[str, float]] = {}
    for name, model in estimators.items():
        outs: list[Tensor] = []
        row = evaluate_estimator(model, data, physics, batch_size, outputs=outs)
        if features is not None:
            fake = features(patches(torch.cat(outs), patch))
            kid, kid_std = kernel_distance(real, fake, subset_size=max(2, len(real) // 2))  # half-size subsets: a spread
            row.update(fid=frechet_distance(real, fake), kid=kid, kid_std=kid_std)
        table[name] = row
    return table
