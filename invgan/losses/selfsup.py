r"""Non-adversarial self-supervised losses of :mod:`deepinv.loss` as loss terms of the GAN core:
baselines for the adversarial learning from measurements only, trained by the same trainer.

* ``moi``: :math:`\|R(\mathcal{N}(A_{\theta'}\hat x), A_{\theta'}) - \hat x\|^2` with a fresh operator
  draw :math:`\theta'` (:class:`~deepinv.loss.MOILoss`);
* ``ei``: :math:`\|R(\mathcal{N}(A T_g\hat x), A) - T_g\hat x\|^2` with :math:`T_g` a shift or a
  90-degree rotation (:class:`~deepinv.loss.EILoss`);
* ``moei``: the two at once, :math:`T_g` and a fresh draw (:class:`~deepinv.loss.MOEILoss`);
* ``sure``: Stein's unbiased estimate of :math:`\|A\hat x - Ax\|^2` under Gaussian noise
  (:class:`~deepinv.loss.SureGaussianLoss`);
* ``splitting``: measurement splitting (SSDU, Noise2Self): the measured pixels are split at random
  into :math:`M_1 + M_2 = M`, and :math:`\tfrac{m}{m_2}\|M_2 y - M_2 R(M_1 y, M_1 A)\|^2` asks the
  reconstructor to predict measured pixels it was not given (:class:`~deepinv.loss.SplittingLoss`;
  an operator with a mask: inpainting);

all with :math:`\hat x = R(y, A)` and no ground truth (``splitting`` runs :math:`R` on its own split
input instead of using :math:`\hat x`).
Each is used with the measurement consistency :math:`\|A\hat x - y\|^2` (``loss.mc_weight``, the
:class:`~deepinv.loss.MCLoss` of deepinv), as in the papers (equivariant imaging: MC + EI).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .step import GANStep

#: ``loss.self_supervised``: the deepinv losses invgan's trainer can use, by name
SELF_SUPERVISED_LOSSES = ("moi", "ei", "moei", "sure", "splitting")

#: those that need fresh operator draws (``physics.fresh_per_sample``)
NEEDS_FRESH_DRAWS = ("moi", "moei")

#: those that split the measured pixels, so need an operator with a mask (``physics.name = "inpainting"``)
NEEDS_MASK = ("splitting",)


def _generators(loss: nn.Module, prefix: str) -> dict[str, torch.Generator]:
    """The seeded random streams of a deepinv loss: the ``rng`` of the loss and of each of its
    sub-modules (transforms, the generator of operator draws), by module name."""
    found = {}
    for name, module in loss.named_modules():
        g = getattr(module, "rng", None)
        if isinstance(g, torch.Generator):
            found[f"{prefix}/{name or 'loss'}"] = g
    return found


class DeepinvSelfSupervisedLoss(nn.Module):
    r"""A deepinv self-supervised loss (``loss(x_net=, y=, physics=, model=)``) as a term of the step
    record: :math:`\hat x` = ``step.x_hat``, :math:`y` = ``step.y``, :math:`A` = ``step.physics``,
    :math:`R` = ``step.model``; never ``step.x``. Its random streams (transforms, operator draws,
    SURE's probe) are seeded and saved with checkpoints (:meth:`rng_state`)."""

    def __init__(self, loss: nn.Module, name: str):
        super().__init__()
        self.loss, self.name = loss, name

    def forward(self, s: GANStep) -> Tensor:
        if s.model is None or s.y is None or s.physics is None:
            raise ValueError(f"the self-supervised loss {self.name!r} needs the step's measurement, operator and reconstructor")
        return self.loss(x_net=s.x_hat, y=s.y, physics=s.physics, model=s.model).mean()

    def rng_state(self) -> dict[str, Tensor]:
        return {k: g.get_state() for k, g in _generators(self.loss, self.name).items()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        for k, g in _generators(self.loss, self.name).items():
            if k in state:
                g.set_state(state[k])


class SplittingTerm(DeepinvSelfSupervisedLoss):
    r"""deepinv's :class:`~deepinv.loss.SplittingLoss` as a term of the step: the reconstructor, adapted
    by the loss (:meth:`~deepinv.loss.SplittingLoss.adapt_model`), is run on :math:`(M_1 y, M_1 A)`
    for one random split :math:`M_1 \subset M` of the measured pixels, and scored on the rest,
    :math:`\tfrac{m}{m_2}\|M_2 y - M_2 R(M_1 y, M_1 A)\|^2`. ``step.x_hat`` is not used; the
    reconstructor itself is not changed (evaluation gives it the whole :math:`y`, as SSDU does)."""

    def forward(self, s: GANStep) -> Tensor:
        if s.model is None or s.y is None or s.physics is None:
            raise ValueError(f"the self-supervised loss {self.name!r} needs the step's measurement, operator and reconstructor")
        from deepinv.physics import Inpainting

        if not isinstance(s.physics, Inpainting):  # (deepinv's blurs have a "mask" too: their Fourier filter)
            raise ValueError(f"the self-supervised loss {self.name!r} splits the measured pixels: it needs an operator with a mask "
                             f"(inpainting), got {type(s.physics).__name__}")
        split_model = self.loss.adapt_model(s.model)  # a fresh wrapper each step: R itself is not changed
        x_split = split_model(s.y, s.physics, update_parameters=True)  # one split while training
        return self.loss(x_net=x_split, y=s.y, physics=s.physics, model=split_model).mean()


def self_supervised_loss(name: str, *, draws: Any = None, noise_sigma: float = 0.0, seed: int = 0,
                         split_ratio: float = 0.9, image_shape: tuple[int, int, int] | None = None,
                         device: torch.device | str = "cpu") -> DeepinvSelfSupervisedLoss:
    r"""The deepinv loss ``name`` (:data:`SELF_SUPERVISED_LOSSES`), seeded with ``seed``. ``draws``:
    a :class:`~deepinv.physics.generator.PhysicsGenerator` of fresh operator draws (``moi``,
    ``moei``); ``noise_sigma``: the Gaussian noise level :math:`\sigma` of ``sure``;
    ``split_ratio``: the share of the measured pixels given to :math:`R` by ``splitting``, whose
    masks have the shape ``image_shape`` (C, H, W) and live on ``device``.

    :Example:

    >>> from invgan.losses.selfsup import self_supervised_loss
    >>> type(self_supervised_loss("ei").loss).__name__
    'EILoss'
    """
    import deepinv.loss as dloss
    from deepinv.transform import Rotate, Shift

    if name not in SELF_SUPERVISED_LOSSES:
        raise ValueError(f"invalid self_supervised={name!r}: expected one of {SELF_SUPERVISED_LOSSES}")
    if name in NEEDS_FRESH_DRAWS and draws is None:
        raise ValueError(f"the self-supervised loss {name!r} needs fresh operator draws: set physics.fresh_per_sample = true")
    transform = lambda: Shift(rng=torch.Generator().manual_seed(seed + 1)) | Rotate(multiples=90, positive=True, rng=torch.Generator().manual_seed(seed + 2))  # noqa: E731
    if name == "moi":
        loss = dloss.MOILoss(physics_generator=draws)
    elif name == "ei":
        loss = dloss.EILoss(transform=transform())
    elif name == "moei":
        loss = dloss.MOEILoss(transform=transform(), physics_generator=draws)
    elif name == "splitting":
        from deepinv.physics.generator import BernoulliSplittingMaskGenerator

        if not 0 < split_ratio < 1:
            raise ValueError(f"invalid split_ratio={split_ratio!r}: expected a share in (0, 1) of the measured pixels")
        if image_shape is None:
            raise ValueError("the self-supervised loss 'splitting' needs the image shape (C, H, W) of its masks")
        masks = BernoulliSplittingMaskGenerator(tuple(image_shape), split_ratio, pixelwise=True, device=device,
                                                rng=torch.Generator(device).manual_seed(seed + 4))
        return SplittingTerm(dloss.SplittingLoss(mask_generator=masks, eval_split_input=False), name)
    else:
        if not noise_sigma > 0:
            raise ValueError(f"the self-supervised loss 'sure' needs Gaussian noise: physics.noise_sigma > 0, got {noise_sigma!r}")
        loss = dloss.SureGaussianLoss(sigma=noise_sigma, rng=torch.Generator().manual_seed(seed + 3))
    return DeepinvSelfSupervisedLoss(loss, name)
