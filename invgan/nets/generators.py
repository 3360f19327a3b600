r"""Unconditional generators :math:`G:\mathbb{R}^d\to\mathcal{X}`, :math:`z\sim\mathcal{N}(0, I_d)`.

The output range is an explicit, required choice so that a generator never
silently produces :math:`[-1, 1]` images for :math:`[0, 1]` data:

* ``output="sigmoid"`` for data in :math:`[0, 1]` (invgan's convention),
* ``output="tanh"`` for data in :math:`[-1, 1]`,
* ``output="none"`` for unbounded data.

Every generator exposes ``latent_dim``, ``out_shape = (C, H, W)`` and
``output_range`` (``(lo, hi)``, ``None`` when unbounded), which the latent search
and the metrics use to check inputs.

**Latent spaces.** Each generator declares the spaces it can be searched in
(:meth:`LatentGenerator.latent_spaces`, a dict of :class:`LatentSpace`): ``"z"`` for every
generator, ``"layer:l"`` (the input of layer :math:`l`) for the convolutional ones, and
``"w"``, ``"w+"``, ``"noise"`` for StyleGAN2 (:mod:`invgan.nets.stylegan`).
:meth:`~LatentGenerator.to_space` maps latents :math:`z` into a space and
:meth:`~LatentGenerator.from_space` runs the generator from a point of it, so that
``G.from_space(s, G.to_space(s, z)) == G(z)`` for every declared ``s`` (in eval mode).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn


from .latent import LatentCodes, LatentGenerator, LatentSpace, _activation, upsampling_plan


class DCGANGenerator(LatentGenerator):
    r"""DCGAN generator (Radford et al. 2016): a linear projection of :math:`z` to a
    ``width_at_start × s0 × s0`` map, then stride-2 transposed 4×4 convolutions with
    batch norm and ReLU, each doubling the size, and a final 3×3 convolution with the chosen
    output activation.

    ``img_size`` is a power of two :math:`\ge 16` (:math:`s_0 = 4`) or 28 (MNIST, :math:`s_0 = 7`).
    Channel widths halve at each upsampling from ``width * 2**(n_up - 1)`` down to ``width``.
    """

    def __init__(self, latent_dim: int = 100, out_channels: int = 1, img_size: int = 64, width: int = 64, *, output: str, max_width: int = 512):
        super().__init__()
        start, n_up = upsampling_plan(img_size)
        if latent_dim < 1 or out_channels < 1 or width < 1:
            raise ValueError(f"invalid latent_dim/out_channels/width = {latent_dim}/{out_channels}/{width}: expected positive integers")
        self.latent_dim, self.out_shape, self.output = int(latent_dim), (int(out_channels), img_size, img_size), output
        self.start = start
        c0 = min(width * 2 ** (n_up - 1), max_width)
        self.project = nn.Sequential(nn.Linear(latent_dim, c0 * start * start, bias=False), nn.Unflatten(1, (c0, start, start)), nn.BatchNorm2d(c0), nn.ReLU(True))
        layers: list[nn.Module] = []
        cin = c0
        for k in range(n_up):
            cout = min(width * 2 ** (n_up - 2 - k), max_width) if k < n_up - 1 else width
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
            cin = cout
        layers += [nn.Conv2d(cin, out_channels, 3, 1, 1), _activation(output)]
        self.net = nn.Sequential(*layers)

        self.n_layers = n_up + 1

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.project(self._check_latent(z)))

    def latent_spaces(self) -> dict[str, LatentSpace]:
        r"""``"z"`` and ``"layer:l"``, :math:`l = 0, \dots,` ``n_layers - 1``: the input of upsampling
        block :math:`l` (``layer:0`` is the projected ``s0 × s0`` map; the last is the input of the
        output convolution)."""
        spaces = super().latent_spaces()
        for l in range(self.n_layers):
            shape = self._layer_shape(l)
            spaces[f"layer:{l}"] = LatentSpace(f"layer:{l}", shape, f"the input of layer {l} (features {shape})")
        return spaces

    def _layer_shape(self, l: int) -> tuple[int, int, int]:
        conv = self.net[3 * l] if l < self.n_layers - 1 else self.net[-2]
        return (conv.in_channels, self.start * 2**l, self.start * 2**l)

    @staticmethod
    def _layer_index(space: str) -> int:
        return int(space.split(":", 1)[1])

    def to_space(self, space: str, z: Tensor, *cond: Tensor) -> Tensor:
        spec = self._space(space)
        if space == "z":
            return super().to_space(space, z)
        l = self._layer_index(spec.name)
        return self.net[: 3 * l](self.project(self._check_latent(z)))

    def from_space(self, space: str, value: Tensor, *cond: Tensor, **inputs: Tensor) -> Tensor:
        l = self._layer_of(space, value, inputs)
        return self(value) if l is None else self.net[3 * l:](value)


class MLPGenerator(LatentGenerator):
    r"""The vanilla GAN generator (Goodfellow et al. 2014): fully connected layers with
    LeakyReLU, :math:`G(z) = \phi(W_L\,\sigma(\cdots\sigma(W_1 z)))` reshaped to ``out_shape``;
    ``batch_norm=True`` normalises each hidden layer (needed on MNIST-sized images, where the plain
    network collapses to one mode; see docs/gallery.md)."""

    def __init__(self, latent_dim: int = 64, out_shape: tuple[int, int, int] = (1, 28, 28), hidden: tuple[int, ...] = (256, 512), *, output: str,
                 batch_norm: bool = False):
        super().__init__()
        if len(out_shape) != 3 or min(out_shape) < 1:
            raise ValueError(f"invalid out_shape={out_shape!r}: expected (C, H, W)")
        self.latent_dim, self.out_shape, self.output = int(latent_dim), tuple(int(s) for s in out_shape), output
        dims = (latent_dim, *hidden)
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b, bias=not batch_norm), *([nn.BatchNorm1d(b)] if batch_norm else []), nn.LeakyReLU(0.2, True)]
        layers += [nn.Linear(dims[-1], math.prod(out_shape)), _activation(output), nn.Unflatten(1, self.out_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self._check_latent(z))


class ConditionalGenerator(LatentGenerator):
    r"""A class-conditional generator (CGAN, Mirza & Osindero 2014; ACGAN): the label enters as a
    one-hot vector beside the noise, :math:`G(z, c) = G_0([z, e_c])`, with ``base`` a generator
    :math:`G_0` of ``latent_dim + n_classes`` inputs. ``latent_dim`` is the noise dimension."""

    def __init__(self, base: LatentGenerator, n_classes: int):
        super().__init__()
        if not 1 < n_classes < base.latent_dim:
            raise ValueError(f"invalid n_classes={n_classes!r} for a base generator of {base.latent_dim} inputs")
        self.base, self.n_classes = base, int(n_classes)
        self.latent_dim, self.out_shape, self.output = base.latent_dim - self.n_classes, base.out_shape, base.output

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        z = self._check_latent(z)
        if c is None:
            raise ValueError(f"a conditional generator needs a label c in [0, {self.n_classes}) for each latent: G(z, c)")
        c = torch.as_tensor(c, device=z.device).long().flatten()
        if c.shape[0] != z.shape[0] or c.min() < 0 or c.max() >= self.n_classes:
            raise ValueError(f"invalid labels {c.tolist()[:8]}: expected {z.shape[0]} labels in [0, {self.n_classes})")
        onehot = torch.nn.functional.one_hot(c, self.n_classes).to(z.dtype)
        return self.base(torch.cat([z, onehot], 1))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, labels: Tensor | None = None) -> Tensor:
        """``n`` images, labels ``0, 1, ..., n_classes - 1, 0, ...`` unless given."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        labels = torch.arange(n) % self.n_classes if labels is None else torch.as_tensor(labels)
        was_training = self.training
        self.eval()
        try:
            z = self.sample_latent(n, gen)
            return self(z, labels.to(z.device))
        finally:
            self.train(was_training)


GENERATORS = {"dcgan": DCGANGenerator, "mlp": MLPGenerator}
#: every ``kind`` of :func:`make_generator` (StyleGAN2, SAGAN and ProGAN live in :mod:`invgan.nets.stylegan`,
#: :mod:`invgan.nets.sagan`, :mod:`invgan.nets.progan`)
GENERATOR_NAMES = ("dcgan", "mlp", "stylegan2", "sagan", "progan")


def make_generator(kind: str, latent_dim: int, out_shape: tuple[int, int, int], *, output: str, width: int = 64,
                   n_classes: int = 0, codes: dict[str, Any] | None = None, **kwargs) -> LatentGenerator:
    """A generator by name (``"dcgan"``, ``"mlp"``, ``"stylegan2"``, ``"sagan"`` or ``"progan"``) for images of shape
    ``out_shape``; with ``n_classes > 0`` the class-conditional :class:`ConditionalGenerator`
    :math:`G(z, c)` of it (SAGAN: its own conditional batch norm);
    with ``codes`` (``{"categorical": [10], "continuous": 2}``) InfoGAN's :math:`G([z, c, u])`
    with ``latent_dim`` noise entries and the :class:`LatentCodes` prior.

    The arguments are kept in ``G.config`` so that ``make_generator(**G.config)`` rebuilds it
    (checkpoints store this dict next to the weights).

    :Example:

    >>> import torch
    >>> from invgan.nets.generators import make_generator
    >>> G = make_generator("dcgan", 16, (1, 28, 28), output="sigmoid", width=8)
    >>> x = G(torch.randn(2, 16))
    >>> tuple(x.shape), bool((x >= 0).all() and (x <= 1).all())
    ((2, 1, 28, 28), True)
    >>> G.latent_dim
    16
    """
    out_shape = tuple(int(s) for s in out_shape)
    prior = LatentCodes(latent_dim, tuple(codes.get("categorical", ())), int(codes.get("continuous", 0))) if codes else None
    inputs = prior.dim if prior is not None else latent_dim + n_classes
    if kind == "dcgan":
        c, h, w = out_shape
        if h != w:
            raise ValueError(f"DCGANGenerator makes square images, got out_shape={out_shape!r}")
        G: LatentGenerator = DCGANGenerator(inputs, c, h, width, output=output, **kwargs)
    elif kind == "mlp":
        G = MLPGenerator(inputs, out_shape, output=output, **kwargs)
    elif kind == "stylegan2":
        from .stylegan import StyleGAN2Generator

        c, h, w = out_shape
        if h != w:
            raise ValueError(f"StyleGAN2Generator makes square images, got out_shape={out_shape!r}")
        G = StyleGAN2Generator(inputs, c, h, width, output=output, **kwargs)
    elif kind == "sagan":
        from .sagan import SAGANGenerator

        c, h, w = out_shape
        if h != w:
            raise ValueError(f"SAGANGenerator makes square images, got out_shape={out_shape!r}")
        G = SAGANGenerator(inputs - n_classes, c, h, width, output=output, n_classes=n_classes, **kwargs)
    elif kind == "progan":
        from .progan import ProGANGenerator

        c, h, w = out_shape
        if h != w:
            raise ValueError(f"ProGANGenerator makes square images, got out_shape={out_shape!r}")
        G = ProGANGenerator(inputs, c, h, width, output=output, **kwargs)
    else:
        raise ValueError(f"unknown generator {kind!r}: expected one of {GENERATOR_NAMES}")
    if n_classes and kind != "sagan":
        G = ConditionalGenerator(G, n_classes)
    G.codes = prior
    G.config = dict(kind=kind, latent_dim=latent_dim, out_shape=out_shape, output=output, width=width, **kwargs)
    if n_classes:
        G.config["n_classes"] = n_classes
    if prior is not None:
        G.config["codes"] = {"categorical": list(prior.categorical), "continuous": prior.continuous}
    return G

