"""Check the offline Inception features against a published property of FID.

Heusel et al. (2017, figure 2) show that FID grows monotonically with the strength of a disturbance
of the images (Gaussian blur among them). Here: random 64x64 patches of the built-in photos are
split into two halves A and B; FID and KID of A against B (the same distribution: small) are
compared with A against B blurred by a Gaussian of increasing sigma (growing).

    python examples/inception_features_check.py --n 300 --sigmas 0.5 1 2 4 --out docs/figures/inception_check.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torchvision.transforms.functional import gaussian_blur

from invgan.data import fixed_crops, load_images
from invgan.metrics import InceptionFeatures, frechet_distance, kernel_distance


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300, help="patches in all (two halves)")
    p.add_argument("--size", type=int, default=64, help="patch size")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0], help="blur strengths")
    p.add_argument("--out", default=None, help="JSON file for the table")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images = load_images("builtin", "all", channels=1, min_size=args.size)
    patches = fixed_crops(images, args.size, args.n, seed=0)
    a, b = patches[0::2], patches[1::2]
    t0 = time.perf_counter()
    feats = InceptionFeatures()
    fa, fb = feats(a), feats(b)
    rows = [{"sigma": 0.0, "fid": frechet_distance(fa, fb), "kid": kernel_distance(fa, fb, subsets=10)[0]}]
    for sigma in args.sigmas:
        k = 2 * int(3 * sigma) + 1
        fbb = feats(gaussian_blur(b, [k, k], [sigma, sigma]))
        rows.append({"sigma": sigma, "fid": frechet_distance(fa, fbb), "kid": kernel_distance(fa, fbb, subsets=10)[0]})
    print("| B blurred by sigma | FID(A, B) | KID(A, B) |\n|---:|---:|---:|")
    for r in rows:
        print(f"| {r['sigma']:g} | {r['fid']:.2f} | {r['kid']:.4f} |")
    monotone = all(x["fid"] < y["fid"] for x, y in zip(rows, rows[1:]))
    print(f"FID grows monotonically with the blur: {monotone}; {len(a)} vs {len(b)} patches, {time.perf_counter() - t0:.0f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"n": args.n, "size": args.size, "rows": rows, "monotone": monotone}, indent=1))


if __name__ == "__main__":
    main()
