r"""DIP on tiles against the whole image, printed side by side from one run (CPU or GPU).

The built-in cameraman (256x256, or ``--size``) denoised at :math:`\sigma = 25/255`:

1. the cost of one step: the whole image (``tile=0``) against the default tiles (``tile=None``: 9
   tiles of 96 at 256x256), each timed over ``--steps`` steps without a stop;
2. with ``--full``, the default run end to end in both ways (automatic stop, blend): steps, seconds,
   returned PSNR and whether the step cap was reached.

    PYTHONPATH=. python benchmarks/dip_tiles.py [--threads 2] [--steps 30] [--full]
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import Tensor

from invgan.data.images import load_cameraman
from invgan.physics import make_physics
from invgan.precision import describe_precision
from invgan.solvers.dip import deep_image_prior
from invgan.solvers.dip_tiles import default_tile


def problem(size: int) -> tuple[Tensor, Tensor, object]:
    from skimage.transform import resize

    x = load_cameraman()
    if x.shape[-1] != size:
        x = torch.from_numpy(resize(x.numpy(), (1, size, size), anti_aliasing=True).astype("float32"))
    model = make_physics("denoising", tuple(x.shape), noise_sigma=25 / 255, seed=0)
    torch.manual_seed(0)
    return x[None], model.measure(x[None]), model.physics


def psnr(a: Tensor, b: Tensor) -> float:
    return float(10 * torch.log10(1.0 / (a.clamp(0, 1) - b).pow(2).mean()))


def run(size: int = 256, steps: int = 30, full: bool = False, threads: int | None = None, tile: int | None = None,
        **overrides) -> list[dict]:
    """One row per way (whole, ``tile``: the default's where ``None``): seconds per step and, with ``full``,
    the default run's outcome; ``overrides`` are DIPConfig fields of both."""
    if threads:
        torch.set_num_threads(threads)
    x, y, physics = problem(size)
    label = f"tiles (tile=None: {default_tile(physics, tuple(x.shape[1:]))})" if tile is None else f"tiles (tile={tile})"
    rows = []
    for label, t in (("whole (tile=0)", 0), (label, tile)):
        common = {"progress": False, **overrides, "tile": t}
        timing = {**common, "stop": "none", "blend": "none"}
        deep_image_prior(y, physics, **{**timing, "max_steps": 2})  # warm-up
        timed = deep_image_prior(y, physics, **{**timing, "max_steps": steps})
        row = {"way": label, "s_per_step": timed.seconds / steps}
        if full:
            res = deep_image_prior(y, physics, reference=x, **common)
            row.update(steps=res.steps, seconds=res.seconds, psnr=psnr(res.x_hat, x), cap_reached=res.decided_at[0] >= res.config.max_steps)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="steps timed for the cost of one step")
    parser.add_argument("--full", action="store_true", help="also run the default end to end both ways")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    rows = run(args.size, args.steps, args.full, args.threads)
    print(f"cameraman {args.size}x{args.size}, denoising 25/255, {describe_precision('auto')}, {torch.get_num_threads()} threads")
    print("| way | s / step | steps | seconds | PSNR (dB) | cap reached |\n|---|---:|---:|---:|---:|---|")
    for r in rows:
        tail = f"{r['steps']} | {r['seconds']:.0f} | {r['psnr']:.2f} | {r['cap_reached']}" if "steps" in r else " | | |"
        print(f"| {r['way']} | {r['s_per_step']:.3f} | {tail} |")
    print(f"tiles / whole, per step: {rows[1]['s_per_step'] / rows[0]['s_per_step']:.2f}x"
          + (f"; end to end: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x" if args.full else ""))
    print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
