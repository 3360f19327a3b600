r"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of image batches.

Every transform is differentiable in the image, so it can be applied to everything a
discriminator sees, real and generated alike, and the generator still gets its gradient
through it. Random parameters are drawn per sample from a given ``torch.Generator``.

* ``"color"``: brightness :math:`x + b`, :math:`b\sim U[-\tfrac12,\tfrac12]`; saturation
  :math:`\bar x_c + s(x-\bar x_c)`, :math:`s\sim U[0,2]` (:math:`\bar x_c` the mean over channels);
  contrast :math:`\bar x + c(x-\bar x)`, :math:`c\sim U[\tfrac12,\tfrac32]` (:math:`\bar x` the image mean);
* ``"translation"``: an integer shift of up to :math:`\tfrac18` of the size in each direction, zeros
  shifted in;
* ``"cutout"``: a zeroed square of half the size at a random centre.
"""

from __future__ import annotations

import torch
from torch import Tensor

POLICIES = ("color", "translation", "cutout")


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, like: Tensor) -> Tensor:
    return (lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=gen)).to(like.device, like.dtype)


def color(x: Tensor, gen: torch.Generator) -> Tensor:
    n = x.shape[0]
    x = x + _uniform(n, -0.5, 0.5, gen, x)
    mean_c = x.mean(dim=1, keepdim=True)
    x = mean_c + _uniform(n, 0.0, 2.0, gen, x) * (x - mean_c)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + _uniform(n, 0.5, 1.5, gen, x) * (x - mean)


def translation(x: Tensor, gen: torch.Generator, ratio: float = 0.125) -> Tensor:
    """Shift each image by a random whole number of pixels, up to ``ratio`` of its size in each
    direction; zeros are shifted in.

    :Example:

    >>> import torch
    >>> from invgan.data.diffaugment import translation
    >>> x = torch.ones(2, 1, 8, 8)
    >>> y = translation(x, torch.Generator().manual_seed(0))
    >>> tuple(y.shape), set(y.unique().tolist()) <= {0.0, 1.0}
    ((2, 1, 8, 8), True)
    """
    n, _, h, w = x.shape
    ph, pw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if ph == 0 and pw == 0:
        return x
    dy = torch.randint(-ph, ph + 1, (n, 1), generator=gen).to(x.device)
    dx = torch.randint(-pw, pw + 1, (n, 1), generator=gen).to(x.device)
    padded = torch.nn.functional.pad(x, (pw, pw, ph, ph))
    rows = torch.arange(h, device=x.device)[None] + ph - dy  # (n, h): output row i reads padded row i + ph - dy
    cols = torch.arange(w, device=x.device)[None] + pw - dx
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2)


def cutout(x: Tensor, gen: torch.Generator, ratio: float = 0.5) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=gen).to(x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=gen).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch) & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str | tuple[str, ...]) -> tuple[str, ...]:
    """``"color,translation,cutout"`` (or a tuple) as a checked tuple of transform names.

    :Example:

    >>> from invgan.data.diffaugment import parse_policy
    >>> parse_policy("color, cutout")
    ('color', 'cutout')
    """
    names = tuple(p.strip() for p in policy.split(",") if p.strip()) if isinstance(policy, str) else tuple(policy)
    bad = [p for p in names if p not in _TRANSFORMS]
    if bad or not names:
        raise ValueError(f"invalid DiffAugment policy {policy!r}: expected a comma-separated subset of {POLICIES}")
    return names


def diff_augment(x: Tensor, policy: str | tuple[str, ...], gen: torch.Generator) -> Tensor:
    """The transforms of ``policy`` applied in turn to an image batch ``(B, C, H, W)``.

    :Example:

    >>> import torch
    >>> from invgan.data.diffaugment import diff_augment
    >>> x = torch.rand(2, 3, 8, 8)
    >>> tuple(diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0)).shape)
    (2, 3, 8, 8)
    """
    if x.dim() != 4:
        raise ValueError(f"DiffAugment needs image batches (B, C, H, W), got shape {tuple(x.shape)}")
    for name in parse_policy(policy):
        x = _TRANSFORMS[name](x, gen)
    return x
