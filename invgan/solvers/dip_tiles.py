r"""The deep image prior on overlapping tiles (``tile`` :math:`T > 0`): one network and one stop per tile.

The image is cut into :math:`K` tiles of side :math:`T` that overlap by :math:`o` pixels
(``tile_overlap``; :func:`tile_origins`), each tile :math:`P_k y` of the measurement is solved as an
independent problem of :func:`~invgan.solvers.dip.deep_image_prior` (its own network, Adam state,
stopping rule, blend weight and consistency step), and the estimates are put back with a separable
ramp :math:`w` that falls to the tile's edge inside the overlap (:func:`ramp_window`),

.. math:: \hat x = \Big(\sum_k P_k^\top (w \odot \hat x_k)\Big) \oslash \Big(\sum_k P_k^\top w\Big).

A network of fixed width fitted to a larger image needs more steps: at 256x256 the skip net's
denoising fit still gains at 3,000 steps, where at 128x128 it has stopped
(docs/experiments/dip.md, "Tiles"); with tiles of 96 every run of the suite stops before step 2,200.
Only operators that act pixel by pixel can be cut this way, where a tile of :math:`y` is
the measurement of the same tile of :math:`x`: denoising and inpainting (:func:`tile_operator`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor

from invgan.options import with_overrides

from .dip_config import DIPConfig
from .dip_result import DIPResult


def tile_origins(length: int, tile: int, overlap: int) -> list[int]:
    r"""The first pixel of each tile along one axis of ``length`` pixels: the fewest tiles of side ``tile``
    that overlap by at least ``overlap``, spread evenly from the first pixel to the last (one tile when
    ``length <= tile``).

    >>> tile_origins(256, 144, 32), tile_origins(256, 96, 16), tile_origins(100, 144, 32)
    ([0, 112], [0, 80, 160], [0])
    """
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def ramp_window(height: int, width: int, overlap: int) -> Tensor:
    r"""The weight :math:`w` of a tile's pixels in the blend, ``(height, width)``: 1 inside, falling
    linearly over the ``overlap`` pixels next to each edge, to :math:`1/(2o)` at the edge (never 0, so
    pixels that one tile alone covers keep their value)."""
    def ramp(n: int) -> Tensor:
        r = torch.ones(n)
        k = min(overlap, n // 2)
        if k > 0:
            up = (torch.arange(k) + 0.5) / k
            r[:k], r[n - k:] = up, up.flip(0)
        return r

    return ramp(height)[:, None] * ramp(width)[None, :]


def cut_tiles(v: Tensor, boxes: list[tuple[int, int, int, int]]) -> Tensor:
    """The tiles ``(top, left, height, width)`` of a batch ``(N, ..., H, W)``, as a batch ``(N K, ..., h, w)``
    that holds the :math:`K` tiles of the first image, then those of the second, ..."""
    return torch.stack([v[..., t:t + h, s:s + w] for t, s, h, w in boxes], dim=1).flatten(0, 1)


def stitch_tiles(tiles: Tensor, boxes: list[tuple[int, int, int, int]], size: tuple[int, int], overlap: int) -> Tensor:
    r"""The images ``(N, C, H, W)`` put back from their tiles ``(N K, C, h, w)`` (:func:`cut_tiles`' order),
    each pixel the :func:`ramp_window`-weighted mean of the tiles that hold it; the inverse of
    :func:`cut_tiles` where the tiles agree."""
    k, (_, _, h, w) = len(boxes), boxes[0]
    per_image = tiles.view(-1, k, *tiles.shape[1:])
    window = ramp_window(h, w, overlap).to(tiles.device, tiles.dtype)
    total = tiles.new_zeros(per_image.shape[0], tiles.shape[1], *size)
    weight = tiles.new_zeros(size)
    for j, (t, s, h, w) in enumerate(boxes):
        total[..., t:t + h, s:s + w] += per_image[:, j] * window
        weight[t:t + h, s:s + w] += window
    return total / weight


def tileable(physics) -> bool:
    """Whether :func:`tile_operator` can cut ``physics`` into tiles (it acts pixel by pixel)."""
    import deepinv.physics as dphys

    return isinstance(physics, (dphys.Denoising, dphys.Inpainting))


#: the tile side of ``tile=None`` for denoising, and the largest image side fitted whole: at 128x128 every
#: denoising run of the suite stops before the step cap, at 256x256 nine in eleven did not; with tiles of
#: 96 every one does (docs/experiments/dip.md, "Tiles")
DENOISING_TILE, WHOLE_SIDE = 96, 128


def default_tile(physics, img_shape: tuple[int, int, int]) -> int:
    """The tile side of ``tile=None``: :data:`DENOISING_TILE` for a :class:`deepinv.physics.Denoising` image with a
    side over :data:`WHOLE_SIDE`, else 0 (the whole image: inpainting at 256x256 stops before the cap whole).

    >>> from invgan.physics import make_physics
    >>> [default_tile(make_physics("denoising", (1, s, s)).physics, (1, s, s)) for s in (128, 256)]
    [0, 96]
    >>> default_tile(make_physics("inpainting", (1, 256, 256)).physics, (1, 256, 256))
    0
    """
    import deepinv.physics as dphys

    return DENOISING_TILE if isinstance(physics, dphys.Denoising) and max(img_shape[1:]) > WHOLE_SIDE else 0


def needs_tiles(cfg: DIPConfig, img_shape: tuple[int, int, int], physics) -> bool:
    """Whether a run is cut into tiles: ``tile > 0`` and an image larger than one tile (an error where the
    operator cannot be cut, :func:`tileable`); ``cfg.tile`` resolved (:func:`default_tile`)."""
    if not cfg.tile or max(img_shape[1:]) <= cfg.tile:
        return False
    if not tileable(physics):
        raise ValueError(f"tile={cfg.tile} needs an operator that acts pixel by pixel (denoising, inpainting), got "
                         f"{type(physics).__name__}: use tile=0")
    return True


def fitted_shape(cfg: DIPConfig, img_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The shape of the images a network is fitted to: a tile's where ``tile > 0``, else the image's."""
    c, h, w = img_shape
    return (c, min(h, cfg.tile), min(w, cfg.tile)) if cfg.tile else img_shape


def tile_operator(physics, boxes: list[tuple[int, int, int, int]], n_images: int):
    r"""The operator of the batch of tiles, ``n_images`` images times ``len(boxes)`` tiles
    ``(top, left, height, width)`` in that order: denoising unchanged; inpainting with each tile's
    crop of the mask (and the same noise model)."""
    import deepinv.physics as dphys

    if isinstance(physics, dphys.Denoising):
        return physics
    mask = physics.mask.detach()
    if mask.dim() == 3:
        mask = mask[None]
    mask = mask.expand(n_images, *mask.shape[1:])
    crops = torch.cat([mask[:, :, t:t + h, s:s + w] for t, s, h, w in boxes], dim=0)  # tile-major
    order = torch.arange(len(boxes) * n_images).view(len(boxes), n_images).t().flatten()  # image-major
    _, _, h, w = boxes[0]
    tiled = dphys.Inpainting(img_size=(mask.shape[1], h, w), mask=crops[order].clone(), device=mask.device)
    tiled.noise_model = physics.noise_model
    return tiled


def tiled_deep_image_prior(
    y: Tensor, physics, net, cfg: DIPConfig, img_shape: tuple[int, int, int], *,
    reference: Tensor | None = None, withheld: Tensor | None = None,
) -> DIPResult:
    r"""``tile > 0``: :func:`~invgan.solvers.dip.deep_image_prior` on every tile of every image in one
    batch, the estimates put back by :func:`ramp_window` (the module's docstring). Per image, the
    result's ``stopped_at`` and ``decided_at`` are the latest over its tiles (so ``decided_at`` reaches
    ``max_steps`` where any tile's rule did not fire), its histories the mean over its tiles (PSNR:
    of their pooled squared error), ``blend_weight`` the mean; ``tiles`` holds each tile's box,
    steps, blend weight and classical estimator."""
    from .dip import deep_image_prior

    n = y.shape[0]
    _, height, width = img_shape
    _, th, tw = fitted_shape(cfg, img_shape)
    boxes = [(t, s, th, tw) for t in tile_origins(height, th, cfg.tile_overlap) for s in tile_origins(width, tw, cfg.tile_overlap)]
    k = len(boxes)

    cut = lambda v: cut_tiles(v, boxes)  # noqa: E731
    res = deep_image_prior(cut(y), tile_operator(physics, boxes, n), net=net, config=with_overrides(cfg, tile=0),
                           reference=None if reference is None else cut(reference), withheld=None if withheld is None else cut(withheld))
    x_hat = stitch_tiles(res.x_hat, boxes, (height, width), cfg.tile_overlap).clamp(0, 1)

    def per_image(h: Tensor | None) -> Tensor | None:
        return None if h is None else torch.nanmean(h.view(h.shape[0], n, k), dim=2)

    psnr = None
    if res.psnr_history is not None:
        mse = 10 ** (-res.psnr_history.view(-1, n, k) / 10)
        psnr = -10 * torch.log10(mse.mean(dim=2))
    group = lambda values: [values[i * k:(i + 1) * k] for i in range(n)]  # noqa: E731
    tiles: list[list[dict[str, Any]]] = []
    for i in range(n):
        tiles.append([{"box": list(boxes[j]), "stopped_at": res.stopped_at[i * k + j], "decided_at": res.decided_at[i * k + j],
                       **({"blend_weight": res.blend_weight[i * k + j], "classical": res.classical[i * k + j]} if res.blend_weight else {}),
                       "network": res.network[i * k + j]} for j in range(k)])
    most = lambda values: [max(v) for v in group(values)]  # noqa: E731
    mean = lambda values: [sum(v) / len(v) for v in group(values)]  # noqa: E731
    return dataclasses.replace(
        res, x_hat=x_hat, stopped_at=most(res.stopped_at), decided_at=most(res.decided_at),
        loss_history=per_image(res.loss_history), residual_history=per_image(res.residual_history),
        change_history=per_image(res.change_history), drift_history=per_image(res.drift_history),
        heldout_history=per_image(res.heldout_history), variance_history=per_image(res.variance_history),
        psnr_history=psnr, withheld=withheld.bool() if withheld is not None else None,
        tv_weight=mean(res.tv_weight), rules=[v[0] for v in group(res.rules)], noise_sigma=mean(res.noise_sigma),
        network=[v[0] if len(set(v)) == 1 else "mixed" for v in group(res.network)],
        network_scores={name: mean(v) for name, v in res.network_scores.items()},
        blend_weight=mean(res.blend_weight) if res.blend_weight else [], classical=[_names(v) for v in group(res.classical)],
        config=with_overrides(res.config, tile=cfg.tile), tiles=tiles,
    )


def _names(values: list[str]) -> str:
    """One name for the tiles' estimators: the name where all agree, else each with its count."""
    counts = {v: values.count(v) for v in values}
    return values[0] if len(counts) == 1 else ", ".join(f"{v} ({c} tile{'s' if c > 1 else ''})" for v, c in counts.items())
