r"""ProGAN (Karras et al. 2018): progressive growing, pixel norm, minibatch standard deviation and
equalised learning rate, in plain PyTorch.

Both networks hold every resolution from the start; which of them run is a function of the
training step :math:`t`, kept in the integer buffer ``progress`` (so in checkpoints, and copied,
never averaged, into an EMA copy) and set by :class:`GrowthSchedule` before each step. With
:math:`P` = ``phase_steps``: stage 0 (4×4) for :math:`P` steps, then for each stage
:math:`s = 1, \dots, S` a fade-in of :math:`P` steps with :math:`\alpha = r/P` (:math:`r` the steps
into it) and :math:`P` steps at :math:`\alpha = 1`; after the last stage the networks stay grown.

During a fade-in the output of ``G`` is :math:`(1-\alpha)\,\mathrm{up}(\mathrm{rgb}_{s-1}(h_{s-1}))
+ \alpha\,\mathrm{rgb}_s(h_s)`, and ``D`` mirrors it. ``G`` always returns full-size images: a
stage's image is upsampled (nearest) to the target size, and ``D`` average-pools its input back
to the stage's size, so real images are seen at the stage's resolution as in the paper.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .latent import LatentGenerator, LatentSpace, _activation
from .stylegan import EqualConv2d, EqualLinear, MinibatchStd


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    r"""Pixel norm: each feature vector scaled to unit mean square, :math:`x / \sqrt{\mathrm{mean}_c x_c^2 + \epsilon}`."""
    return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + eps)


def growth(step: int, phase_steps: int, n_stages: int) -> tuple[int, float]:
    r"""``(stage, alpha)`` at training step ``step`` (see the module): stage 0 for ``phase_steps``
    steps, then per stage a fade-in (:math:`\alpha` from 0 to 1) and a stable phase of
    ``phase_steps`` steps each; ``n_stages`` counts the resolutions (4, 8, ..., the target).

    :Example:

    >>> from invgan.nets.progan import growth
    >>> [growth(t, 2, 3) for t in (0, 1, 2, 3, 4, 6, 7, 10, 99)]
    [(0, 1.0), (0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0), (2, 1.0)]
    """
    if step < phase_steps:
        return 0, 1.0
    u = step - phase_steps
    stage, r = 1 + u // (2 * phase_steps), u % (2 * phase_steps)
    if stage > n_stages - 1:
        return n_stages - 1, 1.0
    return stage, (r / phase_steps if r < phase_steps else 1.0)


class _Progressive(nn.Module):
    """The growth state of a network: ``progress`` (the step) and the resulting ``(stage, alpha)``."""

    n_stages: int
    phase_steps: int

    def _init_growth(self, phase_steps: int) -> None:
        if phase_steps < 1:
            raise ValueError(f"invalid phase_steps={phase_steps!r}: expected >= 1")
        self.phase_steps = int(phase_steps)
        self.register_buffer("progress", torch.zeros((), dtype=torch.long))

    def set_progress(self, step: int) -> None:
        self.progress.fill_(int(step))

    @property
    def stage_alpha(self) -> tuple[int, float]:
        return growth(int(self.progress), self.phase_steps, self.n_stages)


class ProGANGenerator(LatentGenerator, _Progressive):
    r"""ProGAN's generator: pixel-normalised :math:`z`, an equalised linear layer to ``4 × 4``,
    a 3×3 convolution, then per stage ×2 nearest upsampling and two 3×3 convolutions, each
    followed by leaky ReLU and pixel norm; a 1×1 ``ToRGB`` per stage and the output activation.
    ``img_size``: a power of two in 16..256, or 28 (grown to 32 and centre-cropped). Widths
    ``min(max_width, width * R / r)`` at resolution :math:`r`.

    Latent spaces: ``z`` and ``layer:l``, the input of stage block :math:`l \le` the current stage."""

    def __init__(self, latent_dim: int = 64, out_channels: int = 1, img_size: int = 32, width: int = 16, *, output: str,
                 phase_steps: int = 1000, max_width: int = 256):
        super().__init__()
        synth = 32 if img_size == 28 else img_size
        if synth < 16 or synth > 256 or synth & (synth - 1):
            raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two in 16..256")
        self.latent_dim, self.out_shape, self.output = int(latent_dim), (int(out_channels), img_size, img_size), output
        self.synth, self.crop = synth, (synth - img_size) // 2
        self.n_stages = int(math.log2(synth)) - 1
        self.chans = [min(max_width, width * synth // (4 * 2**s)) for s in range(self.n_stages)]
        self._init_growth(phase_steps)
        c0 = self.chans[0]
        self.first = EqualLinear(latent_dim, c0 * 16)
        self.first_conv = EqualConv2d(c0, c0, 3)
        self.blocks = nn.ModuleList(nn.ModuleList([EqualConv2d(a, b, 3), EqualConv2d(b, b, 3)]) for a, b in zip(self.chans[:-1], self.chans[1:]))
        self.to_rgb = nn.ModuleList(EqualConv2d(c, out_channels, 1) for c in self.chans)
        self.act = _activation(output)

    @staticmethod
    def _lrelu_norm(x: Tensor) -> Tensor:
        return pixel_norm(F.leaky_relu(x, 0.2))

    def _block(self, k: int, h: Tensor) -> Tensor:
        """Block ``k`` (``k = 0``: the 4×4 start from the projected latent; else upsample and two convs)."""
        if k == 0:
            return self._lrelu_norm(self.first_conv(h))
        c1, c2 = self.blocks[k - 1]
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self._lrelu_norm(c2(self._lrelu_norm(c1(h))))

    def _start(self, z: Tensor) -> Tensor:
        return self._lrelu_norm(self.first(pixel_norm(z)).view(z.shape[0], self.chans[0], 4, 4))

    def _run(self, h: Tensor, start: int) -> Tensor:
        """From the input ``h`` of block ``start`` to the image at the current stage and alpha."""
        stage, alpha = self.stage_alpha
        if start > stage:
            raise ValueError(f"layer {start} is not grown yet (stage {stage})")
        prev = None
        for k in range(start, stage + 1):
            if k == stage and alpha < 1 and k > 0:
                prev = h  # the input of the fading block: also the old stage's output features
            h = self._block(k, h)
        rgb = self.to_rgb[stage](h)
        if prev is not None:
            old = F.interpolate(self.to_rgb[stage - 1](prev), scale_factor=2, mode="nearest")
            rgb = old + alpha * (rgb - old)
        return self._finish(rgb)

    def _finish(self, rgb: Tensor) -> Tensor:
        factor = self.synth // rgb.shape[-1]
        if factor > 1:
            rgb = F.interpolate(rgb, scale_factor=factor, mode="nearest")
        if self.crop:
            rgb = rgb[..., self.crop: self.crop + self.out_shape[1], self.crop: self.crop + self.out_shape[2]]
        return self.act(rgb)

    def forward(self, z: Tensor) -> Tensor:
        return self._run(self._start(self._check_latent(z)), 0)

    def latent_spaces(self) -> dict[str, LatentSpace]:
        spaces = super().latent_spaces()
        stage, _ = self.stage_alpha
        for l in range(stage + 1):
            r = 4 * 2 ** max(0, l - 1)
            c = self.chans[max(0, l - 1)]
            spaces[f"layer:{l}"] = LatentSpace(f"layer:{l}", (c, r, r), f"the input of block {l} at the current stage {stage}")
        return spaces

    def to_space(self, space: str, z: Tensor, *cond: Tensor) -> Any:
        self._space(space)
        z = self._check_latent(z)
        if space == "z":
            return z
        h = self._start(z)
        for k in range(int(space.split(":")[1])):
            h = self._block(k, h)
        return h

    def from_space(self, space: str, value: Tensor, *cond: Tensor, **inputs: Any) -> Tensor:
        l = self._layer_of(space, value, inputs)
        return self(value) if l is None else self._run(value, l)


class ProGANDiscriminator(_Progressive):
    r"""ProGAN's critic, mirroring the generator: the input average-pooled to the stage's size, a
    1×1 ``FromRGB`` per stage, per stage two 3×3 convolutions and 2× average pooling (faded in as
    :math:`(1-\alpha)\,\mathrm{from}_{s-1}(\mathrm{pool}(x)) + \alpha\,\mathrm{block}_s(\mathrm{from}_s(x))`),
    then minibatch standard deviation, a 3×3 and a 4×4 convolution and a linear logit (shape ``(B,)``).
    All layers equalised, leaky ReLU 0.2, no normalisation. ``img_size`` 28 is zero-padded to 32."""

    def __init__(self, in_channels: int = 1, img_size: int = 32, width: int = 16, phase_steps: int = 1000, max_width: int = 256,
                 mbstd_group: int = 4):
        super().__init__()
        size = 32 if img_size == 28 else img_size
        if size < 16 or size > 256 or size & (size - 1):
            raise ValueError(f"invalid img_size={img_size!r}: expected 28 or a power of two in 16..256")
        self.img_size, self.size, self.pad = img_size, size, (size - img_size) // 2
        self.n_stages = int(math.log2(size)) - 1
        self.chans = [min(max_width, width * size // (4 * 2**s)) for s in range(self.n_stages)]  # at 4, 8, ..., size
        self._init_growth(phase_steps)
        self.from_rgb = nn.ModuleList(EqualConv2d(in_channels, c, 1) for c in self.chans)
        # block s (s >= 1) maps resolution 4 * 2**s to 4 * 2**(s - 1)
        self.blocks = nn.ModuleList(nn.ModuleList([EqualConv2d(self.chans[s], self.chans[s], 3), EqualConv2d(self.chans[s], self.chans[s - 1], 3)])
                                    for s in range(1, self.n_stages))
        c0 = self.chans[0]
        self.mbstd = MinibatchStd(mbstd_group)
        self.final_conv = EqualConv2d(c0 + 1, c0, 3)
        self.final_4x4 = nn.Parameter(torch.randn(c0, c0, 4, 4))
        self.final_scale = 1 / math.sqrt(c0 * 16)
        self.out = EqualLinear(c0, 1)

    def _block(self, s: int, h: Tensor) -> Tensor:
        c1, c2 = self.blocks[s - 1]
        return F.avg_pool2d(F.leaky_relu(c2(F.leaky_relu(c1(h), 0.2)), 0.2), 2)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.img_size or x.shape[-2] != self.img_size:
            raise ValueError(f"ProGANDiscriminator built for {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}")
        if self.pad:
            x = F.pad(x, (self.pad,) * 4)
        stage, alpha = self.stage_alpha
        r = 4 * 2**stage
        x = F.avg_pool2d(x, self.size // r) if r < self.size else x
        h = self._block(stage, F.leaky_relu(self.from_rgb[stage](x), 0.2)) if stage > 0 else F.leaky_relu(self.from_rgb[0](x), 0.2)
        if stage > 0 and alpha < 1:
            old = F.leaky_relu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), 0.2)
            h = old + alpha * (h - old)
        for s in range(stage - 1, 0, -1):
            h = self._block(s, h)
        h = F.leaky_relu(self.final_conv(self.mbstd(h)), 0.2)
        h = F.leaky_relu(F.conv2d(h, self.final_4x4 * self.final_scale), 0.2).flatten(1)
        return self.out(h).flatten()


class GrowthSchedule:
    r"""Sets the training step into the growth state of progressive networks before each step (a
    hook of :class:`~invgan.training.gan.GANRecipe`, ``on_step``); the state itself lives in the
    networks' ``progress`` buffers, so it is checkpointed with them and a resume continues the
    schedule exactly."""

    def __init__(self, *networks: nn.Module):
        self.networks = [n for n in networks if isinstance(n, _Progressive)]

    def __call__(self, step: int) -> None:
        for n in self.networks:
            n.set_progress(step)

    def stage_ends(self) -> dict[int, str]:
        r"""``{step: "<r>x<r>"}``: the steps at which each resolution but the last has been trained
        (faded in and stable), for preview grids at every resolution (``Recipe.preview_steps``)."""
        if not self.networks:
            return {}
        n, p = self.networks[0].n_stages, self.networks[0].phase_steps
        return {p + 2 * p * s: f"{4 * 2**s}x{4 * 2**s}" for s in range(n - 1)}
