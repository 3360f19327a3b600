r"""The GAN core: every adversarial system of invgan is a configuration of :class:`GANRecipe`.

A configuration says

* what the generator is given (:class:`LatentInput`: :math:`G(z)` or :math:`G(z, c)`;
  :class:`MeasurementInput`: :math:`R(y, A)` with :math:`y = \mathcal{N}(A x)`),
* what the discriminator judges as real and as fake (:class:`ImageView`: :math:`x` vs
  :math:`\hat x`; :class:`MeasurementView`: :math:`y` vs :math:`A\hat x`; :class:`AmbientView`:
  fresh simulated measurements of both; :class:`PairView`: :math:`(\ell(y), x)` vs
  :math:`(\ell(y), \hat x)` for a conditional D),
* which objective (:mod:`invgan.losses.objectives`, by name),
* which extra losses apply to each network (:class:`LossTerm`: reconstruction, measurement
  consistency, a head loss of ``D``, ...), each with a weight and a start step,
* which regularisers act on ``D`` (:class:`Regularizer`: R1, R2, gradient penalty, DRAGAN, in
  ``D``'s loss every step or lazily every :math:`k` steps as a phase of their own) and which
  constraints act on its weights after each update (``d_constraints``: WGAN's clipping),
* optionally a differentiable augmentation of everything ``D`` sees (:class:`AugmentedView`).

One step draws the inputs, runs :math:`G` once and builds what ``D`` judges; the ``D`` phase
minimises :math:`\ell_D + \sum_j w_j \mathcal{L}^D_j` (every-step regularisers included), the ``G``
phase (every ``n_critic`` steps) :math:`\sum_i w_i \mathcal{L}^G_i + \lambda\,\ell_G`, and each lazy
regulariser runs as a phase of its own. The adversarial part starts at ``adv_start`` (a warm-up
on the other terms before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

import torch
from torch import Tensor, nn

from ..data.diffaugment import diff_augment, parse_policy
from ..losses import REGULARIZERS, AdversarialLoss, GANObjective, GANStep, LatentCodes
from ..losses.objectives import UNCONDITIONAL_OBJECTIVE
from ..physics import MeasurementModel, lift
from .distributed import offset_generator
from .recipe import Phase, Recipe

Batch = Any  # a tensor of images, or a dict of tensors ("x", "y", "label", ...)


def as_dict(batch: Batch) -> dict[str, Any]:
    """A batch as a dict: a bare tensor is the image batch ``{"x": batch}``."""
    if isinstance(batch, Tensor):
        return {"x": batch}
    if isinstance(batch, Mapping):
        return dict(batch)
    raise ValueError(f"a batch must be a tensor of images or a dict of tensors, got {type(batch).__name__}")


def _batch_size(batch: dict[str, Any]) -> tuple[int, torch.device]:
    for v in batch.values():
        if isinstance(v, Tensor):
            return v.shape[0], v.device
    raise ValueError(f"the batch holds no tensor (keys: {sorted(batch)})")


# ---------------------------------------------------------------------- what G is given
class GeneratorInput(Protocol):
    """Runs the generator on what it is given for a batch; owns the random streams it draws from."""

    def __call__(self, G: nn.Module, batch: dict[str, Any], step: int) -> GANStep: ...

    def rng_state(self) -> dict[str, Tensor]: ...

    def set_rng_state(self, state: dict[str, Tensor]) -> None: ...


class LatentInput:
    r""":math:`G(z)`, :math:`z \sim \mathcal{N}(0, I)` of shape ``(B, *latent_shape)`` from a seeded
    stream saved with checkpoints; with ``label_key``, :math:`G(z, c)` with the batch's labels
    ``c`` (CGAN, ACGAN); with ``codes`` (:class:`~invgan.losses.LatentCodes`), InfoGAN's structured
    latent :math:`[z, c, u]` drawn from the same stream (``latent_shape`` is then ``codes.dim``)."""

    def __init__(self, latent_shape: int | tuple[int, ...], seed: int = 0, label_key: str | None = None, codes: LatentCodes | None = None):
        self.latent_shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
        if codes is not None and self.latent_shape != (codes.dim,):
            raise ValueError(f"latent_shape {self.latent_shape} does not match the codes' dimension {codes.dim}")
        self.label_key, self.codes = label_key, codes
        self.rng = torch.Generator().manual_seed(seed)

    def latents(self, n: int, device: torch.device) -> Tensor:
        if self.codes is not None:
            return self.codes.sample(n, self.rng).to(device)
        return torch.randn(n, *self.latent_shape, generator=self.rng).to(device)

    def __call__(self, G: nn.Module, batch: dict[str, Any], step: int) -> GANStep:
        n, device = _batch_size(batch)
        z = self.latents(n, device)
        label = None
        if self.label_key is not None:
            if self.label_key not in batch:
                raise ValueError(f"the generator is conditioned on {self.label_key!r}, but the batch has only {sorted(batch)}")
            label = batch[self.label_key]
        x_hat = G(z, label) if label is not None else G(z)
        return GANStep(x_hat=x_hat, x=batch.get("x"), y=batch.get("y"), z=z, label=label, model=G, batch=batch, step=step)

    def rng_state(self) -> dict[str, Tensor]:
        return {"latent": self.rng.get_state()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if "latent" in state:
            self.rng.set_state(state["latent"])

    def shard_streams(self, rank: int) -> None:
        offset_generator(self.rng, rank)


class MeasurementInput:
    r""":math:`\hat x = R(y, A)` with :math:`y = \mathcal{N}(A_\theta x)` simulated from the batch's
    images (a fresh draw :math:`\theta` per sample when the model has a generator).

    With ``samples`` :math:`P \ge 2` (rcGAN's posterior sampling), ``G`` is run :math:`P` times on
    each measurement (each call draws its own latent :math:`z_p`): the step's ``x_hat`` holds the
    :math:`BP` samples, ``x`` the truth repeated to match (what ``D`` compares them with), and
    ``extras["samples"]`` the samples as ``(B, P, C, H, W)`` for the losses of their mean and spread
    (:mod:`invgan.losses.posterior`); ``y`` and ``physics`` stay those of the :math:`B` measurements."""

    def __init__(self, measurement: MeasurementModel, samples: int = 1):
        if samples < 1:
            raise ValueError(f"invalid samples={samples!r}: expected an integer >= 1")
        self.measurement, self.samples = measurement, samples

    def __call__(self, G: nn.Module, batch: dict[str, Any], step: int) -> GANStep:
        x = batch["x"]
        y = self.measurement.measure(x)
        physics = self.measurement.physics
        if self.samples == 1:
            return GANStep(x_hat=G(y, physics), x=x, y=y, physics=physics, model=G, batch=batch, step=step)
        samples = torch.stack([G(y, physics) for _ in range(self.samples)], 1)  # (B, P, C, H, W)
        return GANStep(x_hat=samples.flatten(0, 1), x=x.repeat_interleave(self.samples, 0), y=y, physics=physics, model=G,
                       batch=batch, step=step, extras={"samples": samples})

    def rng_state(self) -> dict[str, Tensor]:
        return self.measurement.rng_state()

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        self.measurement.set_rng_state(state)

    def shard_streams(self, rank: int) -> None:
        self.measurement.shard_streams(rank)


# ---------------------------------------------------------------------- what D judges
class View(Protocol):
    """``(real, fake)``: the positional inputs of ``D`` for each side, computed once per step.

    A view may also define ``for_discriminator(fake) -> fake``: what ``D``'s phase judges as fake,
    given the detached fakes of the step (CycleGAN's history pool,
    :class:`~invgan.training.unpaired.UnpairedView`); without it ``D`` judges the step's fakes.
    ``G``'s phase always judges the step's own fakes."""

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...


class ImageView:
    r"""``D`` compares the images :math:`x` with :math:`\hat x`; with ``conditional=True`` it is
    also given the step's label, :math:`D(x, c)` vs :math:`D(\hat x, c)` (CGAN)."""

    def __init__(self, conditional: bool = False):
        self.conditional = conditional

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if s.x is None:
            raise ValueError("D judges clean images, but the batch has none (x)")
        if self.conditional:
            if s.label is None:
                raise ValueError("a conditional D needs the step's label: give the generator input a label_key")
            return (s.x, s.label), (s.x_hat, s.label)
        return (s.x,), (s.x_hat,)


class MeasurementView:
    r"""Self-supervised: ``D`` compares the measurements :math:`y` with :math:`A\hat x` (no ground truth).

    With ``fresh`` (a :class:`~invgan.physics.MeasurementModel` with its own generator of operator
    draws) the fake is measured through a *new* draw :math:`\theta'` of the operator,
    :math:`\mathcal{N}(A_{\theta'}\hat x)`, as in AmbientGAN and UAIR. Through the draw
    :math:`\theta` of :math:`y` itself, :math:`\hat x = A_\theta^\top y` is an equilibrium for
    inpainting: :math:`A_\theta\hat x = y` does not depend on the missing pixels, so no loss
    term reaches them. The fresh draw's operator is left in ``step.extras["fake_physics"]`` for
    the terms that measure :math:`\hat x` again (UAIR's cycle term)."""

    def __init__(self, fresh: MeasurementModel | None = None):
        if fresh is not None and fresh.generator is None:
            raise ValueError("a fresh-draw measurement view needs an operator with random draws (physics.fresh_per_sample = true)")
        self.fresh = fresh

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if self.fresh is None:
            return (s.y,), (s.physics.A(s.x_hat),)
        fake = self.fresh.measure(s.x_hat)  # a new operator draw per sample; the gradient flows to G
        s.extras["fake_physics"] = self.fresh.physics
        return (s.y,), (fake,)

    def rng_state(self) -> dict[str, Tensor]:
        return {f"fresh/{k}": v for k, v in self.fresh.rng_state().items()} if self.fresh is not None else {}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if self.fresh is not None:
            self.fresh.set_rng_state({k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("fresh/")})

    def shard_streams(self, rank: int) -> None:
        if self.fresh is not None:
            self.fresh.shard_streams(rank)


class PairView:
    r"""Conditional ``D`` (pix2pix): the pairs :math:`[\ell(y), x]` and :math:`[\ell(y), \hat x]`,
    concatenated along channels, with :math:`\ell` a lift of the measurement to image space. With
    :math:`P` posterior draws per measurement (rcGAN's conditional ``D``) every draw is paired with
    its own measurement's lift."""

    def __init__(self, back_projection: str = "adjoint"):
        self.back_projection = back_projection

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if s.x is None or s.y is None:
            raise ValueError("a pair view needs the measurement y and the image x")
        cond = lift(s.physics, s.y, self.back_projection).detach()
        if s.x_hat.shape[0] != cond.shape[0]:  # P posterior draws per measurement (rcGAN): each draw with its condition
            cond = cond.repeat_interleave(s.x_hat.shape[0] // cond.shape[0], 0)
        return (torch.cat([cond, s.x], 1),), (torch.cat([cond, s.x_hat], 1),)


class AmbientView:
    r"""AmbientGAN (Bora et al. 2018): ``D`` compares real measurements with simulated
    measurements of :math:`\hat x = G(z)`, each drawn with a fresh operator
    :math:`\theta'`: :math:`\mathcal{N}(A_{\theta'}\hat x)`; ``D`` never sees a clean image.

    Batches hold measurements ``y`` (real data), or clean ``x`` that are measured here (simulation).
    ``adjoint=True`` shows ``D`` the back-projection :math:`A_\theta^\top y` through each sample's own
    draw, needed for compressed sensing with a fresh matrix per sample: there
    :math:`y\,|\,x \sim \mathcal{N}(0, \|x\|^2 I/m)` carries nothing of :math:`x` but its norm unless
    ``D`` also knows :math:`\Phi`; :math:`\Phi^\top\Phi x` does, and is still computed from the
    measurement alone (so it needs simulated, not given, measurements)."""

    def __init__(self, measurement: MeasurementModel, adjoint: bool = False):
        self.measurement, self.adjoint = measurement, adjoint

    def _measure(self, x: Tensor) -> Tensor:
        y = self.measurement.measure(x)  # fresh operator draw per sample; the gradient flows to G
        return self.measurement.physics.A_adjoint(y) if self.adjoint else y

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        if "y" in s.batch:
            if self.adjoint:
                raise ValueError("an adjoint view needs each real sample's operator draw: give clean x to simulate measurements")
            real = s.batch["y"]
        else:
            real = self._measure(s.batch["x"])
        return (real,), (self._measure(s.x_hat),)

    def rng_state(self) -> dict[str, Tensor]:
        return {f"measurement/{k}": v for k, v in self.measurement.rng_state().items()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        self.measurement.set_rng_state({k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("measurement/")})

    def shard_streams(self, rank: int) -> None:
        self.measurement.shard_streams(rank)


class AugmentedView:
    r"""DiffAugment (Zhao et al. 2020) of everything ``D`` sees: the image-shaped inputs of both
    sides of ``view`` go through :func:`~invgan.data.diffaugment.diff_augment` with fresh
    per-sample draws (differentiable, so ``G`` still gets its gradient); other inputs (labels)
    pass through. The draws come from a seeded stream saved with checkpoints."""

    def __init__(self, view: View, policy: str = "color,translation,cutout", seed: int = 0):
        self.view, self.policy = view, parse_policy(policy)
        self.rng = torch.Generator().manual_seed(seed)

    def _augment(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return tuple(diff_augment(t, self.policy, self.rng) if t.dim() == 4 and t.is_floating_point() else t for t in inputs)

    def __call__(self, s: GANStep) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        real, fake = self.view(s)
        return self._augment(real), self._augment(fake)

    def rng_state(self) -> dict[str, Tensor]:
        inner = self.view.rng_state() if hasattr(self.view, "rng_state") else {}
        return {**inner, "augment": self.rng.get_state()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if hasattr(self.view, "set_rng_state"):
            self.view.set_rng_state(state)
        if "augment" in state:
            self.rng.set_state(state["augment"])


# ---------------------------------------------------------------------- extra losses and regularisers
@dataclass
class LossTerm:
    """An extra loss of one side: ``weight * fn(step)`` from step ``start`` on, logged as ``name``."""

    name: str
    fn: Callable[[GANStep], Tensor]
    weight: float = 1.0
    start: int = 0


@dataclass
class Regularizer:
    r"""A regulariser of ``D``, ``weight * fn(D, step)`` (:mod:`invgan.losses.regularizers`). With
    ``every=1`` it is added to ``D``'s loss at each of its steps (one update, as WGAN-GP's penalty);
    with ``every > 1`` it runs lazily as its own phase every ``every`` steps, with gain ``every`` and
    the optimiser correction of :class:`~invgan.training.recipe.Phase` (StyleGAN2's lazy R1:
    ``Regularizer("R1", r1_penalty, weight=gamma / 2, every=16)``). ``network="G"`` regularises
    the generator instead, ``fn(G, step)`` (StyleGAN2's lazy path-length penalty:
    ``Regularizer("PL", PathLengthPenalty(), weight=2, every=4, network="G")``; every step it is
    added to ``G``'s loss). A stateful ``fn`` with ``rng_state``/``set_rng_state`` (the path
    length's running mean) is saved with the recipe's state in checkpoints."""

    name: str
    fn: Callable[[nn.Module, GANStep], Tensor]
    weight: float = 1.0
    every: int = 1
    network: str = "D"

    @classmethod
    def named(cls, name: str, weight: float, every: int = 1) -> tuple[Regularizer, ...]:
        """The regulariser of ``D`` a config names (a key of :data:`~invgan.losses.REGULARIZERS`:
        r1, r2, gp, dragan), or none for ``"none"``; its loss is logged as ``name``."""
        return () if name == "none" else (cls(name, REGULARIZERS[name], weight, every),)

    def __post_init__(self) -> None:
        if self.network not in ("D", "G"):
            raise ValueError(f"regulariser {self.name!r}: invalid network={self.network!r}: expected 'D' or 'G'")
        if self.every < 1:
            raise ValueError(f"regulariser {self.name!r}: invalid every={self.every!r}: expected >= 1")


class Evaluator(Protocol):
    """Held-out metrics and a preview grid of the networks (EMA copies where kept)."""

    best_metric: str | None
    preview_columns: int

    def evaluate(self, nets: Mapping[str, nn.Module], data: Any, full: bool = False) -> dict[str, float]: ...

    def preview(self, nets: Mapping[str, nn.Module], data: Any) -> Tensor | None: ...


# ---------------------------------------------------------------------- the recipe
class GANRecipe(Recipe):
    r"""Phases ``D`` (every step from ``adv_start``), ``G`` (every ``n_critic`` steps) and one per
    regulariser, on one generator forward per step.

    :param generator: ``G`` (network key ``"G"``), called as the ``inputs`` say.
    :param discriminator: ``D`` (key ``"D"``), or ``None`` for a generator trained by its extra losses alone.
    :param inputs: what ``G`` is given (:class:`LatentInput`, :class:`MeasurementInput`).
    :param view: what ``D`` judges (:class:`ImageView`, :class:`MeasurementView`, :class:`AmbientView`, :class:`PairView`).
    :param objective: GAN objective by name or :class:`~invgan.losses.GANObjective`.
    :param adv_weight: :math:`\lambda`, the weight of ``G``'s adversarial term.
    :param adv_start: first step of the ``D`` phase and of ``G``'s adversarial term.
    :param g_losses: extra :class:`LossTerm` s of ``G``'s side.
    :param d_losses: extra :class:`LossTerm` s of ``D``'s side (they can read
        ``step.d_real``/``step.d_fake``, the outputs of ``D`` in its phase).
    :param regularizers: :class:`Regularizer` s of ``D`` (or of ``G``), in its loss or as lazy phases.
    :param d_constraints: functions ``fn(D)`` applied to ``D``'s weights (without gradients) after each
        of its updates, e.g. :func:`~invgan.losses.clip_weights` (WGAN).
    :param evaluator: held-out metrics and preview (see :class:`Evaluator`).
    :param on_step: functions ``fn(step)`` run at the start of each step's forward, for schedules
        whose state the networks keep in their buffers (ProGAN's
        :class:`~invgan.nets.progan.GrowthSchedule`), so that checkpoints hold it.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module | None = None,
        *,
        inputs: GeneratorInput,
        view: View | None = None,
        objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE,
        adv_weight: float = 1.0,
        adv_start: int = 0,
        n_critic: int = 1,
        g_losses: list[LossTerm] | tuple[LossTerm, ...] = (),
        d_losses: list[LossTerm] | tuple[LossTerm, ...] = (),
        regularizers: list[Regularizer] | tuple[Regularizer, ...] = (),
        d_constraints: list[Callable[[nn.Module], None]] | tuple[Callable[[nn.Module], None], ...] = (),
        evaluator: Evaluator | None = None,
        on_step: list[Callable[[int], None]] | tuple[Callable[[int], None], ...] = (),
    ):
        super().__init__()
        if n_critic < 1:
            raise ValueError(f"invalid n_critic={n_critic!r}: expected >= 1")
        if adv_start < 0:
            raise ValueError(f"invalid adv_start={adv_start!r}: expected >= 0")
        if discriminator is not None and view is None:
            raise ValueError("a discriminator needs a view: what it judges as real and as fake")
        if discriminator is None and (d_losses or regularizers or d_constraints):
            raise ValueError("discriminator losses, regularisers and constraints need a discriminator")
        if discriminator is None and not g_losses:
            raise ValueError("the generator has no loss: give a discriminator or a generator loss term")
        if discriminator is not None and (adv_weight <= 0 or adv_start > 0) and not g_losses:
            raise ValueError(f"the generator has no loss before step {adv_start} (adv_weight={adv_weight!r}): give a generator loss term")
        self.networks["G"] = generator
        if discriminator is not None:
            self.networks["D"] = discriminator
        self.inputs, self.view, self.evaluator = inputs, view, evaluator
        self.adversarial = AdversarialLoss(objective) if discriminator is not None else None
        self.adv_weight, self.adv_start, self.n_critic = adv_weight, adv_start, n_critic
        self.g_losses, self.d_losses, self.regularizers = list(g_losses), list(d_losses), list(regularizers)
        self.d_constraints, self.on_step = list(d_constraints), list(on_step)
        # the generator at the end of its warm-up on the other terms (ESRGAN's PSNR-oriented network)
        self.snapshots = {adv_start: "pretrained"} if adv_start > 0 and discriminator is not None else {}
        if evaluator is not None:
            self.best_metric, self.preview_columns = evaluator.best_metric, evaluator.preview_columns

    # ------------------------------------------------------------------ one step
    def forward(self, batch: Batch, step: int) -> GANStep:
        for hook in self.on_step:  # schedules kept in the networks' state (ProGAN's growth)
            hook(step)
        s = self.inputs(self.networks["G"], as_dict(batch), step)
        if self.view is not None:
            s.real, s.fake = self.view(s)
        return s

    def phases(self) -> list[Phase]:
        phases = []
        if self.adversarial is not None:
            after = self._constrain_discriminator if self.d_constraints else None
            phases.append(Phase("D", ("D",), self.discriminator_loss, start=self.adv_start, after=after))
        phases.append(Phase("G", ("G",), self.generator_loss, every=self.n_critic))
        for r in self.regularizers:
            if r.every == 1:
                continue  # part of D's (or G's) loss
            phases.append(Phase(r.name, (r.network,), self._regularizer_loss(r), every=r.every, start=self.adv_start, weight=r.weight,
                                lazy=r.every > 1))
        return phases

    @staticmethod
    def _terms(terms: list[LossTerm], s: GANStep) -> dict[str, Tensor]:
        return {t.name: t.weight * t.fn(s) for t in terms if s.step >= t.start}

    def discriminator_loss(self, s: GANStep) -> tuple[Tensor, dict[str, Tensor]]:
        fake = tuple(t.detach() for t in s.fake)
        if hasattr(self.view, "for_discriminator"):
            fake = self.view.for_discriminator(fake)  # type: ignore[union-attr]
        loss, logs = self.adversarial.discriminator_loss(self.networks["D"], s, fake)  # type: ignore[union-attr]
        terms = self._terms(self.d_losses, s)
        for r in self.regularizers:
            if r.every == 1 and r.network == "D":
                terms[r.name] = r.weight * r.fn(self.networks["D"], s)
        return loss + sum(terms.values()) if terms else loss, {**logs, **terms}

    def generator_loss(self, s: GANStep) -> tuple[Tensor, dict[str, Tensor]]:
        s.d_real = s.d_fake = None  # D's outputs of this phase only (head terms read them)
        adv = None
        if self.adversarial is not None and self.adv_weight > 0 and s.step >= self.adv_start:
            adv = self.adv_weight * self.adversarial(self.networks["D"], s)
        terms = self._terms(self.g_losses, s)
        for r in self.regularizers:
            if r.every == 1 and r.network == "G" and s.step >= self.adv_start:
                terms[r.name] = r.weight * r.fn(self.networks["G"], s)
        if adv is not None:
            terms["adv"] = adv
        if not terms:
            raise ValueError(f"the generator has no active loss at step {s.step}: every term starts later")
        # what a term reports besides its value (the adapted weight of rcGAN's std reward)
        logs = {f"{t.name}_{k}": v for t in self.g_losses if t.name in terms and hasattr(t.fn, "step_logs")
                for k, v in t.fn.step_logs().items()}
        return sum(terms.values()), {**terms, **logs}  # type: ignore[return-value]

    def _constrain_discriminator(self) -> None:
        for constraint in self.d_constraints:
            constraint(self.networks["D"])

    def _regularizer_loss(self, r: Regularizer) -> Callable[[GANStep], tuple[Tensor, dict[str, Tensor]]]:
        return lambda s: (r.fn(self.networks[r.network], s), {})

    # ------------------------------------------------------------------ evaluation and random streams
    def evaluate(self, nets: Mapping[str, nn.Module], data: Any, full: bool = False) -> dict[str, float]:
        return self.evaluator.evaluate(nets, data, full) if self.evaluator is not None else {}

    def preview(self, nets: Mapping[str, nn.Module], data: Any) -> Tensor | None:
        return self.evaluator.preview(nets, data) if self.evaluator is not None else None

    def _streams(self) -> list[Any]:
        stateful = [r.fn for r in self.regularizers if hasattr(r.fn, "rng_state")]
        terms = [t.fn for t in self.g_losses + self.d_losses]  # loss terms with random streams of their own (deepinv's EI, MOI)
        return [o for o in (self.inputs, self.view, *stateful, *terms) if hasattr(o, "rng_state")]

    def rng_state(self) -> dict[str, Tensor]:
        return {k: v for o in self._streams() for k, v in o.rng_state().items()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        for o in self._streams():
            o.set_rng_state(state)

    def shard_streams(self, rank: int) -> None:
        for o in self._streams():
            if hasattr(o, "shard_streams"):
                o.shard_streams(rank)
