r"""The ``conditional`` kind: a conditional GAN reconstructor :math:`R(y, A)` trained on crops of
images measured through ``physics`` (:func:`invgan.training.systems.conditional_gan`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..losses.objectives import CONDITIONAL_OBJECTIVE
from ..losses.regularizers import REGULARIZER_NAMES
from ..losses.selfsup import NEEDS_FRESH_DRAWS, NEEDS_MASK, SELF_SUPERVISED_LOSSES
from ..metrics.images import SELECTION_RULES
from ..nets import RECONSTRUCTORS
from ..nets.reconstructor import RECONSTRUCTOR_LIFTS
from ..nets.discriminators import DISCRIMINATORS
from ..nets.features import PERCEPTUAL_NETS
from ..physics import CONSISTENCIES, GUIDES
from .schema import _check, _opt, _section
from .sections import OptimConfig, PhysicsConfig, TrainConfig

#: ``loss.reconstruction``: the pixel loss of the reconstructor, or none
RECONSTRUCTION_LOSSES = ("mse", "l1", "none")

#: ``model.discriminator``: the critics of a conditional run (:func:`invgan.nets.make_discriminator`)
CONDITIONAL_DISCRIMINATORS = tuple(DISCRIMINATORS)

#: ``model.d_norm``: the normalisation layers of D (``auto``: none with spectral norm, else batch)
D_NORMS = ("auto", "none", "batch", "instance", "group", "layer")

#: the operators whose measurements are images, for ``loss.adversarial = "scale"`` (D sees them down-scaled)
SCALE_VIEW_PHYSICS = ("blur", "denoising", "downsampling")

#: the critics that give one logit per image and so need a square power-of-two input
WHOLE_IMAGE_CRITICS = ("dcgan", "esrgan")


@dataclass
class DataConfig:
    """Training crops from ``source``: ``"builtin"``, a folder (``source/train`` and ``source/test``
    sub-folders are used when present), a text file listing image paths, or ``.npy``/``.npz``
    arrays (:func:`invgan.data.sources.open_source`); images are read lazily, in ``workers`` loader
    processes. Held-out images come from ``eval_source`` when given, else ``source/test``; a source
    with neither is refused (it would be evaluated on its training images)."""

    source: str = _opt("builtin", "training images: builtin (the bundled photos), a folder (its train/ sub-folder when present), "
                                  "a .txt list of image paths, or .npy/.npz arrays")
    eval_source: str | None = _opt(None, "held-out images, any kind of source (default: source/test)")
    channels: int = _opt(1, "1 (grayscale) or 3 (RGB)")
    value_range: list[float] | None = _opt(None, "[low, high] of your images' values, mapped to [0, 1] (default: by type: 8-bit /255, "
                                                 "16-bit /65535, floats as they are)")
    workers: int | None = _opt(None, "loader processes that read and crop images (default: 0 for built-in images, else one per CPU "
                                     "beyond the first, at most 4)")
    cache_mb: float = _opt(0.0, "MB of decoded images each loader process keeps (0: none, every draw decodes its file)")
    crop: int = _opt(64, "side of the training crops")
    batch_size: int = _opt(8, "crops per training step")
    augment: bool = _opt(True, "a random flip and 90-degree rotation of each training crop")
    eval_crops: int = _opt(48, "held-out crops to evaluate on")
    eval_crop: int | None = _opt(None, "side of the held-out crops (default: crop), e.g. 256 for x4 super-resolution")
    seed: int = _opt(0, "seed of the crop draws")
    select: str = _opt("psnr", "what picks best.pt: psnr (held-out photos, ground truth) or measurements (held-out measured "
                               "pixels scored through A only, no ground truth; inpainting)")

    def __post_init__(self) -> None:
        _check(self, [
            ("source", bool(self.source), "'builtin', a folder, a .txt list or .npy/.npz arrays"),
            ("workers", self.workers is None or self.workers >= 0, "an integer >= 0, or None (chosen from the machine)"),
            ("cache_mb", self.cache_mb >= 0, "a number >= 0"),
            ("select", self.select in SELECTION_RULES, f"one of {SELECTION_RULES}"),
            ("eval_crop", self.eval_crop is None or self.eval_crop >= 1, "an integer >= 1, or None (the training crop)"),
            ("channels", self.channels in (1, 3), "1 (grayscale) or 3 (RGB)"),
            ("crop", self.crop >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("eval_crops", self.eval_crops >= 1, "an integer >= 1 (held-out crops to evaluate on)"),
        ], section="data")


@dataclass
class ModelConfig:
    """Reconstructor and discriminator. ``generator``: ``"unet"`` (a U-Net on the lifted
    measurement, any operator), ``"srresnet"`` (SRGAN's) or ``"rrdb"`` (ESRGAN's), the last two for
    the downsampling operator only (:mod:`invgan.nets.sr`)."""

    generator: str = _opt("unet", "reconstructor: unet (any operator), srresnet or rrdb (downsampling only)")
    width: int = _opt(16, "base width of the reconstructor")
    depth: int = _opt(3, "levels of the U-Net")
    blocks: int = _opt(8, "residual blocks of srresnet, RRDBs of rrdb")
    bicubic_skip: bool = _opt(True, "srresnet / rrdb predict a residual on the bicubic interpolation")
    lift: str = _opt("tikhonov", "the U-Net's input: adjoint (A^T y), pinv, tikhonov or classical (biharmonic inpainting, Wiener "
                                   "deconvolution, bicubic upsampling: invgan.classical.classical_estimate)")
    gamma: float = _opt(0.01, "Tikhonov weight of the tikhonov lift")
    guide: str = _opt("none", "extra input of the U-Net beside the lift: none, adjoint (A^T y) or coverage (A^T A 1: the mask of "
                              "inpainting, which a smooth classical lift hides)")
    latent_channels: int = _opt(0, "noise channels z given to the U-Net (0: deterministic)")
    latent_scale: int = _opt(1, "z is drawn on a grid this many times coarser than the image and upsampled bilinearly "
                                "(1: a value per pixel)")
    consistency: str = _opt("none", "what the unet reconstructor does to its output with y: none, project (x + A^dagger (y - A x): "
                                    "the measured pixels are copied from y; inpainting only) or wiener (weighted by the noise level)")
    norm: str = _opt("none", "normalisation in the reconstructor: none or batch")
    discriminator: str = _opt("patchgan", "discriminator: patchgan, dcgan or esrgan")
    d_width: int = _opt(32, "base width of D")
    d_layers: int = _opt(2, "strided layers of the PatchGAN D")
    spectral_norm: bool = _opt(True, "spectral normalisation of D's layers")
    d_norm: str = _opt("auto", "normalisation in D: auto (none with spectral norm, else batch: the papers'), none, batch, "
                               "instance, group or layer (patchgan, dcgan)")

    def __post_init__(self) -> None:
        _check(self, [
            ("generator", self.generator in RECONSTRUCTORS, f"one of {RECONSTRUCTORS}"),
            ("width", self.width >= 1, "an integer >= 1"),
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("blocks", self.blocks >= 1, "an integer >= 1"),
            ("lift", self.lift in RECONSTRUCTOR_LIFTS, f"one of {RECONSTRUCTOR_LIFTS}"),
            ("gamma", self.gamma > 0, "a value > 0"),
            ("guide", self.guide in GUIDES, f"one of {GUIDES}"),
            ("consistency", self.consistency in CONSISTENCIES, f"one of {CONSISTENCIES}"),
            ("latent_channels", self.latent_channels >= 0, "an integer >= 0"),
            ("latent_scale", self.latent_scale >= 1, "an integer >= 1"),
            ("discriminator", self.discriminator in CONDITIONAL_DISCRIMINATORS, f"one of {CONDITIONAL_DISCRIMINATORS}"),
            ("d_width", self.d_width >= 1, "an integer >= 1"),
            ("d_layers", self.d_layers >= 1, "an integer >= 1"),
            ("d_norm", self.d_norm in D_NORMS, f"one of {D_NORMS}"),
        ], section="model")


@dataclass
class LossConfig:
    r""":math:`\mathcal{L}_G = w_\text{rec}\mathcal{L}_\text{rec} + w_\text{mc}\|A\hat x-y\|^2 + \lambda\mathcal{L}_\text{adv}`."""

    objective: str = _opt(CONDITIONAL_OBJECTIVE, "GAN objective (invgan.losses.OBJECTIVES): ns, lsgan, wgan, hinge, ragan, ...")
    adversarial: str = _opt("supervised", "what D judges: supervised (x vs x_hat), measurement (y vs A x_hat), uair, pair (pix2pix), "
                                          "scale (y down-scaled by scale_factor vs crops of x_hat of that size; blur, denoising, downsampling) "
                                          "or unpaired (CycleGAN)")
    adv_weight: float = _opt(0.01, "lambda, the weight of the adversarial term (0: no discriminator)")
    regularizer: str = _opt("none", "regulariser of D: none, r1 (on what D sees as real), r2, gp or dragan")
    reg_weight: float = _opt(10.0, "its weight: lambda for gp and dragan, gamma/2 for r1 and r2 (the gradient of a PatchGAN's "
                                   "summed logit map grows with the map: 0.01 and 0.001 were tried on 64x64 crops)")
    reg_every: int = _opt(1, "1: added to D's loss every step; k > 1: lazily every k steps (gain k, optimiser correction)")
    adv_start: int = _opt(0, "steps of warm-up on the other terms first (SRGAN/ESRGAN pretraining); pretrained.pt keeps its end")
    reconstruction: str = _opt("mse", "pixel loss: mse, l1 or none")
    rec_weight: float = _opt(1.0, "its weight")
    mc_weight: float = _opt(0.0, "weight of the measurement consistency ||A x_hat - y||^2")
    cycle_weight: float = _opt(1.0, "weight of UAIR's cycle term, or of CycleGAN's cycle losses")
    fresh_operator: bool = _opt(False, "adversarial = measurement / uair: D judges A' x_hat through a fresh operator draw A' "
                                       "(AmbientGAN, UAIR; needs physics.fresh_per_sample), not the draw of y")
    self_supervised: str = _opt("none", "a non-adversarial self-supervised loss of deepinv (no ground truth): none, moi (fresh operator "
                                        "draws), ei (shifts, rotations), moei, sure (Gaussian noise; these with mc_weight > 0) or "
                                        "splitting (inpainting: predict measured pixels withheld from R's input); several joined by '+', e.g. splitting+ei")
    ss_weight: float = _opt(1.0, "weight of the self_supervised loss")
    scale_factor: int = _opt(2, "adversarial = scale: the factor s by which y is down-scaled for D (its blur and noise shrink by about s)")
    split_ratio: float = _opt(0.9, "self_supervised = splitting: the share of the measured pixels R is given; it is scored on the rest")
    perceptual_weight: float = _opt(0.0, "weight of the perceptual loss (from adv_start on)")
    perceptual_net: str = _opt("inception", "its feature network: inception (offline, the fid extra) or vgg19 (vgg_weights)")
    vgg_weights: str | None = _opt(None, "a local file of torchvision's vgg19 state dict (never downloaded)")
    identity_weight: float = _opt(0.5, "adversarial = unpaired (CycleGAN): identity loss weight, relative to cycle_weight")
    pool_size: int = _opt(50, "adversarial = unpaired: past fakes each critic is shown (0: only the newest)")
    posterior_samples: int = _opt(1, "rcGAN: P draws of z per measurement each step, reconstruction loss on their mean "
                                     "(1: one draw, the plain cGAN; >= 2 needs model.latent_channels > 0)")
    std_weight: float = _opt(0.0, "rcGAN: beta_SD, weight of the std reward -sqrt(2/(pi P (P+1))) mean std of the P draws "
                                  "(1: the paper's rule; 0: off)")
    std_ramp: int = _opt(0, "rcGAN: steps over which the std reward's weight rises linearly from 0 to std_weight (0: full from the start)")
    std_adapt: float = _opt(0.0, "rcGAN: rate mu of the paper's rule adapting std_weight after the ramp, from each step's draws: "
                                 "scale += mu (10 log10(2P/(P+1)) - gap of one draw over their mean, dB); 0: fixed")
    std_pool: int = _opt(1, "rcGAN: the std reward is that of the draws averaged over k x k boxes (1: each pixel's std; "
                            "k > 1: variation finer than the box, grain, earns no reward)")
    std_unseen: bool = _opt(False, "rcGAN: the std reward less the std of the measured draws A x_hat_p: only spread that A "
                                   "does not see (which y cannot pin down) earns the reward")

    @property
    def self_supervised_parts(self) -> tuple[str, ...]:
        """The names of ``self_supervised`` ('splitting+ei': both terms, each with ``ss_weight``)."""
        return () if self.self_supervised == "none" else tuple(self.self_supervised.split("+"))

    def __post_init__(self) -> None:
        _check(self, [
            ("adv_weight", self.adv_weight >= 0, "a value >= 0 (0: no discriminator)"),
            ("adv_start", self.adv_start >= 0, "an integer >= 0"),
            ("regularizer", self.regularizer in REGULARIZER_NAMES, f"one of {REGULARIZER_NAMES}"),
            ("reg_weight", self.reg_weight >= 0, "a value >= 0"),
            ("reg_every", self.reg_every >= 1, "an integer >= 1"),
            ("perceptual_weight", self.perceptual_weight >= 0, "a value >= 0 (0: off)"),
            ("perceptual_net", self.perceptual_net in PERCEPTUAL_NETS, f"one of {PERCEPTUAL_NETS}"),
            ("reconstruction", self.reconstruction in RECONSTRUCTION_LOSSES, "'mse', 'l1' or 'none'"),
            ("rec_weight", self.rec_weight >= 0, "a value >= 0"),
            ("mc_weight", self.mc_weight >= 0, "a value >= 0"),
            ("self_supervised", self.self_supervised == "none" or (
                set(self.self_supervised_parts) <= set(SELF_SUPERVISED_LOSSES)
                and len(set(self.self_supervised_parts)) == len(self.self_supervised_parts)),
             f"one of {('none', *SELF_SUPERVISED_LOSSES)}, or several joined by '+' (e.g. 'splitting+ei')"),
            ("ss_weight", self.ss_weight >= 0, "a value >= 0"),
            ("scale_factor", self.scale_factor >= 2, "an integer >= 2"),
            ("split_ratio", 0 < self.split_ratio < 1, "a share in (0, 1) of the measured pixels"),
            ("cycle_weight", self.cycle_weight >= 0, "a value >= 0"),
            ("identity_weight", self.identity_weight >= 0, "a value >= 0 (a fraction of cycle_weight; 0: no identity loss)"),
            ("pool_size", self.pool_size >= 0, "an integer >= 0 (0: no history pool)"),
            ("posterior_samples", self.posterior_samples >= 1, "an integer >= 1 (1: one draw of z per measurement)"),
            ("std_weight", self.std_weight >= 0, "a value >= 0 (0: no std reward)"),
            ("std_ramp", self.std_ramp >= 0, "a number of steps >= 0"),
            ("std_adapt", self.std_adapt >= 0, "a rate >= 0 (0: a fixed weight)"),
            ("std_pool", self.std_pool >= 1, "a box size >= 1 (1: each pixel's std)"),
        ], section="loss")


@dataclass
class ConditionalConfig:
    """A conditional GAN reconstructor run (:func:`invgan.training.systems.conditional_gan`)."""

    physics: PhysicsConfig = _section(PhysicsConfig, "the forward operator")
    data: DataConfig = _section(DataConfig, "training and held-out images")
    model: ModelConfig = _section(ModelConfig, "reconstructor and discriminator")
    loss: LossConfig = _section(LossConfig, "objective and loss terms")
    optim: OptimConfig = _section(OptimConfig, "optimisers")
    train: TrainConfig = _section(TrainConfig, "the training loop")

    def __post_init__(self) -> None:
        """The checks across sections: combinations that cannot run are errors."""
        model, loss, crop = self.model, self.loss, self.data.crop
        disc = model.discriminator
        if loss.adversarial == "unpaired" and disc != "patchgan":
            # CycleGAN's PairedCritics put the two critics' logit maps side by side per sample; a
            # critic of one logit per image (a vector of shape (B,)) has no such map
            raise ValueError(f"invalid model.discriminator={disc!r} for loss.adversarial='unpaired': expected 'patchgan' "
                             f"(CycleGAN's two critics are paired patch by patch; {disc!r} gives one logit per image)")
        if model.d_norm not in ("auto", "none") and model.spectral_norm:
            raise ValueError(f"invalid model.d_norm={model.d_norm!r} with model.spectral_norm=true: a spectrally normalised D has "
                             "no normalisation layers; set model.spectral_norm=false, or model.d_norm='auto'")
        if model.d_norm != "auto" and disc == "esrgan":
            raise ValueError(f"invalid model.d_norm={model.d_norm!r} for model.discriminator='esrgan': its batch norm is fixed "
                             "(ESRGAN's critic); use model.d_norm='auto'")
        if loss.adversarial == "unpaired" and loss.regularizer != "none":
            raise ValueError(f"invalid loss.regularizer={loss.regularizer!r} for loss.adversarial='unpaired': CycleGAN's paired "
                             "critics take no regulariser here; use loss.regularizer='none'")
        if loss.fresh_operator and (loss.adversarial not in ("measurement", "uair") or not self.physics.fresh_per_sample):
            raise ValueError(f"loss.fresh_operator=true needs loss.adversarial='measurement' or 'uair' (got {loss.adversarial!r}) and "
                             f"physics.fresh_per_sample=true (got {self.physics.fresh_per_sample}): D measures x_hat through a new draw of the operator")
        if loss.adversarial == "scale" and self.physics.name not in SCALE_VIEW_PHYSICS:
            raise ValueError(f"loss.adversarial='scale' compares down-scaled measurements with patches of x_hat, for measurements that "
                             f"are images ({', '.join(SCALE_VIEW_PHYSICS)}), not physics.name={self.physics.name!r}")
        if self.model.consistency != "none" and self.physics.name != "inpainting":
            raise ValueError(f"model.consistency={self.model.consistency!r} copies the measured pixels into the output, for physics.name='inpainting' "
                             f"only (got {self.physics.name!r}): use model.consistency='none'")
        if self.data.select == "measurements" and self.physics.name != "inpainting":
            raise ValueError(f"data.select='measurements' withholds measured pixels, for physics.name='inpainting' only "
                             f"(got {self.physics.name!r}): use data.select='psnr'")
        if set(loss.self_supervised_parts) & set(NEEDS_FRESH_DRAWS) and not self.physics.fresh_per_sample:
            raise ValueError(f"loss.self_supervised={loss.self_supervised!r} needs fresh operator draws: set physics.fresh_per_sample=true, "
                             "or use 'ei' (one fixed operator)")
        if "moei" in loss.self_supervised_parts and {"ei", "moi"} & set(loss.self_supervised_parts):
            # moei is the two at once; beside either it would repeat its seeded transforms or operator draws
            raise ValueError(f"invalid loss.self_supervised={loss.self_supervised!r}: 'moei' is 'moi' and 'ei' at once; "
                             "name it alone, or 'moi+ei'")
        if set(loss.self_supervised_parts) & set(NEEDS_MASK) and self.physics.name != "inpainting":
            raise ValueError(f"loss.self_supervised={loss.self_supervised!r} splits the measured pixels, for physics.name='inpainting' "
                             f"only (got {self.physics.name!r}): use 'ei', or 'moi' with fresh operator draws")
        if (disc in WHOLE_IMAGE_CRITICS and loss.adv_weight > 0 and loss.adversarial in ("supervised", "pair")
                and (crop < 16 or crop & (crop - 1))):
            raise ValueError(f"invalid data.crop={crop} for model.discriminator={disc!r}: expected a power of two >= 16 "
                             "(that critic sees whole crops), or model.discriminator='patchgan'")

        if loss.posterior_samples > 1:
            if model.generator != "unet" or model.latent_channels < 1:
                raise ValueError(f"invalid loss.posterior_samples={loss.posterior_samples} with model.generator={model.generator!r}, "
                                 f"model.latent_channels={model.latent_channels}: posterior samples need the unet reconstructor "
                                 "with latent channels (set model.latent_channels >= 1)")
            if (loss.adv_weight > 0 and loss.adversarial not in ("supervised", "pair")) or loss.mc_weight > 0:
                raise ValueError(f"invalid loss.posterior_samples={loss.posterior_samples} with loss.adversarial={loss.adversarial!r}, "
                                 f"loss.mc_weight={loss.mc_weight}: posterior samples need loss.adversarial='supervised' or 'pair' and loss.mc_weight=0")
        if (loss.std_pool > 1 or loss.std_unseen) and loss.std_weight == 0:
            raise ValueError(f"invalid loss.std_pool={loss.std_pool}, loss.std_unseen={loss.std_unseen} with loss.std_weight=0: "
                             "they shape the std reward, which is off (set loss.std_weight, e.g. 1)")
        if loss.std_adapt > 0 and loss.std_weight == 0:
            raise ValueError(f"invalid loss.std_adapt={loss.std_adapt} with loss.std_weight=0: there is no std reward to adapt "
                             "(set loss.std_weight, e.g. 1)")
        if loss.std_weight > 0 and loss.posterior_samples < 2:
            raise ValueError(f"invalid loss.std_weight={loss.std_weight} with loss.posterior_samples={loss.posterior_samples}: "
                             "the std reward needs loss.posterior_samples >= 2")

    def notices(self) -> list[str]:
        """Combinations that run, but most likely not as meant (:func:`~invgan.config.resolve`
        warns of them for a new run, not for a saved config)."""
        loss, steps = self.loss, self.train.steps
        out = []
        if loss.adv_weight > 0 and loss.adv_start > 0 and loss.adv_start >= steps:
            out.append(f"loss.adv_start={loss.adv_start} >= train.steps={steps}: the run ends during its warm-up, so there will be "
                       f"no adversarial phase (loss.adv_weight={loss.adv_weight} is never used): raise train.steps above "
                       "loss.adv_start, lower loss.adv_start, or set loss.adv_weight=0 for a warm-up-only run")
        if loss.adv_weight == 0 and loss.regularizer != "none":
            out.append(f"loss.regularizer={loss.regularizer!r} regularises D, but loss.adv_weight=0 trains no D: it is not used")
        if loss.adversarial in ("measurement", "uair") and loss.adv_weight > 0 and self.physics.fresh_per_sample and not loss.fresh_operator:
            out.append(f"loss.adversarial={loss.adversarial!r} measures x_hat with the operator draw of y itself: for inpainting "
                       "x_hat = A^T y is then an equilibrium (no loss term sees the missing pixels); set loss.fresh_operator=true")
        return out
