"""Orthonormal separable bases of the sparse deviations."""

import numpy as np
import pytest
import torch

from invgan.solvers.bases import BASES, SeparableBasis, basis_matrix


@pytest.mark.parametrize("name", BASES)
@pytest.mark.parametrize("n", [28, 32])
def test_every_basis_is_orthonormal(name, n):
    M = basis_matrix(name, n)
    assert np.allclose(M @ M.T, np.eye(n), atol=1e-10)


def test_dct_and_haar_match_their_libraries():
    from scipy.fft import dct
    import pywt

    v = np.random.default_rng(0).random(16)
    assert np.allclose(basis_matrix("dct", 16) @ v, dct(v, norm="ortho"))
    assert np.allclose(basis_matrix("haar", 16) @ v, np.concatenate(pywt.wavedec(v, "haar", mode="periodization", level=4)))


def test_separable_round_trip_keeps_the_norm_and_odd_sides_refuse_haar():
    B = SeparableBasis("haar", 8, 4)
    x = torch.rand(3, 2, 8, 4, dtype=torch.float64)
    B = SeparableBasis("haar", 8, 4, dtype=torch.float64)
    c = B.analysis(x)
    assert torch.allclose(c.pow(2).sum(), x.pow(2).sum()) and torch.allclose(B.synthesis(c), x)
    with pytest.raises(ValueError, match="even side"):
        basis_matrix("haar", 7)
    with pytest.raises(ValueError, match="unknown basis"):
        basis_matrix("fourier", 8)
