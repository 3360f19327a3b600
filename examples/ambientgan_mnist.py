"""AmbientGAN on MNIST with 50 % of the pixels missing (Bora et al. 2018).

The generator is trained from inpainting measurements only -- every training digit is seen
through its own random mask keeping half of the pixels, and D compares these with generated
digits seen through fresh masks -- yet it learns to draw whole digits.

    python examples/ambientgan_mnist.py --steps 8000 --out runs/ambientgan-mnist     # train (~20 min on one core), then plot
    python examples/ambientgan_mnist.py --checkpoint runs/ambientgan-mnist/last.pt   # plot only

Writes ``FIG`` (default docs/figures/ambientgan_mnist.png): 32 measurements D saw (left) and
32 samples of the generator (right), and prints the classifier metrics of 1,000 samples
against held-out digits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from invgan.data.digits import load_digits
from invgan.metrics import generator_metrics, load_classifier
from invgan.physics import make_physics
from invgan.config import resolve
from invgan.training import build_unconditional
from invgan.training.checkpoint import load_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="plot an existing run instead of training")
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--out", default="runs/ambientgan-mnist")
    ap.add_argument("--fig", default="docs/figures/ambientgan_mnist.png")
    ap.add_argument("--no-ema", action="store_true")
    args = ap.parse_args()
    ckpt = args.checkpoint
    if ckpt is None:
        cfg = resolve("unconditional", preset="ambientgan-mnist", overrides=[f"train.steps={args.steps}", f"train.out_dir='{args.out}'"])
        build_unconditional(cfg).fit()
        ckpt = str(Path(args.out) / "last.pt")
    G = load_generator(ckpt, use_ema=not args.no_ema)
    x = load_digits("mnist", "train", limit=32).x
    y = make_physics("inpainting", (1, 28, 28), keep=0.5, fresh_per_sample=True, noise="none", seed=5).measure(x)
    samples = G.sample(1000, seed=0)
    fig = torch.cat([make_grid(y, nrow=4, pad_value=1), torch.ones(3, make_grid(y, nrow=4).shape[1], 8), make_grid(samples[:32], nrow=4, pad_value=1)], -1)
    Path(args.fig).parent.mkdir(parents=True, exist_ok=True)
    save_image(fig, args.fig)
    m = generator_metrics(samples, load_digits("mnist", "heldout").x, load_classifier())
    print(f"wrote {args.fig}; metrics vs held-out digits: " + ", ".join(f"{k} {v:.3g}" for k, v in m.items()))


if __name__ == "__main__":
    main()
