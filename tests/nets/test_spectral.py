"""Tests of invgan.nets.spectral: power iterations of spectral norms on a module's own weights."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from invgan.nets.spectral import has_spectral_norms, power_iterate, spectral_vectors_are_unit


def _sn_linear(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return spectral_norm(nn.Linear(6, 5))


def test_power_iterate_counts_spectral_norms_and_rounds_zero_changes_nothing():
    net = nn.Sequential(_sn_linear(0), nn.ReLU(), nn.Linear(5, 2), _sn_linear(1))
    before = [b.clone() for b in net.buffers()]
    assert power_iterate(net, rounds=0) == 2
    assert all(torch.equal(a, b) for a, b in zip(before, net.buffers()))
    assert power_iterate(nn.Linear(3, 3)) == 0
    assert has_spectral_norms(net) and not has_spectral_norms(nn.Linear(3, 3))


def test_power_iterate_converges_to_the_largest_singular_value_and_restores_eval_mode():
    net = _sn_linear().eval()
    p = net.parametrizations.weight[0]
    with torch.no_grad():
        p._u.mul_(0.2)  # shrunken vectors, as an average of turning unit vectors leaves them
        p._v.mul_(0.3)
    assert not spectral_vectors_are_unit(net)
    power_iterate(net, rounds=100)
    assert spectral_vectors_are_unit(net) and not p.training
    W = net.parametrizations.weight.original
    sigma = torch.linalg.matrix_norm(W, ord=2)
    assert torch.allclose(torch.linalg.matrix_norm(net.weight, ord=2), torch.tensor(1.0), atol=1e-4)
    assert torch.allclose(torch.dot(p._u, W @ p._v), sigma, rtol=1e-4)
