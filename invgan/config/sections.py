r"""The sections every kind of job shares: the forward operator (:class:`PhysicsConfig`), the
optimisers (:class:`OptimConfig`) and the training loop (:class:`TrainConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..optim import OPTIMIZERS, SCHEDULERS
from ..precision import PRECISIONS
from .schema import _check, _opt

@dataclass
class PhysicsConfig:
    r"""Forward operator :math:`y = \mathcal{N}(Ax)`, built by :func:`invgan.builders.build_operator`
    through :func:`invgan.physics.make_physics` (whose defaults are these). The one physics section of every kind of job."""

    name: str = _opt("blur", "operator: blur, inpainting, downsampling, cs or denoising")
    sigma: float = _opt(2.0, "Gaussian blur width (pixels)")
    kernel: str = _opt("gaussian", "blur kernel: gaussian or motion")
    kernel_size: int | None = _opt(None, "blur kernel size (odd; default: from sigma)")
    padding: str = _opt("circular", "blur boundary: circular (FFT), valid, reflect, replicate or constant")
    keep: float = _opt(0.5, "fraction of pixels kept by inpainting, in (0, 1]")
    fresh_per_sample: bool = _opt(False, "a new mask, kernel or CS matrix for every sample")
    factor: int = _opt(2, "downsampling factor: 2 or 4")
    filter: str = _opt("bicubic", "downsampling anti-alias filter: bicubic, bilinear, gaussian or none")
    m: int = _opt(100, "compressed-sensing measurements per image")
    noise: str = _opt("gaussian", "noise model: gaussian, poisson or none")
    noise_sigma: float | None = _opt(0.01, "Gaussian noise standard deviation (images in [0, 1]); none: the operator's usual level")
    poisson_gain: float = _opt(0.01, "Poisson noise gain")
    seed: int = _opt(0, "seed of the operator draws and of the noise")

    def __post_init__(self) -> None:
        _check(self, [
            ("sigma", self.sigma > 0, "a value > 0"),
            ("kernel_size", self.kernel_size is None or (self.kernel_size >= 1 and self.kernel_size % 2 == 1), "None or an odd integer >= 1"),
            ("keep", 0 < self.keep <= 1, "a fraction in (0, 1]"),
            ("factor", self.factor in (2, 4), "2 or 4"),
            ("m", self.m >= 1, "an integer >= 1"),
            ("noise_sigma", self.noise_sigma is None or self.noise_sigma >= 0, "a value >= 0 (or none)"),
            ("poisson_gain", self.poisson_gain > 0, "a value > 0"),
        ], section="physics")


@dataclass
class OptimConfig:
    """Optimisers of the generator (or reconstructor) ``G`` and of the discriminator ``D``
    (:mod:`invgan.optim`)."""

    optimizer: str = _opt("adam", "adam (with beta1, beta2) or rmsprop (WGAN's)")
    lr_g: float = _opt(1e-3, "learning rate of G")
    lr_d: float = _opt(2e-4, "learning rate of D")
    beta1: float = _opt(0.5, "Adam's first-moment decay")
    beta2: float = _opt(0.999, "Adam's second-moment decay")
    weight_decay: float = _opt(0.0, "weight decay of G")
    scheduler: str = _opt("cosine", "learning-rate schedule: none, or cosine (down to 1 % over each network's updates)")
    n_critic: int = _opt(1, "steps of D per step of G")
    grad_clip: float | None = _opt(None, "clip the gradient norm of each network to this value; none: off")
    ema: float = _opt(0.0, "decay of the exponential moving average of G's weights (0: off)")

    def __post_init__(self) -> None:
        _check(self, [
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {OPTIMIZERS}"),
            ("lr_g", self.lr_g > 0, "a value > 0"),
            ("lr_d", self.lr_d > 0, "a value > 0"),
            ("beta1", 0 <= self.beta1 < 1, "a value in [0, 1)"),
            ("beta2", 0 <= self.beta2 < 1, "a value in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "a value >= 0"),
            ("scheduler", self.scheduler in SCHEDULERS, "'none' or 'cosine'"),
            ("n_critic", self.n_critic >= 1, "an integer >= 1"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "a value > 0 (or none)"),
            ("ema", 0 <= self.ema < 1, "a decay in [0, 1) (0: off)"),
        ], section="optim")


@dataclass
class TrainConfig:
    """The training loop: length, cadences, device, precision and outputs."""

    steps: int = _opt(1500, "training steps")
    eval_every: int = _opt(500, "steps between held-out evaluations (0: none during training)")
    log_every: int = _opt(25, "steps between log lines")
    checkpoint_every: int = _opt(500, "steps between checkpoints (0: only the final one)")
    device: str = _opt("auto", "auto, cpu, cuda, cuda:N or mps")
    precision: str = _opt("auto", "auto, fp32, bf16 or fp16 (see invgan.precision)")
    channels_last: bool = _opt(True, "channels-last memory format of the networks and batches")
    seed: int = _opt(0, "seed of the networks' initialisation and of the training draws")
    out_dir: str = _opt("runs/cgan", "run folder")
    progress: bool = _opt(True, "show a progress bar")
    tensorboard: bool = _opt(True, "write TensorBoard logs (when tensorboard is installed)")
    compile: bool = _opt(False, "torch.compile each network")
    sync_batchnorm: bool = _opt(False, "SyncBatchNorm in data-parallel CUDA runs (plain BatchNorm on CPU)")
    find_unused_parameters: bool = _opt(False, "DDP's option, for phases that leave parameters of their networks without gradient")

    def __post_init__(self) -> None:
        _check(self, [
            ("steps", self.steps >= 0, "an integer >= 0"),
            ("eval_every", self.eval_every >= 0, "an integer >= 0 (0: no evaluation during training)"),
            ("log_every", self.log_every >= 1, "an integer >= 1"),
            ("checkpoint_every", self.checkpoint_every >= 0, "an integer >= 0 (0: only the final checkpoint)"),
            ("precision", self.precision in PRECISIONS, f"one of {PRECISIONS}"),
            ("out_dir", bool(self.out_dir), "a folder"),
        ], section="train")
