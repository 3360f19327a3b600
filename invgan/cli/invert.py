r"""``invgan invert [--generator CKPT|NAME] --physics cs --m 100 [IMAGES] --out DIR [--json]``:
recover images from simulated measurements by latent search,
:math:`\hat x = G(\arg\min_z \|A(G(z)) - y\|^2 + \lambda\|z\|^2)`, through a trained generator
(default: the shipped ``dcgan-mnist``, see :mod:`invgan.pretrained`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import LatentSearchConfig
from ..pretrained import DEFAULT_GENERATOR
from .common import (add_config_arguments, add_physics_arguments, add_section_arguments, check_named, check_writable_folder, section_overrides,
                     unique_names)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("invert", help="reconstruct images through a trained generator by latent search (CSGM)",
                       description="Options come from the 'invert' config (invgan/config.py: InvertConfig): defaults, "
                                   "then --preset, --config, --set, then the flags below.")
    p.add_argument("images", nargs="*", help="image files (default: held-out images of the generator's run: its own images' "
                                             "held-out split, or the built-in set's)")
    p.add_argument("--generator", default=None, metavar="CKPT|NAME",
                   help="checkpoint of an unconditional or AmbientGAN run, or the name of a shipped generator "
                        f"(`invgan weights` lists them; default: the shipped {DEFAULT_GENERATOR!r})")
    p.add_argument("-n", type=int, default=8, help="number of held-out images when no IMAGES are given (default 8)")
    add_config_arguments(p, ("invert",))
    add_physics_arguments(p)
    add_section_arguments(p, LatentSearchConfig, "search", "latent search", skip=("seed", "progress"))
    p.add_argument("--seed", type=int, default=None, help="seed of the operator, the noise and the restarts (physics.seed and search.seed)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="write results.json (objective, and PSNR/MSE when the truth is known)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _load_inputs(args: argparse.Namespace, G, checkpoint_config: dict):
    """The images to measure and invert: the files given (resized and centre-cropped to the
    generator's side as in training, for a generator trained on your own images), else held-out
    images of the run's data: its own images' held-out split, or the built-in set's."""
    import torch

    from ..data.digits import pad_to
    from ..data.small_sets import load_small_set

    c, h, w = G.out_shape
    data = checkpoint_config.get("data", {})
    own = data.get("source", "builtin") != "builtin"
    if args.images:
        from ..data import read_image
        from ..data.sources import resize_center

        xs = []
        for path in args.images:
            x = read_image(path, channels=c)
            if own and tuple(x.shape) != (c, h, w) and min(x.shape[-2:]) >= h:
                x = resize_center(x, h)  # as the training images were
            if tuple(x.shape) != (c, h, w):
                raise ValueError(f"{path}: image of shape {tuple(x.shape)} does not match the generator's output {(c, h, w)}"
                                 + (f" (images are resized to {h}x{w} when at least that large)" if own else ""))
            xs.append(x)
        return torch.stack(xs), unique_names(args.images)
    if own:
        from ..data.sources import generator_sets, read_all

        _, held = generator_sets(data["source"], data.get("eval_source"), h, c, heldout_fraction=data.get("heldout_fraction", 0.1),
                                 seed=data.get("seed", 0), value_range=data.get("value_range"), cache_mb=0.0)
        x = read_all(held, args.n)
        return x, [f"heldout_{i:03d}" for i in range(len(x))]
    dataset = data.get("dataset") or {28: "mnist", 8: "digits8", 25: "lfw"}.get(h)
    if dataset is None:
        raise ValueError(f"no built-in held-out images for a {h}x{w} generator: pass IMAGES")
    x = load_small_set(dataset, "heldout", limit=args.n).x
    if x.shape[-1] != w:
        x = pad_to(x, w)
    return x, [f"{dataset}_{i:03d}" for i in range(len(x))]


def run(args: argparse.Namespace) -> int:
    import torch
    from deepinv.loss.metric import PSNR
    from torchvision.utils import save_image

    from ..builders import build_operator
    from ..config import resolve
    from ..data import fixed_measurements
    from ..physics import lift
    from ..pretrained import load_checkpoint_or_weights
    from ..solvers import latent_search
    from ..loading import load_generator

    check_named(args.generator, "--generator", DEFAULT_GENERATOR)
    overrides = [*args.overrides, *section_overrides(args, "physics"), *section_overrides(args, "search"), f"search.progress={str(not args.no_progress).lower()}"]
    if args.seed is not None:
        overrides += [f"physics.seed={args.seed}", f"search.seed={args.seed}"]
    if args.n < 1:
        raise ValueError(f"invalid -n {args.n}: expected a positive number of images")
    cfg = resolve("invert", args.config, args.preset, overrides)
    check_writable_folder(args.out, "--out folder")
    # read once: the generator and the run's config
    state, where, path = load_checkpoint_or_weights(DEFAULT_GENERATOR if args.generator is None else args.generator)
    G = load_generator(state, name=where)
    if "format" in state:  # shipped weights: say which
        print(f"generator: {where} ({path}), step {state['step']}, {'EMA' if state['ema'] else 'raw'} weights")
    x, names = _load_inputs(args, G, state.get("config") or {})
    model = build_operator(cfg.physics, G.out_shape)
    data = fixed_measurements(model, x, seed=cfg.physics.seed)
    physics = model.physics  # holds the operator draws that made data.y
    res = latent_search(data.y, physics, G, cfg.search)
    lo, hi = G.output_range or (0.0, 1.0)
    to_unit = (lambda t: (t - lo) / (hi - lo))
    back = lift(physics, data.y, "adjoint").reshape(x.shape)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mse = (res.x_hat - x).flatten(1).pow(2).mean(1)
    psnr = PSNR(max_pixel=hi - lo)(res.x_hat, x)
    rows = []
    for i, name in enumerate(names):
        save_image(torch.stack([to_unit(x[i]), back[i].clamp(lo, hi), to_unit(res.x_hat[i])]).clamp(0, 1), out / f"{name}.png", nrow=3, padding=2, pad_value=1.0)
        rows.append({"image": name, "objective": float(res.objective[i]), "psnr": float(psnr[i]), "mse": float(mse[i])})
    save_image(torch.stack([x, back.clamp(lo, hi), res.x_hat], 1).flatten(0, 1).clamp(lo, hi).sub(lo).div(hi - lo), out / "all.png", nrow=3, padding=2, pad_value=1.0)
    if res.samples is not None:  # posterior samples: a grid of them and the std map per image
        for i, name in enumerate(names):
            save_image(to_unit(res.samples[i]).clamp(0, 1), out / f"{name}_samples.png", nrow=min(8, res.samples.shape[1]), padding=2, pad_value=1.0)
            std = res.std[i]
            save_image((std / std.max().clamp_min(1e-12)).clamp(0, 1), out / f"{name}_std.png")
            rows[i].update({"mean_std": float(std.mean()), "acceptance": float(res.acceptance[i])})
    method = {"space": cfg.search.space, "deviation": cfg.search.deviation, "finetune": cfg.search.finetune, "samples": cfg.search.samples}
    summary = {"generator": str(path), "physics": cfg.physics.name, "m": cfg.physics.m if cfg.physics.name == "cs" else None, "noise_sigma": cfg.physics.noise_sigma,
               "method": method, "noise_level_used": None if res.sigma is None else [float(v) for v in res.sigma],
               "sampling_std": None if res.sampling_std is None else [float(v) for v in res.sampling_std],
               "choice": res.choice,
               "mean_psnr": float(psnr.mean()), "mean_mse": float(mse.mean()), "images": rows}
    if args.json:
        (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"{len(names)} reconstructions in {out} (truth | back-projection | reconstruction): "
          f"mean PSNR {summary['mean_psnr']:.2f} dB, per-pixel MSE {summary['mean_mse']:.4f}")
    return 0
