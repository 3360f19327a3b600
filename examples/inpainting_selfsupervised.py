"""Self-supervised cGAN for inpainting: no ground truth is ever used in training.

D compares measurements y with A(x_hat) (UAIR), plus measurement consistency; a fresh random
mask is drawn for every sample, so the reconstructor sees each pixel in some measurements.

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
