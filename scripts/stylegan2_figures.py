"""StyleGAN2's two behaviour figures from a trained MNIST run (``stylegan2-mnist``):

* a style-mixing grid: the top row gives the fine styles, the left column the coarse ones, and
  cell (i, j) takes the first ``--cut`` styles from the latent of row i and the rest from the
  latent of column j;
* truncation psi against the metrics of the gallery's protocol: for each psi, ``--repeats`` draws
  of 1,000 EMA samples against the 1,000 held-out digits (FD on the digit classifier's features,
  precision, recall), as a markdown table (mean ± std).

    OMP_NUM_THREADS=1 python scripts/stylegan2_figures.py runs/stylegan2-mnist/last.pt --out docs/figures/gallery
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan


def mixing_grid(G, n: int = 6, cut: int | None = None, seed: int = 0):
    """``(n + 1)^2`` images: a blank corner, the fine sources on top, the coarse sources on the left."""
    import torch

    cut = G.n_styles // 2 if cut is None else cut
    gen = torch.Generator().manual_seed(seed)
    z_rows, z_cols = G.sample_latent(n, gen), G.sample_latent(n, gen)
    with torch.no_grad():
        top, left = G(z_cols), G(z_rows)
        cells = [torch.ones_like(top[:1]), top]
        for i in range(n):
            cells += [left[i : i + 1], G.mix(z_rows[i : i + 1].expand(n, -1), z_cols, cut)]
    return torch.cat(cells)


def truncation_table(G, psis: list[float], repeats: int = 3) -> str:
    import numpy as np

    from invgan.data.digits import load_digits
    from invgan.metrics import generator_metrics, load_classifier

    clf, held = load_classifier(), load_digits("mnist", "heldout").x
    lines = ["| ψ | FD | precision | recall |", "|---:|---:|---:|---:|"]
    for psi in psis:
        rows = [generator_metrics(G.sample(len(held), seed=r, truncation=psi), held, clf) for r in range(repeats)]
        cell = lambda k: f"{np.mean([r[k] for r in rows]):.3g} ± {np.std([r[k] for r in rows]):.2g}"  # noqa: E731
        lines.append(f"| {psi} | {cell('fd')} | {cell('precision')} | {cell('recall')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--out", default=".", help="folder of stylegan2_mixing.png")
    p.add_argument("--cut", type=int, default=None, help="styles taken from the left column (default: half)")
    p.add_argument("--psi", type=float, nargs="+", default=[0.5, 0.7, 1.0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from torchvision.utils import save_image

    from invgan.loading import load_generator

    G = load_generator(args.checkpoint)
    if not getattr(G, "supports_truncation", False):
        raise SystemExit(f"{args.checkpoint} holds no StyleGAN2 generator")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = mixing_grid(G, cut=args.cut)
    save_image(grid.clamp(0, 1), out / "stylegan2_mixing.png", nrow=int(round(grid.shape[0] ** 0.5)), padding=2, pad_value=1.0)
    print(f"wrote {out / 'stylegan2_mixing.png'}")
    print(truncation_table(G, args.psi, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
