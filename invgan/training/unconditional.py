r"""Unconditional GANs :math:`G(z)` and AmbientGAN, as recipes for the :class:`~invgan.training.trainer.Trainer`.

Unconditional GAN (Goodfellow et al. 2014, DCGAN): with an objective pair
:math:`(\ell_D, \ell_G)` of :mod:`invgan.losses.objectives`,

.. math::

    \min_D\; \ell_D\big(D(x), D(G(z))\big), \qquad \min_G\; \ell_G\big(D(G(z))\big),
    \qquad z\sim\mathcal{N}(0, I).

AmbientGAN (Bora et al. 2018): only measurements :math:`y = \mathcal{N}(A_\theta x)` are
available; :math:`D` compares them with simulated measurements of generated images, each
with its own fresh operator draw :math:`\theta'`:

.. math::

    \min_D\; \ell_D\big(D(y), D(\mathcal{N}(A_{\theta'} G(z)))\big), \qquad
    \min_G\; \ell_G\big(D(\mathcal{N}(A_{\theta'} G(z)))\big).

:math:`D` never sees a clean image, real or generated. One generator forward per step is
shared by both phases; the ``D`` phase uses it detached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ..data import CropStream
from ..data.small_sets import load_small_set
from ..losses.objectives import GANObjective, get_objective
from ..nets.discriminators import make_discriminator
from ..nets.generators import LatentGenerator, make_generator
from ..physics import MeasurementModel
from .config import OptimConfig, PhysicsConfig, TrainConfig, dataclass_from_dict, apply_overrides, merge
from .recipe import Phase, Recipe
from .trainer import Trainer, make_schedulers, select_device


@dataclass
class GANStep:
    """The shared computations of a step: what D sees as real and as fake, and G's output."""

    real: Tensor
    fake: Tensor
    x_fake: Tensor


class UnconditionalGANRecipe(Recipe):
    r"""``D`` phase (every step) and ``G`` phase (every ``n_critic`` steps) on one
    :math:`G(z)` per step. Latents come from the recipe's own seeded stream (saved with
    checkpoints); :meth:`preview` renders a fixed latent batch, :meth:`evaluate` returns the
    :mod:`invgan.metrics` of samples against held-out images (``fd``, ``neg_fd``, ...)."""

    preview_columns = 8

    def __init__(self, generator: LatentGenerator, discriminator: nn.Module, objective: str | GANObjective = "ns", *,
                 n_critic: int = 1, seed: int = 0, preview_n: int = 64, eval_samples: int = 1000, classifier: Any = None):
        super().__init__()
        if n_critic < 1:
            raise ValueError(f"invalid n_critic={n_critic!r}: expected >= 1")
        self.networks["G"], self.networks["D"] = generator, discriminator
        self.objective = get_objective(objective)
        self.n_critic, self.eval_samples, self.classifier = n_critic, eval_samples, classifier
        self.latent_rng = torch.Generator().manual_seed(seed)
        self.register_buffer("preview_z", torch.randn(preview_n, generator.latent_dim, generator=torch.Generator().manual_seed(seed + 7919)), persistent=False)

    # ------------------------------------------------------------------ training
    def latents(self, n: int, device: torch.device) -> Tensor:
        return torch.randn(n, self.networks["G"].latent_dim, generator=self.latent_rng).to(device)

    def to_discriminator(self, x: Tensor, real: bool) -> Tensor:
        """What D sees of an image batch (the identity here; measurements for AmbientGAN)."""
        return x

    def forward(self, batch: Tensor, step: int) -> GANStep:
        x_fake = self.networks["G"](self.latents(batch.shape[0], batch.device))
        return GANStep(real=self.to_discriminator(batch, real=True), fake=self.to_discriminator(x_fake, real=False), x_fake=x_fake)

    def phases(self) -> list[Phase]:
        return [Phase("D", ("D",), self.discriminator_loss), Phase("G", ("G",), self.generator_loss, every=self.n_critic)]

    def discriminator_loss(self, s: GANStep) -> tuple[Tensor, dict[str, Tensor]]:
        D = self.networks["D"]
        with parametrize.cached():  # one spectral normalisation of D's weights for both calls
            real, fake = D(s.real), D(s.fake.detach())
        return self.objective.d(real, fake), {"real_logit": real.mean().detach(), "fake_logit": fake.mean().detach()}

    def generator_loss(self, s: GANStep) -> tuple[Tensor, dict[str, Tensor]]:
        D = self.networks["D"]
        with parametrize.cached():
            real = D(s.real) if self.objective.needs_real_in_g else None  # D is frozen in this phase
            return self.objective.g(D(s.fake), real), {}

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, generator: nn.Module, data: Tensor | None, full: bool = False) -> dict[str, float]:
        """Classifier metrics of ``eval_samples`` samples against held-out images; with ``full``
        also the sliced Wasserstein distances (about 20 s for 1,000 MNIST digits on one CPU core)."""
        if data is None or self.classifier is None:
            return {}
        from ..metrics import generator_metrics

        z = torch.randn(self.eval_samples, generator.latent_dim, generator=torch.Generator().manual_seed(1)).to(data.device)
        fake = torch.cat([generator(c) for c in z.split(250)])
        m = generator_metrics(fake.cpu(), data.cpu(), self.classifier, swd=full)
        return {**m, "neg_fd": -m["fd"]}

    @torch.no_grad()
    def preview(self, generator: nn.Module, data: Any) -> Tensor:
        """Samples from the fixed latent batch (the same at every evaluation)."""
        return generator(self.preview_z)

    def rng_state(self) -> dict[str, Tensor]:
        return {"latent": self.latent_rng.get_state()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if "latent" in state:
            self.latent_rng.set_state(state["latent"])


class AmbientGANRecipe(UnconditionalGANRecipe):
    r"""AmbientGAN: D compares real measurements with measurements of :math:`G(z)`, each drawn
    with a fresh operator (``measurement.generator`` set, e.g. ``fresh_per_sample=True``
    inpainting). With ``data_are_measurements=True`` batches are measurements :math:`y`;
    otherwise (simulation) clean batches are measured here and only :math:`y` reaches D.

    ``view="adjoint"`` shows D the back-projection :math:`A_{\theta}^\top y` through each sample's
    own draw instead of :math:`y`. Needed for compressed sensing with a fresh matrix per sample:
    there :math:`y\,|\,x \sim \mathcal{N}(0, \|x\|^2 I/m)` carries nothing of :math:`x` but its
    norm unless D also knows :math:`\Phi` (Bora et al. 2018 give D the projection too);
    :math:`\Phi^\top\Phi x` does carry it, and is still computed from the measurement alone."""

    views = ("measurement", "adjoint")

    def __init__(self, generator: LatentGenerator, discriminator: nn.Module, measurement: MeasurementModel,
                 objective: str | GANObjective = "ns", *, data_are_measurements: bool = False, view: str = "measurement", **kwargs):
        super().__init__(generator, discriminator, objective, **kwargs)
        if view not in self.views:
            raise ValueError(f"invalid view={view!r}: expected one of {self.views}")
        if view == "adjoint" and data_are_measurements:
            raise ValueError("view='adjoint' needs each real sample's operator draw: simulate the measurements (data_are_measurements=False)")
        self.measurement, self.data_are_measurements, self.view = measurement, data_are_measurements, view

    def to_discriminator(self, x: Tensor, real: bool) -> Tensor:
        if real and self.data_are_measurements:
            return x
        y = self.measurement.measure(x)  # fresh operator draw per sample, gradient flows to G
        return self.measurement.physics.A_adjoint(y) if self.view == "adjoint" else y

    def rng_state(self) -> dict[str, Tensor]:
        return {**super().rng_state(), **{f"measurement/{k}": v for k, v in self.measurement.rng_state().items()}}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        super().set_rng_state(state)
        self.measurement.set_rng_state({k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("measurement/")})


# ---------------------------------------------------------------------- configs and presets
@dataclass
class DigitsDataConfig:
    """Built-in images (``"mnist"``, ``"digits8"``, ``"lfw"``; see :mod:`invgan.data.digits`)."""

    dataset: str = "mnist"
    batch_size: int = 64
    eval_samples: int = 1000
    seed: int = 0


@dataclass
class LatentModelConfig:
    generator: str = "dcgan"
    latent_dim: int = 64
    width: int = 32
    output: str = "sigmoid"
    d_width: int = 32
    spectral_norm: bool = False


@dataclass
class UnconditionalConfig:
    """A run of :class:`UnconditionalGANRecipe` (``ambient=False``) or :class:`AmbientGANRecipe`."""

    ambient: bool = False
    objective: str = "ns"
    classifier_metrics: bool = True
    data: DigitsDataConfig = field(default_factory=DigitsDataConfig)
    model: LatentModelConfig = field(default_factory=LatentModelConfig)
    physics: PhysicsConfig = field(default_factory=lambda: PhysicsConfig(name="inpainting", keep=0.5, fresh_per_sample=True, noise="none"))
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr_g=2e-4, lr_d=2e-4, beta1=0.5, scheduler="none", ema=0.999))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=4000, eval_every=1000, checkpoint_every=1000, out_dir="runs/dcgan-mnist", tensorboard=False))

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)


UNCONDITIONAL_PRESETS: dict[str, dict[str, Any]] = {
    # step counts of the runs reported in docs/latent_search.md (about 33 and 19 minutes on one CPU core)
    "dcgan-mnist": {"train": {"steps": 16000}},
    "ambientgan-mnist": {"ambient": True, "train": {"steps": 8000, "out_dir": "runs/ambientgan-mnist"}},
    "dcgan-digits8": {"data": {"dataset": "digits8"}, "model": {"generator": "mlp"}, "train": {"steps": 1000, "out_dir": "runs/dcgan-digits8"}},
}


def resolve_unconditional(preset: str | None = None, data: dict[str, Any] | None = None, overrides: list[str] | None = None) -> UnconditionalConfig:
    """A validated :class:`UnconditionalConfig` from a preset, a dict and ``section.key=value`` overrides."""
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in UNCONDITIONAL_PRESETS:
            raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(UNCONDITIONAL_PRESETS)}")
        base = merge(base, UNCONDITIONAL_PRESETS[preset])
    base = merge(base, data or {})
    defaults = UnconditionalConfig().to_dict()
    return dataclass_from_dict(UnconditionalConfig, merge(defaults, apply_overrides(base, overrides or [])), "")


@dataclass
class UnconditionalRun:
    config: UnconditionalConfig
    trainer: Trainer
    stream: CropStream
    heldout: Tensor

    def fit(self) -> dict[str, float]:
        return self.trainer.fit(self.stream)


def build_discriminator(in_channels: int, size: int, width: int, spectral_norm: bool) -> nn.Module:
    """The foundation's DCGAN discriminator, behind zero padding to the next power of two
    (MNIST's 28×28 images and measurements are seen as 32×32)."""
    target = max(16, 1 << (size - 1).bit_length())
    D = make_discriminator("dcgan", in_channels, target, width=width, spectral_norm=spectral_norm)
    if target == size:
        return D
    lo = (target - size) // 2
    return nn.Sequential(nn.ZeroPad2d((lo, target - size - lo, lo, target - size - lo)), D)


def build_unconditional(cfg: UnconditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> UnconditionalRun:
    """Data, networks, operator (AmbientGAN), recipe, optimisers and trainer of a run."""
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, m, o, t = cfg.data, cfg.model, cfg.optim, cfg.train
    train, held = load_small_set(d.dataset, "train", seed=d.seed), load_small_set(d.dataset, "heldout", seed=d.seed)
    shape = tuple(train.x.shape[1:])
    G = make_generator(m.generator, m.latent_dim, shape, output=m.output, width=m.width)
    if m.output != "sigmoid":
        raise ValueError(f"built-in digits are in [0, 1]: model.output must be 'sigmoid', got {m.output!r}")
    measurement = cfg.physics.build(shape, device) if cfg.ambient else None
    D = build_discriminator(shape[0], shape[-1], m.d_width, m.spectral_norm)
    view = "measurement"
    if measurement is not None:
        with torch.no_grad():
            y_shape = tuple(measurement.physics.A(torch.zeros(1, *shape, device=device)).shape[1:])
        if y_shape != shape:  # vector measurements (compressed sensing): D sees A^T y, see AmbientGANRecipe
            view = "adjoint"
    classifier = None
    if cfg.classifier_metrics and d.dataset in ("mnist", "digits8"):
        from ..metrics import load_classifier

        classifier = load_classifier(dataset=d.dataset)
    kwargs = dict(seed=t.seed, eval_samples=d.eval_samples, classifier=classifier, n_critic=o.n_critic)
    if measurement is not None:
        if measurement.generator is None and cfg.physics.name in ("inpainting", "cs"):
            raise ValueError(f"AmbientGAN with {cfg.physics.name!r} needs a fresh operator per sample (one fixed mask or "
                             "matrix never shows D the rest of the image): set physics.fresh_per_sample = true")
        recipe: UnconditionalGANRecipe = AmbientGANRecipe(G, D, measurement, cfg.objective, view=view, **kwargs)
    else:
        recipe = UnconditionalGANRecipe(G, D, cfg.objective, **kwargs)
    betas = (o.beta1, o.beta2)
    optimizers = {"G": torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=betas), "D": torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=betas)}
    schedulers = make_schedulers(optimizers, o.scheduler, {"G": -(-t.steps // o.n_critic), "D": t.steps})
    config = cfg.to_dict()
    config["generator"] = G.config
    trainer = Trainer(
        recipe, optimizers, t.steps, schedulers=schedulers, eval_data=held.x.to(device), out_dir=out_dir if out_dir is not None else t.out_dir,
        ema=o.ema, grad_clip=o.grad_clip, precision=t.precision, device=device, channels_last=t.channels_last, log_every=t.log_every, eval_every=t.eval_every,
        checkpoint_every=t.checkpoint_every, progress=t.progress if progress is None else progress, tensorboard=t.tensorboard,
        config=config, best_metric="neg_fd",
    )
    stream = CropStream(list(train.x), shape[-1], d.batch_size, augment=False, seed=d.seed)
    return UnconditionalRun(cfg, trainer, stream, held.x)
