r"""Regularisers of the discriminator, as small functions of ``(D, step)``, and constraints on its weights.

A regulariser ``fn(D, s)`` returns a scalar computed from what ``D`` judges in the step
(``s.real``, ``s.fake``: tuples of ``D``'s positional inputs). Gradients are taken with respect to
the floating-point inputs only (labels pass through), and every norm is taken **per sample over
all of its entries** (all channels and pixels, and all floating inputs of a tuple), then
averaged over the batch. Wrap one in :class:`~invgan.training.gan.Regularizer` to use it: every
step it is added to ``D``'s loss; lazily every :math:`k` steps it runs as its own phase.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from .step import GANStep, logit


def _input_gradients(D: nn.Module, inputs: tuple[Tensor, ...]) -> tuple[Tensor, list[Tensor]]:
    """``D``'s logits at ``inputs`` and their gradients with respect to the floating inputs (graph kept).

    Each penalty adds ``0 * D(x).sum()``: the output layer's bias has no gradient in a penalty on
    input gradients, and this term gives every parameter one (zero), which
    ``DistributedDataParallel`` needs to finish its reduction; the value is unchanged."""
    inputs = tuple(t.detach().requires_grad_(t.is_floating_point()) for t in inputs)
    out = logit(D(*inputs))
    wrt = [t for t in inputs if t.requires_grad]
    grads = torch.autograd.grad(out.sum(), wrt, create_graph=True)
    return out, list(grads)


def _squared_norms(grads: list[Tensor]) -> Tensor:
    """Per-sample squared norm over every entry of every gradient, shape ``(B,)``."""
    return sum(g.flatten(1).pow(2).sum(1) for g in grads)  # type: ignore[return-value]


def r1_penalty(D: nn.Module, s: GANStep) -> Tensor:
    r"""R1 (Mescheder et al. 2018): :math:`\tfrac{1}{2}\,\mathbb{E}_x\,\|\nabla_x D(x)\|_2^2` on real inputs.

    :Example:

    >>> import torch
    >>> from torch import nn
    >>> from invgan.losses import GANStep, r1_penalty
    >>> D = nn.Linear(2, 1, bias=False)
    >>> _ = nn.init.constant_(D.weight, 3.0)
    >>> s = GANStep(x_hat=torch.zeros(4, 2), real=(torch.rand(4, 2),))
    >>> float(r1_penalty(D, s).detach())
    9.0
    """
    out, grads = _input_gradients(D, s.real)
    return 0.5 * _squared_norms(grads).mean() + 0.0 * out.sum()


def r2_penalty(D: nn.Module, s: GANStep) -> Tensor:
    r"""R2 (Mescheder et al. 2018): :math:`\tfrac{1}{2}\,\mathbb{E}_{\hat x}\,\|\nabla_{\hat x} D(\hat x)\|_2^2` on generated inputs."""
    out, grads = _input_gradients(D, s.fake)
    return 0.5 * _squared_norms(grads).mean() + 0.0 * out.sum()


def _mix(a: tuple[Tensor, ...], b: tuple[Tensor, ...], eps: Tensor) -> tuple[Tensor, ...]:
    r""":math:`\epsilon a + (1-\epsilon) b` for each floating input (one :math:`\epsilon` per sample); others from ``a``."""
    out = []
    for ta, tb in zip(a, b):
        if ta.is_floating_point():
            e = eps.view(-1, *([1] * (ta.dim() - 1))).to(ta.dtype)
            out.append(e * ta.detach() + (1 - e) * tb.detach())
        else:
            out.append(ta)
    return tuple(out)


def _batch(inputs: tuple[Tensor, ...]) -> tuple[int, torch.device]:
    t = next(t for t in inputs if t.is_floating_point())
    return t.shape[0], t.device


def gradient_penalty(D: nn.Module, s: GANStep) -> Tensor:
    r"""WGAN-GP (Gulrajani et al. 2017): :math:`\mathbb{E}_{\tilde x}\big(\|\nabla_{\tilde x} D(\tilde x)\|_2 - 1\big)^2`
    at :math:`\tilde x = \epsilon x + (1-\epsilon)\hat x`, :math:`\epsilon\sim U[0,1]` per sample, the norm taken
    per sample over all of its entries (use it with ``weight`` :math:`\lambda = 10`, the paper's)."""
    n, device = _batch(s.real)
    eps = torch.rand(n, device=device)
    out, grads = _input_gradients(D, _mix(s.real, s.fake, eps))
    return (_squared_norms(grads).add(1e-12).sqrt() - 1).pow(2).mean() + 0.0 * out.sum()


def dragan_penalty(D: nn.Module, s: GANStep, scale: float = 0.5) -> Tensor:
    r"""DRAGAN (Kodali et al. 2017): the gradient penalty :math:`\mathbb{E}(\|\nabla D(\tilde x)\|_2 - 1)^2` around
    the data, at :math:`\tilde x = x + \alpha\delta`, :math:`\delta = c\,\mathrm{std}(x)\,u`,
    :math:`u\sim U[0,1]` per entry, :math:`\alpha\sim U[0,1]` per sample, :math:`c` = ``scale`` (use
    ``weight`` :math:`\lambda = 10`)."""
    n, device = _batch(s.real)
    perturbed = tuple(t.detach() + scale * t.detach().std() * torch.rand_like(t) if t.is_floating_point() else t for t in s.real)
    alpha = torch.rand(n, device=device)
    out, grads = _input_gradients(D, _mix(perturbed, s.real, alpha))
    return (_squared_norms(grads).add(1e-12).sqrt() - 1).pow(2).mean() + 0.0 * out.sum()


def drift_penalty(D: nn.Module, s: GANStep) -> Tensor:
    r"""ProGAN's drift term (Karras et al. 2018): :math:`\mathbb{E}_x\,D(x)^2` on real inputs, keeping
    a Wasserstein critic's outputs near 0 (weight :math:`\epsilon_\text{drift} = 0.001`). Reads ``D``'s
    outputs of the running phase (``s.d_real``) when set, else runs ``D`` on ``s.real``."""
    out = s.d_real if s.d_real is not None else D(*s.real)
    return logit(out).float().pow(2).mean()


class PathLengthPenalty:
    r"""StyleGAN2's path-length regulariser of ``G`` (Karras et al. 2020), on a generator that
    declares a ``"w+"`` latent space (:mod:`invgan.nets.generators`):

    .. math::

        \ell_b = \sqrt{\tfrac{1}{L}\textstyle\sum_{l,j} \big(J_b^\top y_b\big)_{lj}^2},\qquad
        J_b^\top y_b = \nabla_{w^+_b}\,\langle g(w^+_b), y_b\rangle,\qquad
        y_b \sim \mathcal{N}(0, I)/\sqrt{HW},

        a \leftarrow a + \delta\,(\mathrm{mean}_b\,\ell_b - a),\qquad
        \text{penalty} = \mathrm{mean}_b\,(\ell_b - a)^2,

    with :math:`L` the number of styles, :math:`a` the running mean (``mean``, starting at 0, updated
    with ``decay`` :math:`\delta = 0.01` before the penalty is taken) and the latents of the step
    ``s.z`` (the first ``len(z) // batch_shrink``) mapped to :math:`w^+`. The running mean is
    checkpointed with the recipe's state (:meth:`rng_state`). Use it as
    ``Regularizer("PL", PathLengthPenalty(), weight=2.0, every=4, network="G")``."""

    def __init__(self, decay: float = 0.01, batch_shrink: int = 2):
        if not 0 < decay <= 1 or batch_shrink < 1:
            raise ValueError(f"invalid PathLengthPenalty(decay={decay!r}, batch_shrink={batch_shrink!r}): expected decay in (0, 1], shrink >= 1")
        self.decay, self.batch_shrink = float(decay), int(batch_shrink)
        self.mean = torch.zeros(())

    def __call__(self, G: nn.Module, s: GANStep) -> Tensor:
        if isinstance(G, nn.parallel.DistributedDataParallel):
            # its own forward would bypass the wrapper, whose gradient synchronisation needs one
            raise ValueError("the path-length penalty does not run under DistributedDataParallel yet: train in one process "
                             "or set gan.path_length_weight = 0")
        if s.z is None:
            raise ValueError("the path-length penalty needs the step's latents z (a generator run)")
        z = s.z[: max(1, s.z.shape[0] // self.batch_shrink)]
        wplus = G.to_space("w+", z.detach())
        if not wplus.requires_grad:
            wplus = wplus.detach().requires_grad_(True)
        x = G.from_space("w+", wplus)
        y = torch.randn_like(x) / (x.shape[-2] * x.shape[-1]) ** 0.5
        (grad,) = torch.autograd.grad((x * y).sum(), wplus, create_graph=True)
        lengths = grad.float().pow(2).sum(2).mean(1).sqrt()
        self.mean = self.mean.to(lengths.device)
        self.mean = self.mean + self.decay * (lengths.detach().mean() - self.mean)
        return (lengths - self.mean).pow(2).mean() + 0.0 * x.sum()

    def rng_state(self) -> dict[str, Tensor]:
        """The running mean, saved with the recipe's state in checkpoints."""
        return {"path_length_mean": self.mean.detach().cpu().clone()}

    def set_rng_state(self, state: dict[str, Tensor]) -> None:
        if "path_length_mean" in state:
            self.mean = state["path_length_mean"].clone()


def orthogonal_penalty(G: nn.Module, s: GANStep | None = None) -> Tensor:
    r"""BigGAN's orthogonal regularisation (Brock et al. 2019) of ``G``'s weights:
    :math:`\sum_W \|W W^\top \odot (\mathbf{1} - I)\|_F^2` over every weight of two or more
    dimensions, reshaped to ``(out, -1)`` (spectral norm's original weights included). A
    regulariser of ``G``: ``Regularizer("ortho", orthogonal_penalty, 1e-4, network="G")``."""
    total = None
    for p in G.parameters():
        if p.dim() < 2:
            continue
        w = p.flatten(1)
        gram = w @ w.t()
        off = gram - torch.diag(torch.diagonal(gram))
        term = off.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal regularisation needs weights of two or more dimensions")
    return total


def clip_weights(bound: float = 0.01) -> Callable[[nn.Module], None]:
    r"""WGAN's weight clipping (Arjovsky et al. 2017): after each update of ``D``, every parameter is
    clamped to :math:`[-c, c]`, :math:`c` = ``bound`` (0.01 in the paper). A constraint for
    ``GANRecipe(d_constraints=...)``.

    :Example:

    >>> import torch
    >>> from torch import nn
    >>> from invgan.losses import clip_weights
    >>> D = nn.Linear(2, 1)
    >>> _ = nn.init.constant_(D.weight, 3.0)
    >>> clip_weights(0.01)(D)
    >>> D.weight.abs().max().item() <= 0.01
    True
    """
    if not bound > 0:
        raise ValueError(f"invalid clip bound {bound!r}: expected > 0")

    def clip(D: nn.Module) -> None:
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-bound, bound)

    return clip


#: regularisers by name, for configs
REGULARIZERS: dict[str, Callable[[nn.Module, GANStep], Tensor]] = {
    "r1": r1_penalty, "r2": r2_penalty, "gp": gradient_penalty, "dragan": dragan_penalty,
}
#: ``gan.regularizer``: none, or one of :data:`REGULARIZERS`
REGULARIZER_NAMES = ("none", *REGULARIZERS)
