"""Judge a trained MNIST generator offline: classifier Fréchet distance, precision/recall,
classifier score and Laplacian SWD of 1,000 samples against the 1,000 held-out digits, next to
the same metrics of 1,000 real training digits (the real-vs-real value), over ``--repeats``
draws (mean ± std).

    python examples/mnist_generator_metrics.py runs/dcgan-mnist/last.pt [--no-ema] [--json out.json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from invgan.data.digits import load_digits
from invgan.metrics import generator_metrics, load_classifier
from invgan.training.checkpoint import load_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    clf = load_classifier()
    held, train = load_digits("mnist", "heldout").x, load_digits("mnist", "train").x
    G = load_generator(args.checkpoint, use_ema=not args.no_ema)
    rows: dict[str, list[dict[str, float]]] = {"real_vs_real": [], "generator": []}
    for r in range(args.repeats):
        idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(r))[: len(held)]
        rows["real_vs_real"].append(generator_metrics(train[idx], held, clf))
        rows["generator"].append(generator_metrics(G.sample(len(held), seed=r), held, clf))
    summary = {name: {k: (float(np.mean([d[k] for d in ds])), float(np.std([d[k] for d in ds]))) for k in ds[0]} for name, ds in rows.items()}
    keys = ["fd", "precision", "recall", "classifier_score", "swd_mean"]
    print("| | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys))
    for name, s in summary.items():
        print(f"| {name} | " + " | ".join(f"{s[k][0]:.3g} ± {s[k][1]:.2g}" for k in keys) + " |")
    print(f"FD ratio generator / real-vs-real: {summary['generator']['fd'][0] / summary['real_vs_real']['fd'][0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
