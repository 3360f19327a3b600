r"""Conditional GAN reconstructor: :math:`\min_R \max_D\; w_\text{rec}\mathcal{L}_\text{rec}(\hat x, x)
+ w_\text{mc}\|A\hat x - y\|^2 + \lambda\,\mathcal{L}_\text{adv}(D)`, :math:`\hat x = R(y, A, z)`.

Supervised (``D`` compares :math:`x` with :math:`\hat x`) or self-supervised (``D`` compares
:math:`y` with :math:`A\hat x`, optionally with UAIR's cycle consistency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..data import CropStream, MeasuredSet, fixed_crops, fixed_measurements, load_images
from ..losses import AdversarialLoss, MeasurementConsistencyLoss, ReconstructionBatch, ReconstructionLoss, make_adversarial_loss
from ..nets import ConditionalReconstructor, make_discriminator
from ..physics import MeasurementModel, lift
from .config import RunConfig
from ..metrics import baselines, evaluate_estimator, set_operator
from .recipe import Phase, Recipe
from .trainer import Trainer, make_schedulers, select_device


class ConditionalGANRecipe(Recipe):
    r"""Phases: ``D`` (every step, when adversarial) and ``G`` (every ``n_critic`` steps),
    sharing one reconstruction :math:`\hat x = R(y, A)` per step."""

    preview_columns = 3

    def __init__(
        self,
        reconstructor: nn.Module,
        measurement: MeasurementModel,
        discriminator: nn.Module | None = None,
        adversarial: AdversarialLoss | None = None,
        adv_weight: float = 0.0,
        reconstruction: nn.Module | None = None,
        rec_weight: float = 1.0,
        mc_weight: float = 0.0,
        n_critic: int = 1,
        back_projection: str = "adjoint",
    ):
        super().__init__()
        if (discriminator is None) != (adversarial is None):
            raise ValueError("give both a discriminator and an adversarial loss, or neither")
        if reconstruction is None and adversarial is None and mc_weight == 0:
            raise ValueError("the generator has no loss: set a reconstruction, adversarial or measurement-consistency loss")
        if n_critic < 1:
            raise ValueError(f"invalid n_critic={n_critic!r}: expected >= 1")
        self.networks["G"] = reconstructor
        if discriminator is not None:
            self.networks["D"] = discriminator
        self.measurement = measurement
        self.adversarial, self.adv_weight = adversarial, adv_weight
        self.reconstruction, self.rec_weight = reconstruction, rec_weight
        self.mc = MeasurementConsistencyLoss() if mc_weight > 0 else None
        self.mc_weight, self.n_critic, self.back_projection = mc_weight, n_critic, back_projection
        self._baselines: dict[str, float] | None = None

    def forward(self, x: Tensor, step: int) -> ReconstructionBatch:
        y = self.measurement.measure(x)
        physics = self.measurement.physics
        G = self.networks["G"]
        return ReconstructionBatch(y=y, physics=physics, x_hat=G(y, physics), x=x, model=G)

    def phases(self) -> list[Phase]:
        phases = []
        if self.adversarial is not None:
            phases.append(Phase("D", ("D",), self.discriminator_loss))
        phases.append(Phase("G", ("G",), self.generator_loss, every=self.n_critic))
        return phases

    def discriminator_loss(self, b: ReconstructionBatch) -> tuple[Tensor, dict[str, Tensor]]:
        return self.adversarial.discriminator_loss(self.networks["D"], b), {}  # type: ignore[union-attr]

    def generator_loss(self, b: ReconstructionBatch) -> tuple[Tensor, dict[str, Tensor]]:
        terms: dict[str, Tensor] = {}
        if self.reconstruction is not None:
            terms["rec"] = self.rec_weight * self.reconstruction(b)
        if self.mc is not None:
            terms["mc"] = self.mc_weight * self.mc(b)
        if self.adversarial is not None:
            terms["adv"] = self.adv_weight * self.adversarial(self.networks["D"], b)
        return sum(terms.values()), terms  # type: ignore[return-value]

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, generator: nn.Module, data: MeasuredSet | None, full: bool = False) -> dict[str, float]:
        if data is None:
            return {}
        physics = self.measurement.physics
        if self._baselines is None:
            self._baselines = baselines(data, physics, self.back_projection)
        return {**evaluate_estimator(generator, data, physics), **self._baselines}

    def preview(self, generator: nn.Module, data: MeasuredSet | None, n: int = 6) -> Tensor | None:
        """Rows of (back-projected measurement | reconstruction | truth)."""
        if data is None:
            return None
        x, y, params = next(data.batches(n))
        device = next(generator.parameters()).device
        physics = self.measurement.physics
        set_operator(physics, {k: v.to(device) for k, v in params.items()})
        x, y = x.to(device), y.to(device)
        x_hat = generator(y, physics)
        rows = torch.stack([lift(physics, y, self.back_projection), x_hat, x], dim=1)
        return rows.flatten(0, 1)

    def rng_state(self) -> dict[str, Tensor]:
        return self.measurement.rng_state()

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        self.measurement.set_rng_state(state)


@dataclass
class ConditionalRun:
    """Everything a conditional-GAN run is made of, built from a :class:`RunConfig`."""

    config: RunConfig
    trainer: Trainer
    stream: CropStream
    eval_set: MeasuredSet
    measurement: MeasurementModel

    def fit(self) -> dict[str, float]:
        return self.trainer.fit(self.stream)


def build_measurement(cfg: RunConfig, device: torch.device | str = "cpu") -> MeasurementModel:
    return cfg.physics.build((cfg.data.channels, cfg.data.crop, cfg.data.crop), device)


def build_reconstructor(cfg: RunConfig) -> ConditionalReconstructor:
    m = cfg.model
    return ConditionalReconstructor(
        cfg.data.channels, width=m.width, depth=m.depth, lift=m.lift, gamma=m.gamma, latent_channels=m.latent_channels, norm=m.norm
    )


def build_conditional(cfg: RunConfig, out_dir: str | None = None, progress: bool | None = None) -> ConditionalRun:
    """Data, operator, networks, losses, optimisers and trainer of a conditional-GAN run."""
    torch.manual_seed(cfg.train.seed)
    device = select_device(cfg.train.device)
    d, L, o = cfg.data, cfg.loss, cfg.optim
    train_images = load_images(d.source, "train", d.channels, min_size=d.crop)
    test_images = load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop)
    measurement = build_measurement(cfg, device)
    stream = CropStream(train_images, d.crop, d.batch_size, augment=d.augment, seed=d.seed)
    eval_set = fixed_measurements(measurement, fixed_crops(test_images, d.crop, d.eval_crops).to(device), seed=1234)

    G = build_reconstructor(cfg)
    adversarial = D = None
    if L.adv_weight > 0:
        kwargs: dict[str, Any] = {"cycle_weight": L.cycle_weight} if L.adversarial == "uair" else {}
        adversarial = make_adversarial_loss(L.adversarial, L.objective, **kwargs)
        d_channels = d.channels
        if L.adversarial != "supervised":  # D sees measurements
            y_shape = eval_set.y.shape
            if len(y_shape) != 4 or y_shape[-1] != y_shape[-2]:
                raise ValueError(f"adversarial={L.adversarial!r} needs image-shaped measurements, got shape {tuple(y_shape[1:])}")
            d_channels = y_shape[1]
        size = eval_set.y.shape[-1] if L.adversarial != "supervised" else d.crop
        extra = {"n_layers": cfg.model.d_layers} if cfg.model.discriminator == "patchgan" else {}
        D = make_discriminator(cfg.model.discriminator, d_channels, size, width=cfg.model.d_width, spectral_norm=cfg.model.spectral_norm, **extra)
    if L.reconstruction not in ("mse", "l1", "none"):
        raise ValueError(f"invalid loss.reconstruction={L.reconstruction!r}: expected 'mse', 'l1' or 'none'")
    recipe = ConditionalGANRecipe(
        G, measurement, discriminator=D, adversarial=adversarial, adv_weight=L.adv_weight,
        reconstruction=None if L.reconstruction == "none" else ReconstructionLoss(L.reconstruction), rec_weight=L.rec_weight,
        mc_weight=L.mc_weight, n_critic=o.n_critic,
    )
    betas = (o.beta1, o.beta2)
    optimizers = {"G": torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=betas, weight_decay=o.weight_decay)}
    if D is not None:
        optimizers["D"] = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=betas)
    schedulers = make_schedulers(optimizers, o.scheduler, {"G": -(-cfg.train.steps // o.n_critic), "D": cfg.train.steps})
    t = cfg.train
    trainer = Trainer(
        recipe, optimizers, t.steps, schedulers=schedulers, eval_data=eval_set, out_dir=out_dir if out_dir is not None else t.out_dir,
        ema=o.ema, grad_clip=o.grad_clip, precision=t.precision, device=device, channels_last=t.channels_last,
        log_every=t.log_every, eval_every=t.eval_every, checkpoint_every=t.checkpoint_every,
        progress=t.progress if progress is None else progress, tensorboard=t.tensorboard, config=cfg.to_dict(),
    )
    return ConditionalRun(cfg, trainer, stream, eval_set, measurement)
