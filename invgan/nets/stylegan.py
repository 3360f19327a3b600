r"""StyleGAN2 (Karras et al. 2020) in plain PyTorch: no custom CUDA operators, so it runs on CPU
and GPU in fp32 and bf16.

* **Equalised learning rate** (:class:`EqualLinear`, :class:`EqualConv2d`): weights are stored as
  :math:`\hat W\sim\mathcal{N}(0, 1/\mu^2)` and used as :math:`W = \mu\,c\,\hat W` with
  :math:`c = 1/\sqrt{\text{fan-in}}` and the learning-rate multiplier :math:`\mu` (0.01 in the
  mapping network), so that Adam's steps have the same relative size in every layer.
* **Mapping** :math:`f: z\mapsto w`: the normalised :math:`z/\sqrt{\mathrm{mean}(z^2)}` through
  ``mapping_layers`` equalised linear layers with leaky ReLU; the running average
  :math:`\bar w \leftarrow \bar w + (1-\beta)(\mathrm{mean}_b\,w_b - \bar w)` is a buffer (so it is in
  checkpoints) and gives the truncation :math:`w' = \bar w + \psi(w - \bar w)`.
* **Synthesis** from a learned constant ``4 × 4`` input: per resolution, an upsampling and a plain
  :class:`ModulatedConv2d` (weights scaled per sample by the style :math:`s = A(w)` and
  demodulated), per-layer noise inputs with learned strengths, and a ``ToRGB`` output per
  resolution added to the bilinearly upsampled sum of the previous ones (skip architecture).
  Upsampling is bilinear (the ``[1, 3, 3, 1]`` filter of StyleGAN2, with edges replicated).
* **Style mixing** in training: with probability ``mixing`` the styles after a random crossover
  layer come from a second latent.

In training mode the noise maps are fresh draws; in eval mode they are the generator's fixed maps
(buffers), so that :math:`G` is a deterministic function of :math:`z` (what latent search needs).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .latent import LatentGenerator, LatentSpace, _activation

#: leaky ReLU with StyleGAN's gain :math:`\sqrt 2` (keeps the activations' second moment)
_LRELU_GAIN = math.sqrt(2.0)


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2) * _LRELU_GAIN


class EqualLinear(nn.Module):
    r"""Equalised-learning-rate linear layer: :math:`y = x (\mu c \hat W)^\top + \mu \hat b`,
    :math:`c = 1/\sqrt{\text{in}}`, with :math:`\hat W\sim\mathcal{N}(0, 1/\mu^2)` and
    :math:`\hat b = b_0/\mu` at initialisation (``bias_init`` :math:`b_0`); ``activation`` adds
    the leaky ReLU with gain :math:`\sqrt 2`."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale, self.lr_mul, self.activation = lr_mul / math.sqrt(in_features), lr_mul, activation

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        y = F.linear(x, self.weight * self.scale, bias)
        return _lrelu(y) if self.activation else y


class EqualConv2d(nn.Module):
    r"""Equalised-learning-rate convolution: the weight :math:`\hat W\sim\mathcal{N}(0, 1)` is used
    as :math:`\hat W/\sqrt{C_\text{in} k^2}`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale, self.padding, self.activation = 1 / math.sqrt(in_channels * kernel_size**2), kernel_size // 2, activation

    def forward(self, x: Tensor) -> Tensor:
        y = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return _lrelu(y) if self.activation else y


class ModulatedConv2d(nn.Module):
    r"""StyleGAN2's modulated convolution: the style :math:`s = A(w)` (an :class:`EqualLinear`,
    bias 1) scales the input channels of the weight per sample, :math:`W'_{bois} = c\,W_{ois}\,s_{bi}`,
    and demodulation rescales each output channel to unit norm,
    :math:`W''_{bois} = W'_{bois}/\sqrt{\sum_{i,s} W'^2_{bois} + \epsilon}`.

    Computed without per-sample weights (NVIDIA's "non-fused" form, the same operator):
    :math:`y_b = d_b \odot \big((c W) * (s_b \odot x_b)\big)` with
    :math:`d_{bo} = (\sum_i s_{bi}^2 \sum_s c^2 W_{ois}^2 + \epsilon)^{-1/2}`. ``up=True`` upsamples
    the input ×2 (bilinear) first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True, up: bool = False,
                 eps: float = 1e-8):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)
        self.scale, self.padding = 1 / math.sqrt(in_channels * kernel_size**2), kernel_size // 2
        self.demodulate, self.up, self.eps = demodulate, up, eps

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        s = self.modulation(w)  # (B, C_in)
        weight = self.weight * self.scale
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.conv2d(x * s[:, :, None, None].to(x.dtype), weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            d = torch.rsqrt(s.pow(2) @ weight.pow(2).sum((2, 3)).t() + self.eps)  # (B, C_out)
            y = y * d[:, :, None, None].to(y.dtype)
        return y


class StyledLayer(nn.Module):
    r"""A modulated 3×3 convolution, a noise input :math:`+\,\alpha\,n` (:math:`\alpha` learned,
    0 at initialisation; :math:`n` one map per sample), a bias and the leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, size: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, style_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.size = size

    def forward(self, x: Tensor, w: Tensor, noise: Tensor) -> Tensor:
        y = self.conv(x, w)
        y = y + self.noise_strength * noise.to(y.dtype)
        return _lrelu(y + self.bias[:, None, None])


class ToRGB(nn.Module):
    """A modulated 1×1 convolution to the image channels, without demodulation, plus a bias."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class StyleGAN2Generator(LatentGenerator):
    r"""StyleGAN2's generator :math:`G(z) = \phi(g(f(z), n))` (see the module): mapping :math:`f`,
    synthesis :math:`g` with ``2 log2(R) - 2`` styles, output activation :math:`\phi` (``output``).

    ``img_size`` is a power of two in 16..256, or 28 (MNIST: synthesised at 32×32 and centre-cropped,
    the digits' 2-pixel zero border). Widths: ``min(max_width, width * R / r)`` channels at
    resolution :math:`r`. ``mixing``: the style-mixing probability in training (0.9 in the paper).

    Latent spaces (:meth:`latent_spaces`): ``z``, ``w`` (one style for every layer), ``w+`` (one per
    layer, ``(n_styles, w_dim)``), ``noise`` (the list of per-layer maps, an optional input of every
    other space) and ``layer:l``, the input of resolution block :math:`l`: its features and the skip
    image so far, concatenated along channels; running from there needs the styles ``wplus``.
    """

    supports_truncation = True

    def __init__(self, latent_dim: int = 64, out_channels: int = 1, img_size: int = 32, width: int = 32, *, output: str,
                 w_dim: int | None = None, mapping_layers: int = 4, max_width: int = 256, mixing: float = 0.9, lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995):
        super().__init__()
        synth = 32 if img_size == 28 else img_size
        if synth < 16 or synth > 256 or synth & (synth - 1):
            raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two in 16..256")
        if min(latent_dim, out_channels, width, mapping_layers) < 1 or not 0 <= mixing <= 1:
            raise ValueError(f"invalid StyleGAN2Generator sizes latent_dim/out_channels/width/mapping_layers = "
                             f"{latent_dim}/{out_channels}/{width}/{mapping_layers} or mixing={mixing!r}")
        self.latent_dim, self.out_shape, self.output = int(latent_dim), (int(out_channels), img_size, img_size), output
        self.w_dim = int(w_dim or latent_dim)
        self.synth_size, self.crop = synth, (synth - img_size) // 2
        self.mixing, self.w_avg_beta = float(mixing), float(w_avg_beta)
        dims = [self.latent_dim] + [self.w_dim] * mapping_layers
        self.mapping = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activation=True) for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(self.w_dim))
        n_res = int(math.log2(synth)) - 1  # resolutions 4, 8, ..., synth
        self.resolutions = [4 * 2**k for k in range(n_res)]
        self.channels = [min(max_width, width * synth // r) for r in self.resolutions]
        self.const = nn.Parameter(torch.randn(self.channels[0], 4, 4))
        self.layers = nn.ModuleList()
        self.to_rgb = nn.ModuleList()
        for k, (r, c) in enumerate(zip(self.resolutions, self.channels)):
            block = [StyledLayer(self.channels[0], c, self.w_dim, r)] if k == 0 else \
                [StyledLayer(self.channels[k - 1], c, self.w_dim, r, up=True), StyledLayer(c, c, self.w_dim, r)]
            self.layers.append(nn.ModuleList(block))
            self.to_rgb.append(ToRGB(c, out_channels, self.w_dim))
        self.n_styles = 2 * n_res
        for i, r in enumerate(self._noise_sizes()):
            self.register_buffer(f"noise_{i}", torch.randn(1, 1, r, r))
        self.act = _activation(output)

    # ------------------------------------------------------------------ pieces
    def _noise_sizes(self) -> list[int]:
        return [layer.size for block in self.layers for layer in block]

    def fixed_noise(self) -> list[Tensor]:
        """The generator's fixed noise maps (one ``(1, 1, r, r)`` per styled layer), used in eval mode."""
        return [getattr(self, f"noise_{i}") for i in range(len(self._noise_sizes()))]

    def _styles_of_block(self, k: int) -> list[int]:
        """Indices into ``w+`` of block ``k``'s layers and of its ToRGB (which shares the next index)."""
        return [0, 1] if k == 0 else [2 * k - 1, 2 * k, 2 * k + 1]

    def mapping_forward(self, z: Tensor) -> Tensor:
        r""":math:`w = f(z)`, with :math:`z` normalised to unit second moment first; in training mode
        it also updates the running average ``w_avg``."""
        z = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0).to(self.w_avg.dtype), 1 - self.w_avg_beta)
        return w

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        r"""The truncation trick :math:`w' = \bar w + \psi (w - \bar w)` (any leading shape)."""
        return w if psi == 1 else self.w_avg.to(w.dtype).lerp(w, psi)

    def _noise(self, n: int, noise: Sequence[Tensor] | None, like: Tensor) -> list[Tensor]:
        if noise is not None:
            if len(noise) != len(self._noise_sizes()):
                raise ValueError(f"StyleGAN2Generator takes {len(self._noise_sizes())} noise maps, got {len(noise)}")
            return list(noise)
        if self.training:
            return [torch.randn(n, 1, r, r, device=like.device, dtype=like.dtype) for r in self._noise_sizes()]
        return self.fixed_noise()

    def synthesis(self, wplus: Tensor, noise: Sequence[Tensor] | None = None, start: int = 0, state: Tensor | None = None) -> Tensor:
        r"""The image from the styles ``wplus`` ``(B, n_styles, w_dim)``: the synthesis network from
        block ``start`` on, given its input ``state`` (features and skip image, concatenated),
        or from the constant input (``start = 0``)."""
        n = wplus.shape[0]
        maps = self._noise(n, noise, wplus)
        if state is None:
            x = self.const.unsqueeze(0).expand(n, -1, -1, -1).to(wplus.dtype)
            rgb = None
        else:
            x, rgb = state[:, : -self.out_shape[0]], state[:, -self.out_shape[0]:]
        noise_index = sum(len(b) for b in self.layers[:start])
        for k in range(start, len(self.layers)):
            idx = self._styles_of_block(k)
            for j, layer in enumerate(self.layers[k]):
                x = layer(x, wplus[:, idx[j]], maps[noise_index])
                noise_index += 1
            y = self.to_rgb[k](x, wplus[:, idx[-1]])
            rgb = y if rgb is None else (rgb if k == 0 else _upsample(rgb)) + y
        return self._finish(rgb)

    def _finish(self, rgb: Tensor) -> Tensor:
        if self.crop:
            rgb = rgb[..., self.crop: self.crop + self.out_shape[1], self.crop: self.crop + self.out_shape[2]]
        return self.act(rgb)

    def _mixed(self, z: Tensor) -> Tensor:
        """``w+`` of ``z``, with the styles after a random crossover taken from a fresh latent (training)."""
        w = self.mapping_forward(z)
        wplus = w.unsqueeze(1).expand(-1, self.n_styles, -1)
        if self.training and self.mixing > 0 and torch.rand(()) < self.mixing:
            w2 = self.mapping_forward(torch.randn_like(z))
            cut = int(torch.randint(1, self.n_styles, ()))
            wplus = torch.cat([wplus[:, :cut], w2.unsqueeze(1).expand(-1, self.n_styles - cut, -1)], 1)
        return wplus

    def forward(self, z: Tensor, truncation: float = 1.0) -> Tensor:
        z = self._check_latent(z)
        if truncation != 1.0:
            w = self.truncate(self.mapping_forward(z), truncation)
            return self.synthesis(w.unsqueeze(1).expand(-1, self.n_styles, -1))
        return self.synthesis(self._mixed(z))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, truncation: float = 1.0) -> Tensor:
        r"""``n`` images (eval mode, fixed noise) with truncation :math:`\psi` = ``truncation``."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        was_training = self.training
        self.eval()
        try:
            return self(self.sample_latent(n, gen), truncation=truncation)
        finally:
            self.train(was_training)

    def mix(self, z_coarse: Tensor, z_fine: Tensor, cut: int, truncation: float = 1.0) -> Tensor:
        r"""Style mixing: the styles ``w+[:cut]`` (coarse layers) from ``z_coarse``, the rest (fine
        layers) from ``z_fine``, both ``(B, latent_dim)``; ``cut = n_styles`` gives ``G(z_coarse)``."""
        if not 0 <= cut <= self.n_styles:
            raise ValueError(f"invalid cut={cut!r}: expected 0..{self.n_styles} (the number of styles)")
        a = self.truncate(self.to_space("w", z_coarse), truncation)
        b = self.truncate(self.to_space("w", z_fine), truncation)
        wplus = torch.cat([a.unsqueeze(1).expand(-1, cut, -1), b.unsqueeze(1).expand(-1, self.n_styles - cut, -1)], 1)
        return self.from_space("w+", wplus)

    # ------------------------------------------------------------------ latent spaces
    def latent_spaces(self) -> dict[str, LatentSpace]:
        spaces = super().latent_spaces()
        spaces["z"] = LatentSpace("z", (self.latent_dim,), spaces["z"].about, ("noise",), ("noise",))
        spaces["w"] = LatentSpace("w", (self.w_dim,), "the output w = f(z) of the mapping network, one style for every layer",
                                  ("noise",), ("noise",))
        spaces["w+"] = LatentSpace("w+", (self.n_styles, self.w_dim), "one style per layer", ("noise",), ("noise",))
        spaces["noise"] = LatentSpace("noise", (), f"the {len(self._noise_sizes())} per-layer noise maps (B, 1, r, r), "
                                                   f"r in {self._noise_sizes()}; searched beside another space", ("wplus",))
        c_img = self.out_shape[0]
        for l in range(len(self.layers)):
            c, r = (self.channels[0], 4) if l == 0 else (self.channels[l - 1], self.resolutions[l - 1])
            spaces[f"layer:{l}"] = LatentSpace(f"layer:{l}", (c + c_img, r, r),
                                               f"the input of block {l}: {c} feature channels and the {c_img}-channel skip image",
                                               ("wplus", "noise"), ("noise",))
        return spaces

    def to_space(self, space: str, z: Tensor, *cond: Tensor) -> Any:
        spec = self._space(space)
        z = self._check_latent(z)
        if space == "z":
            return z
        w = self.mapping_forward(z)
        if space == "w":
            return w
        wplus = w.unsqueeze(1).expand(-1, self.n_styles, -1)
        if space == "w+":
            return wplus.contiguous()
        if space == "noise":
            return [m.expand(z.shape[0], -1, -1, -1).clone() if m.shape[0] == 1 else m for m in self._noise(z.shape[0], None, w)]
        return self._state_at(int(spec.name.split(":")[1]), wplus)

    def _state_at(self, l: int, wplus: Tensor, noise: Sequence[Tensor] | None = None) -> Tensor:
        n = wplus.shape[0]
        maps = self._noise(n, noise, wplus)
        x = self.const.unsqueeze(0).expand(n, -1, -1, -1).to(wplus.dtype)
        rgb = torch.zeros(n, self.out_shape[0], 4, 4, dtype=wplus.dtype, device=wplus.device)
        noise_index = 0
        for k in range(l):
            idx = self._styles_of_block(k)
            for j, layer in enumerate(self.layers[k]):
                x = layer(x, wplus[:, idx[j]], maps[noise_index])
                noise_index += 1
            y = self.to_rgb[k](x, wplus[:, idx[-1]])
            rgb = y if k == 0 else _upsample(rgb) + y
        return torch.cat([x, rgb], 1)

    def from_space(self, space: str, value: Any, *cond: Tensor, **inputs: Any) -> Tensor:
        spec = self._space(space)
        self._check_inputs(spec, inputs)
        noise = inputs.get("noise")
        if space == "noise":
            return self.synthesis(inputs["wplus"], value)
        if space not in ("z", "w", "w+") and "wplus" not in inputs:
            raise ValueError(f"running from {space!r} needs the styles of the later layers: from_space({space!r}, h, wplus=...)")
        if space != "noise" and tuple(value.shape[1:]) != spec.shape:
            raise ValueError(f"{space!r} points have shape (B, {', '.join(map(str, spec.shape))}), got {tuple(value.shape)}")
        if space == "z":
            w = self.mapping_forward(value)
            return self.synthesis(w.unsqueeze(1).expand(-1, self.n_styles, -1), noise)
        if space == "w":
            return self.synthesis(value.unsqueeze(1).expand(-1, self.n_styles, -1), noise)
        if space == "w+":
            return self.synthesis(value, noise)
        l = int(space.split(":")[1])
        return self.synthesis(inputs["wplus"], noise, start=l, state=value)


class MinibatchStd(nn.Module):
    r"""Minibatch standard deviation (Karras et al. 2018): samples in groups of :math:`G` (the
    largest divisor of the batch :math:`\le` ``group``); per group, the standard deviation of each
    feature over the group, :math:`\sqrt{\mathrm{Var}_g + 10^{-8}}` (biased variance), averaged
    over channels and pixels, is appended as one constant channel to each sample of the group."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        g = max(d for d in range(1, min(self.group, b) + 1) if b % d == 0)
        y = x.reshape(g, b // g, c, h, w)
        std = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))  # (b // g,)
        feat = std.repeat(g).reshape(b, 1, 1, 1).expand(b, 1, h, w)
        return torch.cat([x, feat.to(x.dtype)], 1)


class ResidualBlockD(nn.Module):
    r"""StyleGAN2's residual discriminator block: :math:`(\text{conv}_2(\text{down}(\text{conv}_1 x)) + \text{conv}_{1\times1}(\text{down}\,x))/\sqrt 2`."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3, activation=True)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3, activation=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(F.avg_pool2d(self.conv1(x), 2))
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class StyleGAN2Discriminator(nn.Module):
    r"""StyleGAN2's residual discriminator with equalised learning rate: a 1×1 ``FromRGB``,
    residual blocks halving the size down to 4×4, minibatch standard deviation, a 3×3 convolution
    and two linear layers to one logit per image (shape ``(B,)``). ``img_size`` 28 (MNIST) is
    zero-padded to 32. Widths mirror the generator's."""

    def __init__(self, in_channels: int = 1, img_size: int = 32, width: int = 32, max_width: int = 256, mbstd_group: int = 4):
        super().__init__()
        size = 32 if img_size == 28 else img_size
        if size < 16 or size > 256 or size & (size - 1):
            raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two in 16..256")
        self.pad = (size - img_size) // 2
        self.img_size = img_size
        res = [size // 2**k for k in range(int(math.log2(size)) - 1)]  # size, ..., 4
        chans = [min(max_width, width * size // r) for r in res]
        self.from_rgb = EqualConv2d(in_channels, chans[0], 1, activation=True)
        self.blocks = nn.Sequential(*[ResidualBlockD(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(chans[-1] + 1, chans[-1], 3, activation=True)
        self.fc = EqualLinear(chans[-1] * 16, chans[-1], activation=True)
        self.out = EqualLinear(chans[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.img_size or x.shape[-2] != self.img_size:
            raise ValueError(f"StyleGAN2Discriminator built for {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}")
        if self.pad:
            x = F.pad(x, (self.pad,) * 4)
        h = self.conv(self.mbstd(self.blocks(self.from_rgb(x))))
        return self.out(self.fc(h.flatten(1))).flatten()
