r"""The systems of invgan as configurations of the GAN core (:class:`~invgan.training.gan.GANRecipe`).

Each function only chooses parts: what ``G`` is given, what ``D`` judges, the objective and
the extra loss terms. Adding a GAN means adding such a function (see docs/training.md).
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from ..losses import (ClassHeadLoss, GANObjective, InfoLoss, LatentCodes, MeasurementConsistencyLoss, MeasurementCycleLoss,
                      ReconstructionLoss, SampleMeanLoss, StdReward)
from ..losses.cycle import CycleConsistencyLoss, IdentityLoss
from ..losses.objectives import CONDITIONAL_OBJECTIVE, UNCONDITIONAL_OBJECTIVE
from ..physics import MeasurementModel
from .cross_scale import CrossScaleView
from .evaluators import ReconstructionEvaluator, SampleEvaluator
from .gan import AmbientView, AugmentedView, GANRecipe, ImageView, LatentInput, LossTerm, MeasurementInput, MeasurementView, PairView, Regularizer, View
from .unpaired import UnpairedInput, UnpairedView

#: what D of a conditional GAN judges: x vs x_hat, y vs A x_hat (also UAIR's), (y, x) pairs, or y down-scaled vs
#: crops of x_hat (cross-scale)
CONDITIONAL_VIEWS = {"supervised": ImageView, "measurement": MeasurementView, "uair": MeasurementView, "pair": PairView,
                     "scale": CrossScaleView}


def conditional_gan(
    reconstructor: nn.Module,
    measurement: MeasurementModel,
    discriminator: nn.Module | None = None,
    *,
    objective: str | GANObjective = CONDITIONAL_OBJECTIVE,
    adversarial: str = "supervised",
    adv_weight: float = 0.01,
    adv_start: int = 0,
    reconstruction: str | nn.Module | None = "mse",
    rec_weight: float = 1.0,
    mc_weight: float = 0.0,
    cycle_weight: float = 1.0,
    n_critic: int = 1,
    back_projection: str = "adjoint",
    regularizers: tuple[Regularizer, ...] = (),
    perceptual: nn.Module | None = None,
    perceptual_weight: float = 1.0,
    eval_measurement: MeasurementModel | None = None,
    posterior_samples: int = 1,
    std_weight: float = 0.0,
    std_ramp: int = 0,
    std_adapt: float = 0.0,
    std_pool: int = 1,
    std_unseen: bool = False,
    fresh_measurement: MeasurementModel | None = None,
    self_supervised: nn.Module | tuple[nn.Module, ...] | None = None,
    ss_weight: float = 1.0,
    select: str = "psnr",
    scale_factor: int = 2,
) -> GANRecipe:
    r"""Conditional GAN reconstructor :math:`\hat x = R(y, A)`, :math:`y = \mathcal{N}(A x)`:

    .. math::

        \min_R\; w_\text{rec}\mathcal{L}_\text{rec}(\hat x, x) + w_\text{mc}\|A\hat x - y\|^2
        + \lambda\,\ell_G, \qquad \min_D\; \ell_D,

    with ``D`` judging :math:`x` vs :math:`\hat x` (``adversarial="supervised"``), :math:`y` vs
    :math:`A\hat x` (``"measurement"``, self-supervised; ``"uair"`` adds the cycle term
    :math:`\lambda\omega\|A R(A\hat x, A) - A\hat x\|^2`) or the pairs :math:`(A^\top y, x)` vs
    :math:`(A^\top y, \hat x)` (``"pair"``, pix2pix), or :math:`y\!\downarrow_s` vs crops of :math:`\hat x`
    of that size (``"scale"``, :math:`s` = ``scale_factor``, self-supervised across scales:
    :class:`~invgan.training.cross_scale.CrossScaleView`). ``reconstruction`` is ``"mse"``, ``"l1"``, a
    loss module of the step, or ``None``. ``perceptual`` (a
    :class:`~invgan.losses.PerceptualLoss`) adds :math:`w_\text{p}\|\phi(\hat x)-\phi(x)\|_1` from
    ``adv_start`` on; before ``adv_start`` the generator is trained on the reconstruction terms alone
    (SRGAN's SRResNet and ESRGAN's PSNR-oriented pretraining), and ``pretrained.pt`` keeps that
    network. ``eval_measurement``: the operator of the held-out set when its images have another size.

    ``posterior_samples`` :math:`P \ge 2` makes it rcGAN (Bendel et al. 2022), a sampler of the
    posterior: :math:`P` draws :math:`\hat x_p = R(y, A, z_p)` per measurement, the reconstruction
    loss on their mean (:class:`~invgan.losses.SampleMeanLoss`), the std reward
    :class:`~invgan.losses.StdReward` weighted by ``std_weight`` (:math:`\beta_\text{SD}`, reached linearly over the
    first ``std_ramp`` steps, then adapted at the rate ``std_adapt`` if it is > 0; on :math:`k\times k` box averages
    of the draws with ``std_pool`` :math:`=k`, less the spread of :math:`A\hat x_p` with ``std_unseen``) and ``D``
    judging every sample against the truth (``adversarial="supervised"``), or every pair of a
    sample and its measurement's lift against the truth's (``"pair"``: rcGAN's conditional ``D``);
    the self-supervised views are refused (they compare each sample with its measurement).

    ``fresh_measurement`` (self-supervised modes only): a second operator with its own random draws;
    ``D`` then compares :math:`y` with :math:`\mathcal{N}(A_{\theta'}\hat x)` through a fresh draw
    :math:`\theta'` (AmbientGAN, UAIR; :class:`~invgan.training.gan.MeasurementView`).
    ``self_supervised``: a loss of the step without ground truth, or several (a deepinv loss of
    :mod:`invgan.losses.selfsup`: EI, MOI, SURE, splitting), each weighted by ``ss_weight``; with ``discriminator=None``
    the non-adversarial self-supervised baselines. ``select``: what picks ``best.pt``
    (:class:`~invgan.training.evaluators.ReconstructionEvaluator`): ``"psnr"`` or, without ground
    truth, ``"measurements"`` (held-out measured pixels)."""
    if adversarial not in CONDITIONAL_VIEWS:
        raise ValueError(f"invalid adversarial={adversarial!r}: expected one of {tuple(CONDITIONAL_VIEWS)}")
    if posterior_samples > 1 and ((discriminator is not None and adversarial not in ("supervised", "pair")) or mc_weight > 0):
        raise ValueError(f"posterior_samples={posterior_samples} needs adversarial='supervised' or 'pair' and mc_weight=0 "
                         f"(got {adversarial!r}, {mc_weight!r}): the other terms compare each sample with its measurement")
    if std_weight > 0 and posterior_samples < 2:
        raise ValueError(f"std_weight={std_weight!r} needs posterior_samples >= 2 (a spread of samples), got {posterior_samples}")
    if fresh_measurement is not None and CONDITIONAL_VIEWS[adversarial] is not MeasurementView:
        raise ValueError(f"fresh operator draws are for D judging measurements (adversarial='measurement' or 'uair'), not adversarial={adversarial!r}")
    terms = []
    if reconstruction is not None:
        rec = (ReconstructionLoss if posterior_samples == 1 else SampleMeanLoss)(reconstruction) if isinstance(reconstruction, str) else reconstruction
        terms.append(LossTerm("rec", rec, rec_weight))
    if std_weight > 0:
        terms.append(LossTerm("std", StdReward(ramp=std_ramp, adapt=std_adapt, pool=std_pool, unseen=std_unseen), std_weight))
    if mc_weight > 0:
        terms.append(LossTerm("mc", MeasurementConsistencyLoss(), mc_weight))
    for loss in (self_supervised,) if isinstance(self_supervised, nn.Module) else self_supervised or ():
        terms.append(LossTerm(getattr(loss, "name", "selfsup"), loss, ss_weight))
    if perceptual is not None:
        terms.append(LossTerm("percep", perceptual, perceptual_weight, start=adv_start))
    if discriminator is not None and adversarial == "uair":
        terms.append(LossTerm("cycle", MeasurementCycleLoss(), adv_weight * cycle_weight, start=adv_start))
    view_cls = CONDITIONAL_VIEWS[adversarial]
    view: View | None = None
    if discriminator is not None:
        args = {PairView: (back_projection,), MeasurementView: (fresh_measurement,), CrossScaleView: (scale_factor,)}.get(view_cls, ())
        view = view_cls(*args)
    return GANRecipe(
        reconstructor, discriminator, inputs=MeasurementInput(measurement, posterior_samples), view=view, objective=objective,
        adv_weight=adv_weight, adv_start=adv_start, n_critic=n_critic, g_losses=terms, regularizers=regularizers,
        evaluator=ReconstructionEvaluator(eval_measurement or measurement, back_projection, select=select),
    )


def unconditional_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE,
    *,
    view: View | None = None,
    n_critic: int = 1,
    seed: int = 0,
    classifier: Any = None,
    eval_samples: int = 1000,
    preview_n: int = 64,
    regularizers: tuple[Regularizer, ...] = (),
    d_constraints: tuple[Callable[[nn.Module], None], ...] = (),
    augment: str = "",
    label_key: str | None = None,
    codes: LatentCodes | None = None,
    g_losses: tuple[LossTerm, ...] = (),
    d_losses: tuple[LossTerm, ...] = (),
    on_step: tuple[Callable[[int], None], ...] = (),
) -> GANRecipe:
    r"""Unconditional GAN (Goodfellow et al. 2014; DCGAN with convolutional nets):

    .. math::

        \min_D\; \ell_D\big(D(x), D(G(z))\big), \qquad \min_G\; \ell_G\big(D(G(z))\big),
        \qquad z\sim\mathcal{N}(0, I),

    with latents from a seeded stream saved in checkpoints. ``generator`` has a ``latent_dim``.
    ``regularizers``, ``d_constraints`` (WGAN's clipping) and ``augment`` (a DiffAugment policy of
    everything ``D`` sees) come from the toolbox of :mod:`invgan.losses`; ``label_key``, ``codes``
    and head losses make the conditional systems below; ``on_step`` hooks run before each step
    (ProGAN's growth schedule)."""
    view = view or ImageView()
    if augment:
        view = AugmentedView(view, augment, seed=seed + 1)
    latent_dim = codes.dim if codes is not None else generator.latent_dim
    return GANRecipe(
        generator, discriminator, inputs=LatentInput(latent_dim, seed, label_key=label_key, codes=codes), view=view,
        objective=objective, adv_weight=1.0, n_critic=n_critic, regularizers=regularizers, d_constraints=d_constraints,
        g_losses=g_losses, d_losses=d_losses, on_step=on_step,
        evaluator=SampleEvaluator(latent_dim, classifier, eval_samples, preview_n, seed, codes=codes),
    )


def cgan(generator: nn.Module, discriminator: nn.Module, objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE, **kwargs: Any) -> GANRecipe:
    r"""CGAN (Mirza & Osindero 2014): the label :math:`c` of each real image goes into both networks,

    .. math::

        \min_D\; \ell_D\big(D(x, c), D(G(z, c), c)\big), \qquad \min_G\; \ell_G\big(D(G(z, c), c)\big);

    ``generator`` is a :class:`~invgan.nets.generators.ConditionalGenerator`, ``discriminator`` takes
    ``(x, c)`` (:class:`~invgan.nets.ConditionalDiscriminator`); batches hold ``x`` and ``label``."""
    return unconditional_gan(generator, discriminator, objective, view=ImageView(conditional=True), label_key="label", **kwargs)


def acgan(generator: nn.Module, discriminator: nn.Module, objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE, *, class_weight: float = 1.0,
          **kwargs: Any) -> GANRecipe:
    r"""ACGAN (Odena et al. 2017): :math:`G(z, c)`, and ``D`` judges the image alone but has an
    auxiliary classifier head ``"class"``; both networks also minimise the class loss
    :math:`\mathcal{L}_C` (:class:`~invgan.losses.ClassHeadLoss`): ``D`` on real and generated
    images, ``G`` on its own, each weighted by ``class_weight``."""
    return unconditional_gan(
        generator, discriminator, objective, label_key="label",
        d_losses=(LossTerm("class", ClassHeadLoss("class", ("real", "fake")), class_weight),),
        g_losses=(LossTerm("class", ClassHeadLoss("class", ("fake",)), class_weight),), **kwargs,
    )


def infogan(generator: nn.Module, discriminator: nn.Module, codes: LatentCodes, objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE, *,
            info_weight: float = 1.0, continuous_weight: float = 0.5, **kwargs: Any) -> GANRecipe:
    r"""InfoGAN (Chen et al. 2016): :math:`G(z, c)` with the structured latent of ``codes`` and a
    head :math:`Q` = ``"code"`` sharing ``D``'s trunk;
    :math:`\min_{G,Q}\max_D V(D, G) + \lambda\,\mathcal{L}_I` with the information loss
    :math:`\mathcal{L}_I` (:class:`~invgan.losses.InfoLoss`) of :math:`Q` on the generated images,
    :math:`\lambda` = ``info_weight``. :math:`Q` is trained with ``D``'s phase (on the detached
    samples), ``G`` with its own."""
    info = InfoLoss(codes, "code", continuous_weight)
    terms = (LossTerm("info", info, info_weight),)
    return unconditional_gan(generator, discriminator, objective, codes=codes, d_losses=terms, g_losses=terms, **kwargs)


def ambient_gan(generator: nn.Module, discriminator: nn.Module, measurement: MeasurementModel, objective: str | GANObjective = UNCONDITIONAL_OBJECTIVE,
                *, adjoint: bool = False, **kwargs: Any) -> GANRecipe:
    r"""AmbientGAN (Bora et al. 2018): the unconditional GAN with ``D`` judging only measurements,

    .. math::

        \min_D\; \ell_D\big(D(y), D(\mathcal{N}(A_{\theta'} G(z)))\big), \qquad
        \min_G\; \ell_G\big(D(\mathcal{N}(A_{\theta'} G(z)))\big),

    each with its own fresh operator draw :math:`\theta'` (see :class:`~invgan.training.gan.AmbientView`)."""
    return unconditional_gan(generator, discriminator, objective, view=AmbientView(measurement, adjoint), **kwargs)


def cycle_gan(
    generators: nn.Module,
    critics: nn.Module,
    measurement: MeasurementModel,
    objective: str | GANObjective = CONDITIONAL_OBJECTIVE,
    *,
    adv_weight: float,
    cycle_weight: float,
    identity_weight: float = 0.5,
    pool_size: int = 50,
    n_critic: int = 1,
    seed: int = 0,
    back_projection: str = "adjoint",
) -> GANRecipe:
    r"""CycleGAN (Zhu et al. 2017) for unpaired reconstruction: clean images :math:`x` and
    measurements :math:`y = \mathcal{N}(A x')` of *other* images :math:`x'`, two generators
    :math:`G_c: y\mapsto x`, :math:`G_m: x\mapsto y` (``generators``, a
    :class:`~invgan.nets.cycle.CycleGenerators`) and two critics :math:`D_c, D_m` (``critics``, a
    :class:`~invgan.nets.cycle.PairedCritics`):

    .. math::

        \min_{G_c, G_m}\; \lambda\,\tfrac12\big[\ell_G(D_c(G_c(y))) + \ell_G(D_m(G_m(x)))\big]
        + \lambda_\text{cyc}\mathcal{L}_\text{cyc} + \lambda_\text{id}\lambda_\text{cyc}\mathcal{L}_\text{id},
        \qquad
        \min_{D_c, D_m}\; \tfrac12\big[\ell_D(D_c(x), D_c(\tilde x)) + \ell_D(D_m(y), D_m(\tilde y))\big],

    with :math:`\mathcal{L}_\text{cyc}` and :math:`\mathcal{L}_\text{id}` of
    :mod:`invgan.losses.cycle` (:math:`\lambda_\text{cyc}` = ``cycle_weight``, the paper's 10;
    :math:`\lambda_\text{id}` = ``identity_weight``, its 0.5, relative to :math:`\lambda_\text{cyc}`)
    and :math:`\tilde x, \tilde y` the fakes through history pools of ``pool_size`` (50).
    The operator only simulates the measurements: :math:`G_c` never sees it. Evaluation is the
    conditional GAN's (:math:`G_c(y)` against :math:`A^\top y` and the best Tikhonov solution).
    ``adv_weight`` (:math:`\lambda`) and ``cycle_weight`` have no default here: the config's ``loss``
    section, shared with the supervised systems, states them once (the ``cyclegan-deblur`` preset
    sets the paper's 1 and 10)."""
    if adv_weight <= 0:
        raise ValueError(f"invalid adv_weight={adv_weight!r}: CycleGAN needs its critics, expected a value > 0")
    terms = [LossTerm("cycle", CycleConsistencyLoss(), cycle_weight)] if cycle_weight > 0 else []
    if identity_weight > 0 and cycle_weight > 0:
        terms.append(LossTerm("identity", IdentityLoss(), identity_weight * cycle_weight))
    return GANRecipe(
        generators, critics, inputs=UnpairedInput(measurement), view=UnpairedView(pool_size, seed), objective=objective,
        adv_weight=adv_weight, n_critic=n_critic, g_losses=terms, evaluator=ReconstructionEvaluator(measurement, back_projection),
    )
