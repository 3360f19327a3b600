r"""Forward operators :math:`y = \mathcal{N}(A x)` built on :mod:`deepinv.physics`.

invgan never re-implements an operator: :func:`make_physics` validates the
parameters and returns a :class:`deepinv.physics.Physics`, so any deepinv
operator can be used wherever invgan takes one.  Operators that are drawn at
random for every sample (fresh inpainting masks, random blur kernels) are
described by a :class:`MeasurementModel`, which pairs the physics with a deepinv
:class:`~deepinv.physics.generator.PhysicsGenerator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .seeding import rank_seed

import deepinv.physics as dphys
from deepinv.physics.blur import gaussian_blur
from deepinv.physics.generator import (
    BernoulliSplittingMaskGenerator,
    GaussianBlurGenerator,
    MotionBlurGenerator,
    PhysicsGenerator,
)

PHYSICS_NAMES = ("blur", "inpainting", "downsampling", "cs", "denoising")
NOISE_NAMES = ("gaussian", "poisson", "none")
BLUR_KERNELS = ("gaussian", "motion")
DOWNSAMPLING_FILTERS = ("bicubic", "bilinear", "gaussian", "sinc")
LIFTS = ("adjoint", "pinv", "tikhonov")
GUIDES = ("none", "adjoint", "coverage")  # extra inputs of a reconstructor beside its lift (see guide)
CONSISTENCIES = ("none", "project", "wiener")  # what a reconstructor does to its output with the measurement (see enforce_consistency)
FRESH_PER_SAMPLE = ("inpainting", "blur", "cs")  # operators that can be drawn afresh for every sample

ImgSize = tuple[int, int, int]


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"invalid {name}={value!r}: expected {allowed}")


def _check_img_size(img_size: ImgSize) -> ImgSize:
    if len(img_size) != 3 or any(int(s) <= 0 for s in img_size):
        _fail("img_size", img_size, "(channels, height, width) with positive entries")
    return tuple(int(s) for s in img_size)  # type: ignore[return-value]


def make_noise(
    noise: str = "gaussian",
    sigma: float = 0.01,
    gain: float = 0.01,
    rng: torch.Generator | None = None,
) -> dphys.NoiseModel | None:
    r"""Noise model :math:`\mathcal{N}`: Gaussian :math:`y = z + \sigma\epsilon`, Poisson
    :math:`y = \gamma\,\mathcal{P}(z/\gamma)`, or ``"none"``."""
    if noise not in NOISE_NAMES:
        _fail("noise", noise, f"one of {NOISE_NAMES}")
    if noise == "gaussian":
        if not sigma >= 0:
            _fail("noise_sigma", sigma, "a value >= 0")
        return dphys.GaussianNoise(sigma=float(sigma), rng=rng)
    if noise == "poisson":
        if not gain > 0:
            _fail("poisson_gain", gain, "a value > 0")
        return dphys.PoissonNoise(gain=float(gain), rng=rng)
    return None


def blur_kernel(
    kind: str | Tensor = "gaussian",
    sigma: float = 2.0,
    size: int | None = None,
    channels: int = 1,
    seed: int = 0,
) -> Tensor:
    r"""A normalised blur kernel of shape ``(1, 1, k, k)``.

    ``"gaussian"``: isotropic :math:`h(u) \propto e^{-\|u\|^2 / 2\sigma^2}`;
    ``"motion"``: a random camera-shake trajectory (deepinv's
    :class:`~deepinv.physics.generator.MotionBlurGenerator`) drawn from ``seed``;
    a tensor: the user's kernel of shape ``(k, k)``, ``(1, 1, k, k)`` or
    ``(1, C, k, k)``, normalised to sum to one.

    :Example:

    >>> from invgan.physics import blur_kernel
    >>> k = blur_kernel("gaussian", sigma=1.0, size=5)
    >>> tuple(k.shape), round(float(k.sum()), 4)
    ((1, 1, 5, 5), 1.0)
    """
    if isinstance(kind, Tensor):
        k = kind.detach().float()
        if k.dim() == 2:
            k = k[None, None]
        if k.dim() != 4 or k.shape[0] != 1 or k.shape[1] not in (1, channels) or k.shape[-1] != k.shape[-2]:
            _fail("kernel shape", tuple(kind.shape), f"(k, k), (1, 1, k, k) or (1, {channels}, k, k)")
        if k.shape[-1] % 2 == 0:
            _fail("kernel size", k.shape[-1], "an odd number")
        total = k.sum()
        if not total > 0:
            _fail("kernel sum", float(total), "a positive sum")
        return k / total
    if kind not in BLUR_KERNELS:
        _fail("kernel", kind, f"one of {BLUR_KERNELS} or a tensor")
    if kind == "gaussian":
        if not sigma > 0:
            _fail("sigma", sigma, "a value > 0")
        k = gaussian_blur(sigma=(float(sigma), float(sigma)))
        if size is not None:
            k = _center_crop_kernel(k, size)
        return k / k.sum()
    size = size or 15
    if size < 3 or size % 2 == 0:
        _fail("kernel_size", size, "an odd number >= 3")
    gen = MotionBlurGenerator((size, size), rng=torch.Generator().manual_seed(seed))
    k = gen.step(1, seed=seed)["filter"][:1, :1]
    return k / k.sum()


def _center_crop_kernel(k: Tensor, size: int) -> Tensor:
    if size < 1 or size % 2 == 0:
        _fail("kernel_size", size, "an odd number >= 1")
    n = k.shape[-1]
    if size >= n:
        pad = (size - n) // 2
        return torch.nn.functional.pad(k, (pad, pad, pad, pad))
    s = (n - size) // 2
    return k[..., s : s + size, s : s + size]


@dataclass
class MeasurementModel:
    r"""A physics operator with an optional generator of random operator draws.

    :meth:`measure` returns :math:`y = \mathcal{N}(A_\theta x)`, with a fresh
    :math:`\theta` per sample when a generator is set (the physics is updated in
    place, so later calls of ``physics.A`` use the same draw as ``y``).
    """

    physics: dphys.Physics
    generator: PhysicsGenerator | None = None
    name: str = "custom"
    params: dict[str, Any] = field(default_factory=dict)

    def measure(self, x: Tensor) -> Tensor:
        if self.generator is not None:
            draw = self.generator.step(batch_size=x.shape[0])
            return self.physics(x, **draw)
        return self.physics(x)

    def to(self, device: torch.device | str) -> "MeasurementModel":
        self.physics = self.physics.to(device)
        if self.generator is not None:
            self.generator = self.generator.to(device)
        return self

    # RNG state of the operator draws and of the noise, for exact resume.
    def rng_state(self) -> dict[str, Tensor]:
        state: dict[str, Tensor] = {}
        if self.generator is not None and getattr(self.generator, "rng", None) is not None:
            state["generator"] = self.generator.rng.get_state()
        rng = getattr(getattr(self.physics, "noise_model", None), "rng", None)
        if rng is not None:
            state["noise"] = rng.get_state()
        return state

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if "generator" in state:
            self.generator.rng.set_state(state["generator"])
        if "noise" in state:
            self.physics.noise_model.rng.set_state(state["noise"])

    def shard_streams(self, rank: int) -> None:
        """Rank-offset seeds for the operator draws and the noise (data-parallel runs); the fixed
        operator itself (a mask, a kernel, a matrix) stays the same on every rank."""
        for g in (getattr(self.generator, "rng", None), getattr(getattr(self.physics, "noise_model", None), "rng", None)):
            if g is not None and rank:
                g.manual_seed(rank_seed(g.initial_seed(), rank))


class PerSampleCompressedSensing(dphys.LinearPhysics):
    r"""Compressed sensing with one Gaussian matrix per sample, :math:`y_i = \Phi_i x_i`,
    :math:`(\Phi_i)_{jk}\sim\mathcal{N}(0, 1/m)`.

    deepinv's :class:`~deepinv.physics.CompressedSensing` holds a single matrix for the whole
    batch; AmbientGAN needs a fresh one for every sample. ``matrix`` has shape ``(B, m, n)``
    (``B`` is 1 or the batch size) and is replaced, as any deepinv parameter, by
    ``physics(x, matrix=...)`` or ``update_parameters(matrix=...)``; draws come from
    :class:`GaussianMatrixGenerator`."""

    def __init__(self, m: int, img_size: ImgSize, device: torch.device | str = "cpu", rng: torch.Generator | None = None):
        super().__init__()
        self.img_size, self.m = tuple(img_size), int(m)
        n = self.img_size[0] * self.img_size[1] * self.img_size[2]
        self.register_buffer("matrix", torch.randn(1, self.m, n, generator=rng, device=device) / self.m**0.5)

    def A(self, x: Tensor, matrix: Tensor | None = None, **kwargs) -> Tensor:
        self.update_parameters(matrix=matrix)
        return (self.matrix @ x.flatten(1).unsqueeze(-1)).squeeze(-1)

    def A_adjoint(self, y: Tensor, matrix: Tensor | None = None, **kwargs) -> Tensor:
        self.update_parameters(matrix=matrix)
        return (self.matrix.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1).view(-1, *self.img_size)


class GaussianMatrixGenerator(PhysicsGenerator):
    r"""Draws ``{"matrix": (B, m, n)}`` with i.i.d. :math:`\mathcal{N}(0, 1/m)` entries for
    :class:`PerSampleCompressedSensing`, from its own seeded ``rng``."""

    def __init__(self, m: int, n: int, device: torch.device | str = "cpu", rng: torch.Generator | None = None):
        super().__init__(device=device, rng=rng)
        self.m, self.n = int(m), int(n)

    def step(self, batch_size: int = 1, seed: int | None = None, **kwargs) -> dict[str, Tensor]:
        self.rng_manual_seed(seed)
        z = torch.randn(batch_size, self.m, self.n, generator=self.rng, device=self.device)
        return {"matrix": z / self.m**0.5}


def default_noise_sigma(name: str) -> float:
    """25/255 for ``"denoising"`` (an identity operator needs noise to be a problem), 0 otherwise.

    :Example:

    >>> from invgan.physics import default_noise_sigma
    >>> round(default_noise_sigma("denoising"), 4), default_noise_sigma("blur")
    (0.098, 0.0)
    """
    return 25.0 / 255.0 if name == "denoising" else 0.0


def make_physics(
    name: str,
    img_size: ImgSize,
    *,
    noise: str = "gaussian",
    noise_sigma: float = 0.01,
    poisson_gain: float = 0.01,
    sigma: float = 2.0,
    kernel: str | Tensor = "gaussian",
    kernel_size: int | None = None,
    padding: str = "circular",
    keep: float = 0.5,
    mask: Tensor | None = None,
    factor: int = 2,
    filter: str = "bicubic",
    m: int = 100,
    fresh_per_sample: bool = False,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> MeasurementModel:
    r"""Build a validated forward operator on top of :mod:`deepinv.physics`.

    ==================  ===========================================================
    ``name``            operator :math:`A`
    ==================  ===========================================================
    ``"blur"``          :math:`Ax = h * x`; ``kernel`` gaussian (``sigma``), motion,
                        or a user tensor; ``padding="circular"`` uses the FFT
                        operator (closed-form :math:`A^\dagger` and prox);
                        ``fresh_per_sample`` draws a kernel for every sample: a
                        Gaussian with :math:`\sigma` uniform in :math:`[\sigma/2, 3\sigma/2]`,
                        or a new motion trajectory
    ``"inpainting"``    :math:`Ax = m \odot x`, a fraction ``keep`` of pixels kept;
                        random (``seed``) or given ``mask``; ``fresh_per_sample``
                        draws a new mask for every sample
    ``"downsampling"``  :math:`Ax = S(h * x)`, ``factor`` 2 or 4, ``filter``
    ``"cs"``            :math:`Ax = \Phi x`, :math:`\Phi\in\mathbb{R}^{m\times n}`
                        with i.i.d. :math:`\mathcal{N}(0, 1/m)` entries;
                        ``fresh_per_sample``: a new :math:`\Phi` for every sample
                        (:class:`PerSampleCompressedSensing`)
    ``"denoising"``     :math:`A = I`
    ==================  ===========================================================

    Bad parameters raise :class:`ValueError` naming the parameter, the value and
    the allowed range.

    :Example:

    >>> import torch
    >>> from invgan.physics import make_physics
    >>> model = make_physics("inpainting", (1, 8, 8), keep=0.5, noise="none", seed=0)
    >>> y = model.measure(torch.ones(2, 1, 8, 8))
    >>> tuple(y.shape), round(float(y.mean()), 4)
    ((2, 1, 8, 8), 0.5469)
    >>> blur = make_physics("blur", (1, 8, 8), sigma=1.0, kernel_size=5, noise="none")
    >>> torch.allclose(blur.physics.A(torch.ones(1, 1, 8, 8)), torch.ones(1, 1, 8, 8))
    True
    """
    if name not in PHYSICS_NAMES:
        _fail("physics", name, f"one of {PHYSICS_NAMES}")
    if fresh_per_sample and name not in FRESH_PER_SAMPLE:
        _fail("fresh_per_sample", fresh_per_sample, f"False for {name!r}: operators drawn per sample are {FRESH_PER_SAMPLE}")
    img_size = _check_img_size(img_size)
    c, h, w = img_size
    n = c * h * w
    noise_model = make_noise(noise, noise_sigma, poisson_gain, rng=torch.Generator(device).manual_seed(seed + 1))
    generator: PhysicsGenerator | None = None
    params: dict[str, Any] = {"noise": noise, "noise_sigma": noise_sigma}

    if name == "blur":
        k = blur_kernel(kernel, sigma=sigma, size=kernel_size, channels=c, seed=seed)
        if max(k.shape[-2:]) > min(h, w):
            _fail("kernel_size", k.shape[-1], f"at most the image size {min(h, w)}")
        if padding == "circular":
            physics = dphys.BlurFFT(img_size=img_size, filter=k, device=device)
        elif padding in ("valid", "reflect", "replicate", "constant"):
            physics = dphys.Blur(filter=k, padding=padding, device=device)
        else:
            _fail("padding", padding, "one of ('circular', 'valid', 'reflect', 'replicate', 'constant')")
        if fresh_per_sample:
            generator = _fresh_blur_generator(kernel, sigma, k.shape[-1], min(h, w), device, seed)
        params.update(kernel=kernel if isinstance(kernel, str) else "custom", sigma=sigma, padding=padding, fresh_per_sample=fresh_per_sample)
    elif name == "inpainting":
        if mask is not None:
            mask = torch.as_tensor(mask, dtype=torch.float32)
            if tuple(mask.shape[-2:]) != (h, w):
                _fail("mask shape", tuple(mask.shape), f"(..., {h}, {w}) matching the image")
            physics = dphys.Inpainting(img_size=img_size, mask=mask.to(device), device=device)
        else:
            if not (0 < keep <= 1):
                _fail("keep", keep, "a fraction in (0, 1]")
            rng = torch.Generator(device).manual_seed(seed)
            physics = dphys.Inpainting(img_size=img_size, mask=float(keep), device=device, rng=rng)
            if fresh_per_sample:
                generator = BernoulliSplittingMaskGenerator(
                    img_size=img_size, split_ratio=float(keep), device=device,
                    rng=torch.Generator(device).manual_seed(seed + 2),
                )
        params.update(keep=keep, fresh_per_sample=fresh_per_sample)
    elif name == "downsampling":
        if factor not in (2, 4):
            _fail("factor", factor, "2 or 4")
        if h % factor or w % factor:
            _fail("factor", factor, f"a divisor of the image size {h}x{w}")
        if filter not in DOWNSAMPLING_FILTERS:
            _fail("filter", filter, f"one of {DOWNSAMPLING_FILTERS}")
        physics = dphys.Downsampling(img_size=img_size, filter=filter, factor=factor, device=device, padding="circular")
        params.update(factor=factor, filter=filter)
    elif name == "cs":
        if not (isinstance(m, int) and 1 <= m <= n):
            _fail("m", m, f"an integer in [1, {n}] (n = C*H*W)")
        if fresh_per_sample:
            physics = PerSampleCompressedSensing(m, img_size, device=device, rng=torch.Generator(device).manual_seed(seed))
            generator = GaussianMatrixGenerator(m, n, device=device, rng=torch.Generator(device).manual_seed(seed + 2))
        else:
            physics = dphys.CompressedSensing(m=m, img_size=img_size, device=device, rng=torch.Generator(device).manual_seed(seed))
        params.update(m=m, fresh_per_sample=fresh_per_sample)
    else:
        physics = dphys.Denoising(device=device)

    if noise_model is not None:
        physics.noise_model = noise_model
    else:
        physics.noise_model = dphys.ZeroNoise()
    return MeasurementModel(physics=physics, generator=generator, name=name, params=params)


def _fresh_blur_generator(kernel: str | Tensor, sigma: float, size: int, max_size: int, device: torch.device | str, seed: int) -> PhysicsGenerator:
    """deepinv's kernel generator for ``fresh_per_sample`` blur, seeded (``seed + 2``); kernels
    at most ``max_size`` (the image) wide."""
    rng = torch.Generator(device).manual_seed(seed + 2)
    if isinstance(kernel, Tensor):
        _fail("kernel", "a tensor", f"one of {BLUR_KERNELS} with fresh_per_sample=True (a given kernel cannot be redrawn)")
    if kernel == "motion":
        return MotionBlurGenerator((size, size), rng=rng, device=device)
    size = max(size, 2 * math.ceil(4.5 * sigma) + 1)  # room for the widest draw, sigma * 3/2
    size = min(size, max_size - 1 + max_size % 2)  # odd, within the image
    return GaussianBlurGenerator((size, size), sigma_min=0.5 * sigma, sigma_max=1.5 * sigma, rng=rng, device=device)


def lift(physics: dphys.Physics, y: Tensor, mode: str = "adjoint", gamma: float = 0.05) -> Tensor:
    r"""Map measurements back to image space.

    ``"adjoint"``: :math:`A^\top y`; ``"pinv"``: :math:`A^\dagger y`;
    ``"tikhonov"``: :math:`\arg\min_x \tfrac12\|Ax-y\|^2 + \tfrac{\gamma}{2}\|x\|^2`,
    computed through the operator's ``prox_l2`` (closed form for FFT blur,
    inpainting and circular downsampling).

    :Example:

    >>> import torch
    >>> from invgan.physics import lift, make_physics
    >>> model = make_physics("denoising", (1, 4, 4), noise="none")
    >>> y = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> torch.equal(lift(model.physics, y, "adjoint"), y)
    True
    """
    if mode == "adjoint":
        return physics.A_adjoint(y)
    if mode == "pinv":
        return physics.A_dagger(y)
    if mode == "tikhonov":
        # prox_l2(z, y, g) = argmin_x 1/2||Ax-y||^2 + 1/(2g)||x-z||^2, with z = 0
        z = torch.zeros_like(physics.A_adjoint(y))
        return physics.prox_l2(z, y, 1.0 / gamma)
    _fail("lift", mode, f"one of {LIFTS}")
    raise AssertionError  # unreachable


def guide(physics: dphys.Physics, y: Tensor, mode: str = "none") -> Tensor | None:
    r"""What a reconstructor may see beside its lift: ``"none"`` (nothing), ``"adjoint"``
    (:math:`A^\top y`) or ``"coverage"`` (:math:`A^\top A\mathbf 1`: for inpainting the mask, which
    pixels were measured; for a blur about 1 everywhere). A smooth lift (biharmonic inpainting)
    hides which pixels were measured; this gives it back.

    :Example:

    >>> import torch
    >>> from invgan.physics import guide, make_physics
    >>> model = make_physics("inpainting", (1, 4, 4), keep=0.5, noise="none")
    >>> y = model.measure(torch.rand(1, 1, 4, 4))
    >>> mask = guide(model.physics, y, "coverage")
    >>> sorted(mask.unique().tolist()), guide(model.physics, y, "none") is None
    ([0.0, 1.0], True)
    """
    if mode == "none":
        return None
    if mode == "adjoint":
        return physics.A_adjoint(y)
    if mode == "coverage":
        with torch.no_grad():
            ones = torch.ones_like(physics.A_adjoint(y))
            return physics.A_adjoint(physics.A(ones))
    _fail("guide", mode, f"one of {GUIDES}")
    raise AssertionError  # unreachable


def consistency_supported(physics: dphys.Physics) -> bool:
    r"""Whether :func:`enforce_consistency` accepts ``physics``: inpainting (:math:`A^\dagger = A^\top`,
    exact and free), downsampling and compressed sensing (:math:`AA^\top` well conditioned:
    deepinv's :meth:`~deepinv.physics.LinearPhysics.A_dagger` by conjugate gradients, or the
    stored pseudo-inverse for :class:`~deepinv.physics.CompressedSensing`). A blur is refused: its
    :math:`A^\dagger` amplifies the rounding of :math:`y` by the inverse of singular values near 0."""
    return isinstance(physics, (dphys.Inpainting, dphys.Downsampling, dphys.CompressedSensing, PerSampleCompressedSensing))


def enforce_consistency(physics: dphys.Physics, x: Tensor, y: Tensor, mode: str = "none", sigma: Tensor | float | None = None) -> Tensor:
    r"""Make an estimate agree with the measurement: ``"none"`` returns :math:`x`; ``"project"``
    returns :math:`x + A^\dagger(y - Ax)`, the range--null-space split of DDNM (Wang et al. 2023):
    the part of :math:`x` that :math:`A` sees is replaced by what was measured, the rest (the null
    space of :math:`A`) is kept. For inpainting, :math:`A^\dagger = A^\top` and it is
    :math:`m \odot y + (1 - m) \odot x`: the measured pixels are copied from :math:`y` (with their
    noise), the missing ones come from :math:`x`. Without noise it is the orthogonal projection onto
    :math:`\{x' : Ax' = y\}`, a convex set that holds the true image, so it never moves an estimate
    away from the truth: :math:`\|P(x) - x_\star\| \le \|x - x_\star\|`.

    ``"wiener"`` moves only part of the way, :math:`x + \lambda A^\dagger(y - Ax)` with, per image,
    :math:`\lambda = \max(0, 1 - \sigma^2 / r^2)`, :math:`r^2 = \|Ax - y\|^2/m` the mean over the
    measured entries and :math:`\sigma` the Gaussian noise level of the operator (a number or one per
    image; 0 without Gaussian noise: then it is ``"project"``). If :math:`x` errs by :math:`\tau` on a measured pixel, independently
    of the noise, :math:`r^2 \approx \tau^2 + \sigma^2` and :math:`\lambda \approx \tau^2/(\tau^2 + \sigma^2)`,
    the Wiener weight of :math:`y` against :math:`x`: at high noise the measured pixels are not copied
    with all their noise. :math:`\lambda` carries no gradient. ``sigma`` (a number or one per image)
    replaces the operator's noise level, e.g. one estimated for a Poisson noise model, which would
    otherwise count as 0; NaN (unknown) leaves that image as it is.

    Accepted operators: those of :func:`consistency_supported` (inpainting, downsampling,
    compressed sensing); for downsampling :math:`A^\dagger` runs deepinv's conjugate gradients
    (about a second for a 256x256 RGB image on one CPU core), so it suits a final step more than a
    training loop.

    :Example:

    >>> import torch
    >>> from invgan.physics import enforce_consistency, make_physics
    >>> model = make_physics("inpainting", (1, 4, 4), keep=0.5, noise="none")
    >>> x = torch.rand(1, 1, 4, 4)
    >>> y = model.measure(x)
    >>> out = enforce_consistency(model.physics, torch.zeros_like(x), y, "project")
    >>> bool(torch.equal(model.physics.A(out), y)), bool((out[model.physics.mask == 0] == 0).all())
    (True, True)
    """
    if mode == "none":
        return x
    if mode not in CONSISTENCIES:
        _fail("consistency", mode, f"one of {CONSISTENCIES}")
    if not consistency_supported(physics):
        raise ValueError(f"consistency={mode!r} needs an inpainting, downsampling or compressed-sensing operator "
                         f"(whose A^dagger is exact or well conditioned), got {type(physics).__name__}")
    misfit = y - physics.A(x)
    residual = physics.A_dagger(misfit)
    if mode == "wiener":
        noise = physics.noise_model
        with torch.no_grad():
            # deepinv's sigma is a number or one per image
            if sigma is None:
                sigma = noise.sigma if isinstance(noise, dphys.GaussianNoise) else 0.0
            sigma = torch.nan_to_num(torch.as_tensor(sigma).to(x).flatten(), nan=math.inf)  # unknown: lambda = 0
            measured = (physics.A(torch.ones_like(x)) != 0).flatten(1).sum(1).clamp_min(1)  # an inpainting y keeps zeros where nothing was measured
            r2 = misfit.pow(2).flatten(1).sum(1) / measured
            weight = (1 - sigma**2 / r2.clamp_min(1e-12)).clamp_min(0).view(-1, *[1] * (x.dim() - 1))
        return x + weight * residual
    return x + residual
