r"""What every generator shares: the latent prior (:class:`LatentCodes`), the declared latent spaces
(:class:`LatentSpace`), the output ranges and the common interface :class:`LatentGenerator`
(see :mod:`invgan.nets.generators` for the generators themselves)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class LatentCodes:
    r"""InfoGAN's structured latent (Chen et al. 2016): :math:`z' = [z, c_1, \dots, c_k, u]` with
    noise :math:`z\sim\mathcal{N}(0, I_{\text{noise}})`, one-hot categorical codes
    :math:`c_i\sim\mathrm{Cat}(K_i)` (``categorical = (K_1, ...)``) and continuous codes
    :math:`u\sim U[-1, 1]^{\text{continuous}}`. The generator is an ordinary :math:`G(z')` of
    :attr:`dim` inputs.

    :Example:

    >>> import torch
    >>> from invgan.nets.latent import LatentCodes
    >>> codes = LatentCodes(noise=4, categorical=(3,), continuous=2)
    >>> codes.dim, codes.head_size
    (9, 5)
    >>> z = codes.sample(5, torch.Generator().manual_seed(0))
    >>> cats, cont = codes.split(z)
    >>> tuple(z.shape), tuple(cats[0].shape), tuple(cont.shape)
    ((5, 9), (5,), (5, 2))
    """

    noise: int = 62
    categorical: tuple[int, ...] = (10,)
    continuous: int = 2

    def __post_init__(self) -> None:
        if self.noise < 0 or self.continuous < 0 or any(k < 2 for k in self.categorical):
            raise ValueError(f"invalid latent codes {self}: expected noise, continuous >= 0 and categories >= 2")

    @property
    def dim(self) -> int:
        return self.noise + sum(self.categorical) + self.continuous

    def sample(self, n: int, gen: torch.Generator | None = None) -> Tensor:
        """``n`` latents ``(n, dim)`` (on the CPU, from ``gen``)."""
        parts = [torch.randn(n, self.noise, generator=gen)]
        for k in self.categorical:
            parts.append(torch.nn.functional.one_hot(torch.randint(k, (n,), generator=gen), k).float())
        parts.append(2 * torch.rand(n, self.continuous, generator=gen) - 1)
        return torch.cat(parts, 1)

    def with_codes(self, z: Tensor, categories: Tensor | None = None, continuous: Tensor | None = None) -> Tensor:
        """``z`` with the first categorical code set to ``categories`` and/or the continuous codes set."""
        z = z.clone()
        if categories is not None:
            k = self.categorical[0]
            z[:, self.noise : self.noise + k] = torch.nn.functional.one_hot(categories.long().to(z.device), k).to(z.dtype)
        if continuous is not None:
            z[:, self.dim - self.continuous :] = continuous.to(z)
        return z

    def split(self, z: Tensor) -> tuple[list[Tensor], Tensor]:
        """The category indices (one ``(B,)`` tensor per categorical code) and the continuous codes ``(B, continuous)``."""
        cats, start = [], self.noise
        for k in self.categorical:
            cats.append(z[:, start : start + k].argmax(1))
            start += k
        return cats, z[:, start : start + self.continuous]

    @property
    def head_size(self) -> int:
        """Outputs of :math:`Q`: the logits of each categorical code, then the continuous means."""
        return sum(self.categorical) + self.continuous


@dataclass(frozen=True)
class LatentSpace:
    r"""A space a generator can be run from: ``name`` (``"z"``, ``"w"``, ``"w+"``, ``"noise"``,
    ``"layer:l"``), the per-sample ``shape`` of a point (``()`` for ``"noise"``, a list of maps),
    what it is (``about``), and ``needs``: the keyword inputs :meth:`LatentGenerator.from_space`
    also takes there (StyleGAN2's layer spaces need the styles ``wplus`` of the layers after
    :math:`l`); ``optional`` ones default to the generator's own (its fixed noise maps)."""

    name: str
    shape: tuple[int, ...]
    about: str
    needs: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


OUTPUTS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "none": None}


def _activation(output: str) -> nn.Module:
    if output not in OUTPUTS:
        raise ValueError(f"invalid output={output!r}: expected one of {tuple(OUTPUTS)} "
                         "('sigmoid' for [0, 1] data, 'tanh' for [-1, 1] data)")
    return {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "none": nn.Identity()}[output]


class LatentGenerator(nn.Module):
    """Common interface: ``G(z)`` with ``z`` of shape ``(B, latent_dim)``, and ``G.sample(n)``."""

    latent_dim: int
    out_shape: tuple[int, int, int]
    output: str
    #: a structured latent prior (InfoGAN); ``None``: :math:`\mathcal{N}(0, I)`
    codes: LatentCodes | None = None

    @property
    def output_range(self) -> tuple[float, float] | None:
        return OUTPUTS[self.output]

    def sample_latent(self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None) -> Tensor:
        r""":math:`z\sim\mathcal{N}(0, I_d)` (or the generator's structured ``codes``), shape ``(n, latent_dim)``."""
        device = device if device is not None else next(self.parameters()).device
        if self.codes is not None:
            return self.codes.sample(n, generator).to(device)
        return torch.randn(n, self.latent_dim, generator=generator, device="cpu").to(device)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> Tensor:
        """``n`` images from a seeded (or the global) random stream, in eval mode."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        was_training = self.training
        self.eval()
        try:
            return self(self.sample_latent(n, gen))
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ latent spaces
    def latent_spaces(self) -> dict[str, LatentSpace]:
        """The spaces this generator can be run from, by name (``"z"`` first)."""
        return {"z": LatentSpace("z", (self.latent_dim,), "the input latent z ~ N(0, I)")}

    def _space(self, space: str) -> LatentSpace:
        spaces = self.latent_spaces()
        if space not in spaces:
            raise ValueError(f"{type(self).__name__} has no latent space {space!r}: expected one of {tuple(spaces)}")
        return spaces[space]

    def to_space(self, space: str, z: Tensor, *cond: Tensor) -> Tensor:
        r"""The point of ``space`` that the latents ``z`` ``(B, latent_dim)`` map to (``cond``: the
        labels of a conditional generator); ``"z"`` is ``z`` itself."""
        self._space(space)
        return self._check_latent(z)

    def from_space(self, space: str, value: Tensor, *cond: Tensor, **inputs: Tensor) -> Tensor:
        r"""The images generated from ``value``, a point of ``space`` (``"z"``: :math:`G(z)`);
        ``inputs`` are the space's ``needs``."""
        self._space(space)
        return self(value, *cond)

    def _layer_of(self, space: str, value: Tensor, inputs: dict[str, Any]) -> int | None:
        """Check a point of ``space`` and the inputs given with it; the layer ``l`` of a ``layer:l``
        space (``None`` for ``z``)."""
        spec = self._space(space)
        self._check_inputs(spec, inputs)
        if space == "z":
            return None
        if tuple(value.shape[1:]) != spec.shape:
            raise ValueError(f"{space!r} points have shape (B, {', '.join(map(str, spec.shape))}), got {tuple(value.shape)}")
        return int(space.split(":", 1)[1])

    def _check_inputs(self, spec: LatentSpace, inputs: dict[str, Any]) -> None:
        missing = [k for k in spec.needs if k not in inputs and k not in spec.optional]
        extra = [k for k in inputs if k not in spec.needs]
        if missing or extra:
            raise ValueError(f"running {type(self).__name__} from {spec.name!r} takes the inputs {spec.needs}: "
                             f"{'missing ' + str(missing) if missing else 'unexpected ' + str(extra)}")

    def _check_latent(self, z: Tensor) -> Tensor:
        if z.dim() == 4 and z.shape[-2:] == (1, 1):  # deepinv-style (B, d, 1, 1)
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"{type(self).__name__} expects latents of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        return z


def upsampling_plan(img_size: int) -> tuple[int, int]:
    """``(s0, n_up)`` of a generator that doubles an ``s0 x s0`` map ``n_up`` times to ``img_size``:
    ``(7, 2)`` for 28 (MNIST), ``(4, log2(img_size) - 2)`` for a power of two >= 16.

    >>> upsampling_plan(28), upsampling_plan(64)
    ((7, 2), (4, 4))
    """
    if img_size == 28:
        return 7, 2
    if img_size >= 16 and not img_size & (img_size - 1):
        return 4, int(math.log2(img_size)) - 2
    raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two >= 16")
