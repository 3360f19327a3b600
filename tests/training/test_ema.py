"""Tests of invgan.training.ema: EMA copies with the warm-up, and with spectral norms that stay
unit-length when the averaged network's singular vectors turn."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from invgan.nets.spectral import spectral_vectors_are_unit
from invgan.training.ema import EMAWithWarmup, make_ema, update_ema


def test_warm_up_decay_by_hand():
    ema, cur = [torch.zeros(2)], [torch.ones(2)]
    EMAWithWarmup(0.999)(ema, cur, 0)  # beta = min(0.999, 1/10) = 0.1: ema = 0.9
    assert torch.allclose(ema[0], torch.full((2,), 0.9))
    EMAWithWarmup(0.5)(ema, cur, 100)  # beta = 0.5: 0.95
    assert torch.allclose(ema[0], torch.full((2,), 0.95))


def _turn(net: nn.Module, k: int) -> None:
    r"""Give the live network the weight :math:`Q_k\,\mathrm{diag}(3, 1)\,Q_k^\top`, its top singular
    vector turned by 50 degrees per ``k``, and let its spectral norm (training mode) follow."""
    a = torch.tensor(k * 50.0).deg2rad()
    Q = torch.stack([torch.stack([a.cos(), -a.sin()]), torch.stack([a.sin(), a.cos()])])
    with torch.no_grad():
        net.parametrizations.weight.original.copy_(Q @ torch.diag(torch.tensor([3.0, 1.0])) @ Q.T)
    for _ in range(5):
        net(torch.zeros(1, 2))


def _run(update) -> nn.Module:
    torch.manual_seed(0)
    net = spectral_norm(nn.Linear(2, 2, bias=False))
    ema = make_ema(net, 0.9)
    for k in range(60):  # the top singular pair turns every 10 updates
        _turn(net, k // 10)
        update(ema, net)
    return ema.module


def test_ema_spectral_vectors_stay_unit_and_the_copy_stays_normalised():
    module = _run(update_ema)
    assert spectral_vectors_are_unit(module)
    module.eval()
    # normalised by the copy's own estimate, the averaged weight's largest singular value is 1
    assert abs(float(torch.linalg.matrix_norm(module.weight.detach(), ord=2)) - 1.0) < 1e-3


def test_plain_averaging_of_the_vectors_shrinks_them_which_the_update_prevents():
    module = _run(lambda ema, net: ema.update_parameters(net))  # the averaging alone
    assert not spectral_vectors_are_unit(module)
    module.eval()
    assert float(torch.linalg.matrix_norm(module.weight.detach(), ord=2)) > 1.1


def test_make_ema_of_a_network_without_spectral_norms_skips_the_iterations():
    assert make_ema(nn.Linear(2, 2), 0.9).has_spectral_norms is False
    assert make_ema(spectral_norm(nn.Linear(2, 2)), 0.9).has_spectral_norms is True
