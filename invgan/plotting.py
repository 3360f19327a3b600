r"""Figures (optional extra: matplotlib is imported inside each function, with the
non-interactive ``Agg`` backend, so importing invgan never needs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_convergence(loss: np.ndarray, psnr: np.ndarray | None, stopped_at: int, path: str | Path) -> None:
    r"""Loss :math:`\|A R_\theta(z) - y\|^2 / m` (log scale) and, when known, PSNR against the
    step, with the chosen stop marked; written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(1, len(loss) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(steps, loss, color="tab:blue", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel(r"loss $\|A R_\theta(z) - y\|^2 / m$", color="tab:blue")
    ax.axvline(stopped_at, color="k", ls="--", lw=1, label=f"stop {stopped_at}")
    if psnr is not None:
        ax2 = ax.twinx()
        ax2.plot(steps, psnr, color="tab:red", lw=1)
        ax2.set_ylabel("PSNR (dB)", color="tab:red")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
