"""``invgan sample [CHECKPOINT|NAME] -n 64 --out grid.png``: a grid of samples of a trained generator
(default: the shipped ``dcgan-mnist``, see :mod:`invgan.pretrained`)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw a grid of samples from a trained unconditional generator")
    p.add_argument("checkpoint", nargs="?", default=None, metavar="CHECKPOINT|NAME",
                   help="trainer checkpoint (last.pt / best.pt) of an unconditional or AmbientGAN run, or the name of a "
                        "shipped generator (`invgan weights` lists them; default: the shipped 'dcgan-mnist')")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", default="samples.png", help="output PNG (default samples.png)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default sqrt(n))")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator weights, not the EMA copy (trainer checkpoints only: "
                   "shipped weights hold one copy)")
    p.add_argument("--traverse", default=None, help="InfoGAN runs: a traversal grid of 'categorical' or 'continuous:J' "
                   "(one row per category); class-conditional runs always give one row per label")
    p.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="truncation psi in [0, 1] of generators with a style space (StyleGAN2): w' = w_avg + psi (w - w_avg); "
                        "1 is no truncation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from torchvision.utils import save_image

    from ..pretrained import DEFAULT_GENERATOR, load_checkpoint_or_weights
    from ..loading import load_generator
    from .common import check_image_output, check_named

    check_named(args.checkpoint, "CHECKPOINT", DEFAULT_GENERATOR)
    if args.n < 1:
        raise ValueError(f"invalid -n {args.n}: expected a positive number of samples")
    if args.nrow is not None and args.nrow < 1:
        raise ValueError(f"invalid --nrow {args.nrow}: expected a positive number of images per row")
    check_image_output(args.out)
    if args.truncation is not None and not 0 <= args.truncation <= 1:
        raise ValueError(f"invalid --truncation {args.truncation}: expected psi in [0, 1] (1: no truncation)")
    from ..training.evaluators import code_traversal, label_rows

    state, where, path = load_checkpoint_or_weights(DEFAULT_GENERATOR if args.checkpoint is None else args.checkpoint)
    if args.no_ema and "format" in state:
        raise ValueError(f"--no-ema needs a trainer checkpoint: {where} holds only the {'EMA' if state['ema'] else 'raw'} weights")
    G = load_generator(state, use_ema=not args.no_ema, name=where)
    n_classes = int(getattr(G, "n_classes", 0) or 0)
    if args.traverse is not None and G.codes is None:
        raise ValueError("--traverse needs an InfoGAN generator (a run with gan.conditioning = infogan)")
    if args.truncation is not None and not getattr(G, "supports_truncation", False):
        raise ValueError(f"--truncation needs a generator with a style space (model.generator = 'stylegan2'); "
                         f"{where} holds a {G.config.get('kind', type(G).__name__)!r} generator")
    if n_classes or args.traverse is not None:
        columns = args.nrow or max(1, args.n // (n_classes or G.codes.categorical[0]))
        with torch.no_grad():
            x = label_rows(G, columns, args.seed) if n_classes else code_traversal(G, G.codes, args.traverse, columns, args.seed)
        args.nrow, args.n = columns, x.shape[0]
    elif args.truncation is not None:
        x = G.sample(args.n, seed=args.seed, truncation=args.truncation)
    else:
        x = G.sample(args.n, seed=args.seed)
    if G.output == "tanh":
        x = (x + 1) / 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(x.clamp(0, 1), out, nrow=args.nrow or max(1, int(math.ceil(math.sqrt(args.n)))), padding=2, pad_value=1.0)
    source = f"{where} ({path})" if "format" in state else str(path)
    print(f"wrote {args.n} samples of {source} to {out}")
    return 0
