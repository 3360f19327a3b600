"""Latent search on 64 measurements x 4 restarts as one batch, against a loop over the same
work one (measurement, restart) at a time -- what a deepinv user must do, since its
``CSGMGenerator`` optimises one latent for one measurement.

    python benchmarks/latent_search.py [--generator runs/dcgan-mnist/best.pt] [--steps 100] [--threads 1] [--device cuda]

Both sides run the same number of Adam steps (tolerance 0: no early stopping) on the same
28x28 MNIST DCGAN and the same CS operator (m = 100, noise 0.1); printed from one run.
"""

from __future__ import annotations

import argparse
import time

import torch

from invgan.data.digits import load_digits
from invgan.nets.generators import make_generator
from invgan.physics import make_physics
from invgan.solvers import LatentSearchConfig, latent_search
from invgan.training.checkpoint import load_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default=None, help="trained checkpoint (default: an untrained DCGAN of the preset's size)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    G = load_generator(args.generator) if args.generator else make_generator("dcgan", 64, (1, 28, 28), output="sigmoid", width=32).eval()
    G = G.to(device)
    x = load_digits("mnist", "heldout", limit=args.n).x.to(device)
    phys = make_physics("cs", G.out_shape, m=args.m, noise_sigma=0.1, device=device).physics
    y = phys(x)

    def clock() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    cfg = LatentSearchConfig(max_steps=args.steps, tolerance=0.0, lr=0.05, prior_weight=0.1, deviation="none")  # the plain search
    latent_search(y[:2], phys, G, cfg, restarts=1)  # warm-up (allocator, kernels)
    t0 = clock()
    batched = latent_search(y, phys, G, cfg, restarts=args.restarts)
    t_batch = clock() - t0

    t0 = clock()
    best = torch.full((args.n,), float("inf"), device=device)
    for i in range(args.n):
        for r in range(args.restarts):
            one = latent_search(y[i : i + 1], phys, G, cfg, restarts=1, seed=r)
            best[i] = min(best[i], one.objective[0])
    t_loop = clock() - t0

    print(f"latent search, {args.n} measurements x {args.restarts} restarts x {args.steps} Adam steps, "
          f"MNIST DCGAN {G.out_shape}, CS m={args.m}, "
          + (torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU thread(s)"))
    print(f"  one batch of {args.n * args.restarts}: {t_batch:7.2f} s   mean objective {batched.objective.mean():.4f}")
    print(f"  loop of {args.n * args.restarts} searches:  {t_loop:7.2f} s   mean objective {best.mean():.4f}")
    print(f"  speed-up: {t_loop / t_batch:.1f}x")


if __name__ == "__main__":
    main()
