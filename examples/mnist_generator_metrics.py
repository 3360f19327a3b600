"""Judge a trained MNIST generator offline: classifier Fréchet distance, precision/recall,
classifier score and Laplacian SWD of 1,000 samples against the 1,000 held-out digits, next to
the same metrics of 1,000 real training digits (the real-vs-real value), over ``--repeats``
draws (mean ± std). Class-conditional generators (CGAN, ACGAN) are also scored by how often the
classifier recognises the requested label; InfoGAN generators by the agreement of the categorical
code with the classifier's label after the best matching of code values to labels.

    python examples/mnist_generator_metrics.py runs/dcgan-mnist/last.pt [--no-ema] [--json out.json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from invgan.data.digits import load_digits
from invgan.metrics import best_matching_accuracy, generator_metrics, load_classifier
from invgan.training.checkpoint import load_generator


@torch.no_grad()
def label_scores(G, clf, n: int, seed: int) -> dict[str, float]:
    """``label_accuracy`` of a class-conditional ``G`` (labels 0, 1, ... in turn), ``code_accuracy`` of an InfoGAN ``G``."""
    out: dict[str, float] = {}
    if getattr(G, "n_classes", 0):
        labels = torch.arange(n) % G.n_classes
        predicted = clf.embed(G.sample(n, seed=seed, labels=labels))[1].argmax(1)
        out["label_accuracy"] = float((predicted == labels).float().mean())
    if G.codes is not None and G.codes.categorical:
        z = G.sample_latent(n, torch.Generator().manual_seed(seed), device="cpu")
        predicted = clf.embed(G(z))[1].argmax(1)
        out["code_accuracy"] = best_matching_accuracy(G.codes.split(z)[0][0], predicted, G.codes.categorical[0], 10)
    return out


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
        rows["generator"].append({**generator_metrics(G.sample(len(held), seed=r), held, clf), **label_scores(G, clf, len(held), r)})
    summary = {name: {k: (float(np.mean([d[k] for d in ds])), float(np.std([d[k] for d in ds]))) for k in ds[0]} for name, ds in rows.items()}
    keys = ["fd", "precision", "recall", "classifier_score", "swd_mean"]
    print("| | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys))
    for name, s in summary.items():
        print(f"| {name} | " + " | ".join(f"{s[k][0]:.3g} ± {s[k][1]:.2g}" for k in keys) + " |")
    for k in ("label_accuracy", "code_accuracy"):
        if k in summary["generator"]:
            print(f"{k}: {summary['generator'][k][0]:.3f} ± {summary['generator'][k][1]:.3f}")
    print(f"FD ratio generator / real-vs-real: {summary['generator']['fd'][0] / summary['real_vs_real']['fd'][0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
