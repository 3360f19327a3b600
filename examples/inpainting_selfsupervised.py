"""Self-supervised cGAN for inpainting: no ground truth is ever used in training.

D compares measurements y with A'(x_hat), the reconstruction measured through a *fresh* random
mask A' (AmbientGAN/UAIR; through y's own mask x_hat = A^T y would be an equilibrium), beside
measurement consistency and deepinv's measurement-splitting and equivariant-imaging losses; best.pt is picked on held-out
measured pixels. See docs/self_supervised.md.

    python examples/inpainting_selfsupervised.py [--steps 1000]
"""

import argparse

from invgan.cli.common import results_table
from invgan.config import resolve
from invgan.training import build_conditional

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=1000)
args = ap.parse_args()

cfg = resolve("conditional", preset="inpainting-selfsupervised",
              overrides=[f"train.steps={args.steps}", "train.out_dir='runs/inpainting-ss'", "model.lift='adjoint'"])
run = build_conditional(cfg)
print(results_table(run.fit()))
