"""Figures written by invgan.plotting."""

import numpy as np
import pytest


def test_plot_convergence_writes_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from invgan.plotting import plot_convergence

    plot_convergence(np.linspace(1, 0.1, 20), np.linspace(10, 20, 20), 12, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
