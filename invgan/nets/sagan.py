r"""SAGAN (Zhang et al. 2019): self-attention and spectral normalisation in both networks; its
class-conditional form has conditional batch norm in ``G`` and a projection discriminator
(Miyato & Koyama 2018).

* :class:`SelfAttention`: :math:`y = x + \gamma\,o\big(h(x)\,\mathrm{softmax}(f(x)^\top g(x))\big)`
  with 1×1 convolutions :math:`f, g` (``C/8`` channels), :math:`h` (``C/2``), :math:`o` (back to
  ``C``) and the gate :math:`\gamma` learned from 0 (the block starts as the identity).
* :class:`ConditionalBatchNorm2d`: :math:`y = \gamma_c \odot \mathrm{BN}(x) + \beta_c`, a gain and
  a bias per class (gains start at 1, biases at 0).
* :class:`SAGANGenerator`: :math:`z` projected to ``s0 × s0``, blocks of (conditional) batch norm,
  ReLU, ×2 nearest upsampling and a 3×3 convolution, self-attention after the block whose output
  has side ``attention``; every convolution and linear layer spectrally normalised.
* :class:`SAGANDiscriminator`: strided spectrally normalised convolutions with leaky ReLU,
  self-attention at side ``attention``, global sum pooling :math:`\phi(x)`, and
  :math:`D(x, c) = w^\top\phi(x) + b + e_c^\top\phi(x)` (the projection term with labels).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .latent import LatentGenerator, LatentSpace, _activation, upsampling_plan


class SelfAttention(nn.Module):
    r"""SAGAN's self-attention block over the :math:`N = HW` positions (see the module); the output
    has the input's shape and equals it at initialisation (:math:`\gamma = 0`)."""

    def __init__(self, channels: int, spectral_norm: bool = True):
        super().__init__()
        sn = _sn if spectral_norm else (lambda m: m)
        k, v = max(1, channels // 8), max(1, channels // 2)
        self.f, self.g = sn(nn.Conv2d(channels, k, 1, bias=False)), sn(nn.Conv2d(channels, k, 1, bias=False))
        self.h, self.o = sn(nn.Conv2d(channels, v, 1, bias=False)), sn(nn.Conv2d(v, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, hh, ww = x.shape
        q, k, v = self.f(x).flatten(2), self.g(x).flatten(2), self.h(x).flatten(2)  # (B, k, N), (B, k, N), (B, v, N)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, N, N): row i attends over positions j
        out = (v @ attn.transpose(1, 2)).view(b, -1, hh, ww)  # o_i = sum_j attn_ij v_j
        return x + self.gamma * self.o(out)


class ConditionalBatchNorm2d(nn.Module):
    r"""Conditional batch norm: :math:`y = \gamma_c\,\mathrm{BN}(x) + \beta_c` with per-class
    embeddings :math:`\gamma` (initialised to 1) and :math:`\beta` (to 0); ``c=None`` when
    ``n_classes = 0`` (then it is a plain affine batch norm)."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.n_classes = n_classes
        self.bn = nn.BatchNorm2d(channels, affine=n_classes == 0)
        if n_classes:
            self.gain, self.bias = nn.Embedding(n_classes, channels), nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        y = self.bn(x)
        if not self.n_classes:
            return y
        if c is None:
            raise ValueError(f"conditional batch norm needs a label in [0, {self.n_classes}) per sample")
        return self.gain(c)[:, :, None, None] * y + self.bias(c)[:, :, None, None]


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, n_classes: int):
        super().__init__()
        self.norm = ConditionalBatchNorm2d(cin, n_classes)
        self.conv = _sn(nn.Conv2d(cin, cout, 3, 1, 1))

    def forward(self, x: Tensor, c: Tensor | None) -> Tensor:
        return self.conv(F.interpolate(F.relu(self.norm(x, c)), scale_factor=2, mode="nearest"))


class SAGANGenerator(LatentGenerator):
    r"""SAGAN's generator (see the module) for ``img_size`` 28 (:math:`s_0 = 7`) or a power of two
    :math:`\ge 16` (:math:`s_0 = 4`), widths halving from ``width * 2**(n_up - 1)`` (at most
    ``max_width``) to ``width``. ``n_classes > 0``: class-conditional, :math:`G(z, c)` with
    conditional batch norm. ``attention``: the side of the block output after which self-attention
    runs (``None``: the one before the output side, 14 for MNIST; 0: no attention).

    Latent spaces: ``z`` and ``layer:l``, the input of block :math:`l` (the last is the input of
    the output layers); a conditional generator takes its labels in every space."""

    def __init__(self, latent_dim: int = 64, out_channels: int = 1, img_size: int = 28, width: int = 32, *, output: str,
                 n_classes: int = 0, attention: int | None = None, max_width: int = 256):
        super().__init__()
        start, n_up = upsampling_plan(img_size)
        sides = [start * 2 ** (k + 1) for k in range(n_up)]
        attention = sides[-2] if attention is None else (attention or None)  # default: the block before the output side; 0: off
        if attention is not None and attention not in sides:
            raise ValueError(f"invalid attention={attention!r}: expected the side of a block output, one of {sides} (or None)")
        self.latent_dim, self.out_shape, self.output = int(latent_dim), (int(out_channels), img_size, img_size), output
        self.n_classes, self.start, self.attention = int(n_classes), start, attention
        chans = [min(width * 2 ** (n_up - 1 - k), max_width) for k in range(n_up)] + [width]
        self.project = _sn(nn.Linear(latent_dim, chans[0] * start * start))
        self.blocks = nn.ModuleList(_UpBlock(a, b, self.n_classes) for a, b in zip(chans[:-1], chans[1:]))
        self.attn_index = sides.index(attention) if attention is not None else None
        self.attn = SelfAttention(chans[self.attn_index + 1]) if attention is not None else None
        self.out_norm = ConditionalBatchNorm2d(width, self.n_classes)
        self.out_conv = _sn(nn.Conv2d(width, out_channels, 3, 1, 1))
        self.act = _activation(output)
        self.chans = chans

    def _labels(self, z: Tensor, c: Tensor | None) -> Tensor | None:
        if not self.n_classes:
            return None
        if c is None:
            raise ValueError(f"a conditional generator needs a label c in [0, {self.n_classes}) for each latent: G(z, c)")
        c = torch.as_tensor(c, device=z.device).long().flatten()
        if c.shape[0] != z.shape[0] or c.min() < 0 or c.max() >= self.n_classes:
            raise ValueError(f"invalid labels {c.tolist()[:8]}: expected {z.shape[0]} labels in [0, {self.n_classes})")
        return c

    def _run(self, h: Tensor, c: Tensor | None, start: int) -> Tensor:
        for k in range(start, len(self.blocks)):
            h = self.blocks[k](h, c)
            if k == self.attn_index:
                h = self.attn(h)
        return self.act(self.out_conv(F.relu(self.out_norm(h, c))))

    def _features(self, z: Tensor, c: Tensor | None, stop: int) -> Tensor:
        h = self.project(z).view(z.shape[0], self.chans[0], self.start, self.start)
        for k in range(stop):
            h = self.blocks[k](h, c)
            if k == self.attn_index:
                h = self.attn(h)
        return h

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        z = self._check_latent(z)
        c = self._labels(z, c)
        return self._run(self._features(z, c, 0), c, 0)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, labels: Tensor | None = None) -> Tensor:
        """``n`` images (eval mode); a conditional generator cycles the labels ``0, 1, ...`` unless given."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        was_training = self.training
        self.eval()
        try:
            z = self.sample_latent(n, gen)
            if not self.n_classes:
                return self(z)
            labels = torch.arange(n) % self.n_classes if labels is None else torch.as_tensor(labels)
            return self(z, labels.to(z.device))
        finally:
            self.train(was_training)

    def latent_spaces(self) -> dict[str, LatentSpace]:
        spaces = super().latent_spaces()
        for l in range(len(self.blocks) + 1):
            side = self.start * 2**l
            shape = (self.chans[l], side, side)
            spaces[f"layer:{l}"] = LatentSpace(f"layer:{l}", shape, f"the input of block {l} (features {shape})")
        return spaces

    def to_space(self, space: str, z: Tensor, *cond: Tensor) -> Any:
        self._space(space)
        z = self._check_latent(z)
        if space == "z":
            return z
        c = self._labels(z, cond[0] if cond else None)
        return self._features(z, c, int(space.split(":")[1]))

    def from_space(self, space: str, value: Tensor, *cond: Tensor, **inputs: Any) -> Tensor:
        l = self._layer_of(space, value, inputs)
        if l is None:
            return self(value, *cond)
        return self._run(value, self._labels(value, cond[0] if cond else None), l)


class SAGANDiscriminator(nn.Module):
    r"""SAGAN's discriminator (see the module): for ``img_size`` 28 the input is zero-padded to 32;
    strided 4×4 spectrally normalised convolutions halve the side down to 4, self-attention after
    the one whose output has side ``attention`` (``None``: the first; 0: none), sum pooling, a linear logit and, with
    ``n_classes > 0``, the projection :math:`e_c^\top\phi(x)`: call it as ``D(x, c)``."""

    def __init__(self, in_channels: int = 1, img_size: int = 28, width: int = 32, n_classes: int = 0, attention: int | None = None,
                 max_width: int = 256):
        super().__init__()
        size = 32 if img_size == 28 else img_size
        if size < 16 or size & (size - 1):
            raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two >= 16")
        self.img_size, self.pad, self.n_classes = img_size, (size - img_size) // 2, int(n_classes)
        n_down = int(math.log2(size)) - 2
        sides = [size // 2 ** (k + 1) for k in range(n_down)]
        attention = sides[0] if attention is None else (attention or None)  # default: after the first block; 0: off
        if attention is not None and attention not in sides:
            raise ValueError(f"invalid attention={attention!r}: expected the side of a block output, one of {sides} (or None)")
        layers: list[nn.Module] = []
        cin, cout = in_channels, width
        for k in range(n_down):
            layers += [_sn(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.1, inplace=True)]
            if attention == sides[k]:
                layers.append(SelfAttention(cout))
            cin, cout = cout, min(cout * 2, max_width)
        self.features = nn.Sequential(*layers)
        self.linear = _sn(nn.Linear(cin, 1))
        self.embed = _sn(nn.Embedding(n_classes, cin)) if n_classes else None

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        if x.shape[-1] != self.img_size or x.shape[-2] != self.img_size:
            raise ValueError(f"SAGANDiscriminator built for {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}")
        if self.pad:
            x = F.pad(x, (self.pad,) * 4)
        phi = F.relu(self.features(x)).sum((2, 3))
        out = self.linear(phi).flatten()
        if self.embed is not None:
            if c is None:
                raise ValueError(f"a projection discriminator needs a label in [0, {self.n_classes}) per sample: D(x, c)")
            out = out + (self.embed(c.long()) * phi).sum(1)
        return out
