"""Reconstruction quality at equal steps: invgan's trainer vs deepinv's AdversarialTrainer.

Both train the same networks (identical initialisation) on the same batches of the demo problem
(Gaussian blur sigma = 2, noise 0.01, 64x64 crops), with the same losses (MSE + lambda * LSGAN),
optimisers and learning rates, no scheduler; both are then evaluated on the same held-out crops.
invgan runs its defaults for everything else (reconstructor lift, zero-initialised residual).

    python benchmarks/quality_vs_deepinv.py [--steps 300]
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings

import torch

from invgan.data import fixed_crops, fixed_measurements, load_builtin, CropStream
from invgan.config import resolve
from invgan.precision import select_device
from invgan.training import Trainer, conditional_gan
from invgan.builders import build_measurement
from invgan.metrics import baselines, evaluate_estimator

from train_step import LAMBDA, adam, deepinv_trainer, make_parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    device = select_device(args.device)
    cfg = resolve("conditional", preset="demo", overrides=[f"train.device='{device}'"])
    op = build_measurement(cfg, device)
    stream = CropStream(load_builtin("train", cfg.data.channels), cfg.data.crop, cfg.data.batch_size, seed=0)
    batches = [stream[t].to(device) for t in range(args.steps)]
    test = fixed_measurements(op, fixed_crops(load_builtin("test", cfg.data.channels), cfg.data.crop, cfg.data.eval_crops).to(device), seed=1234)
    G0, D0 = make_parts(cfg, device)

    # invgan
    G, D = copy.deepcopy(G0), copy.deepcopy(D0)
    recipe = conditional_gan(G, op, D, objective="lsgan", adv_weight=LAMBDA, reconstruction="mse")
    t0 = time.perf_counter()
    Trainer(recipe, {"G": adam(G.parameters(), 1e-3), "D": adam(D.parameters(), 2e-4)}, steps=args.steps, device=device, progress=False).fit(batches)
    t_ours = time.perf_counter() - t0
    ours = evaluate_estimator(G.eval(), test, op.physics)

    # deepinv
    G, D = copy.deepcopy(G0), copy.deepcopy(D0)
    trainer = deepinv_trainer(G, D, op, torch.cat(batches), cfg.data.batch_size, device, train_metrics=False)
    t0 = time.perf_counter()
    trainer.train()
    t_dinv = time.perf_counter() - t0
    theirs = evaluate_estimator(G.eval(), test, op.physics)

    base = baselines(test, op.physics)
    print(f"device: {device}; {args.steps} steps, batch {cfg.data.batch_size}, {len(test)} held-out crops")
    print(f"{'':<28}{'PSNR':>8}{'SSIM':>8}{'train s':>9}")
    print(f"{'back-projection A^T y':<28}{base['baseline_psnr']:8.2f}{base['baseline_ssim']:8.4f}")
    print(f"{'Tikhonov (best gamma)':<28}{base['classical_psnr']:8.2f}{base['classical_ssim']:8.4f}")
    print(f"{'deepinv AdversarialTrainer':<28}{theirs['psnr']:8.2f}{theirs['ssim']:8.4f}{t_dinv:9.1f}")
    print(f"{'invgan Trainer':<28}{ours['psnr']:8.2f}{ours['ssim']:8.4f}{t_ours:9.1f}")
    print(f"invgan - deepinv: {ours['psnr'] - theirs['psnr']:+.2f} dB")


if __name__ == "__main__":
    main()
