r"""Orthonormal bases of images, for sparse deviations from a generator's range.

A basis of ``H x W`` images is the tensor product of two orthonormal 1-D bases,
:math:`c = M_H\,x\,M_W^\top` and :math:`x = M_H^\top c\,M_W` (per channel), so that
:math:`\|c\|_2 = \|x\|_2` and the proximal step of :math:`\mu\|c\|_1` is soft thresholding.
The 1-D matrices come from SciPy (the orthonormal DCT-II) and PyWavelets (the Haar wavelet with
periodisation, as many levels as the side allows): each is the library's transform applied to
the columns of the identity.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: ``search.deviation``: the bases a sparse deviation may live in (``none``: no deviation)
BASES = ("pixels", "dct", "haar")


def basis_matrix(name: str, n: int) -> np.ndarray:
    r"""The orthonormal ``n x n`` matrix :math:`M` of a 1-D basis: :math:`M v` are the
    coefficients of :math:`v`.

    >>> M = basis_matrix("haar", 28)
    >>> bool(np.allclose(M @ M.T, np.eye(28)))
    True
    """
    eye = np.eye(n)
    if name == "pixels":
        return eye
    if name == "dct":
        from scipy.fft import dct

        return dct(eye, norm="ortho", axis=0)
    if name == "haar":
        import pywt

        levels, m = 0, n
        while m % 2 == 0 and m > 1:
            levels, m = levels + 1, m // 2
        if levels == 0:
            raise ValueError(f"a Haar basis needs an even side, got {n}")
        return np.stack([np.concatenate(pywt.wavedec(e, "haar", mode="periodization", level=levels)) for e in eye], 1)
    raise ValueError(f"unknown basis {name!r}: expected one of {BASES}")


class SeparableBasis:
    r"""An orthonormal basis of ``H x W`` images: ``analysis(x)`` = :math:`M_H x M_W^\top`,
    ``synthesis(c)`` = :math:`M_H^\top c M_W` on the last two dimensions.

    >>> import torch
    >>> B = SeparableBasis("dct", 6, 4)
    >>> x = torch.rand(2, 1, 6, 4)
    >>> bool(torch.allclose(B.synthesis(B.analysis(x)), x, atol=1e-6))
    True
    """

    def __init__(self, name: str, height: int, width: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.name = name
        self.m_h = torch.as_tensor(basis_matrix(name, height), dtype=dtype, device=device)
        self.m_w = torch.as_tensor(basis_matrix(name, width), dtype=dtype, device=device)

    def analysis(self, x: Tensor) -> Tensor:
        return self.m_h @ x @ self.m_w.T

    def synthesis(self, c: Tensor) -> Tensor:
        return self.m_h.T @ c @ self.m_w
