"""Optimisers and learning-rate schedules by name, against hand values."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from invgan.optim import continue_cosine, make_optimizers, make_schedulers


def _optim(**kw):
    return SimpleNamespace(**{"optimizer": "adam", "lr_g": 1e-3, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.99, "weight_decay": 0.1, **kw})


def _nets(with_d: bool = True) -> nn.ModuleDict:
    return nn.ModuleDict({"G": nn.Linear(2, 2), **({"D": nn.Linear(2, 1)} if with_d else {})})


def test_adam_gets_the_rates_betas_and_weight_decay_of_each_network():
    opts = make_optimizers(_nets(), _optim())
    assert set(opts) == {"G", "D"} and all(isinstance(o, torch.optim.Adam) for o in opts.values())
    g, d = opts["G"].param_groups[0], opts["D"].param_groups[0]
    assert (g["lr"], g["betas"], g["weight_decay"]) == (1e-3, (0.5, 0.99), 0.1)
    assert (d["lr"], d["betas"], d["weight_decay"]) == (2e-4, (0.5, 0.99), 0.0)  # no weight decay on D


def test_rmsprop_a_generator_alone_and_an_unknown_name():
    opts = make_optimizers(_nets(with_d=False), _optim(optimizer="rmsprop"))
    assert set(opts) == {"G"} and isinstance(opts["G"], torch.optim.RMSprop) and opts["G"].param_groups[0]["lr"] == 1e-3
    from invgan.config import OptimConfig

    with pytest.raises(ValueError, match="invalid optim.optimizer='sgd'"):  # the schema checks the name, once
        OptimConfig(optimizer="sgd")


def test_cosine_goes_from_the_rate_to_one_percent_over_each_networks_updates():
    opts = make_optimizers(_nets(), _optim())
    assert make_schedulers(opts, "none", {"G": 10, "D": 10}) == {}
    with pytest.raises(ValueError, match="invalid scheduler='linear'"):
        make_schedulers(opts, "linear", {})
    scheds = make_schedulers(opts, "cosine", {"G": 4, "D": 8})
    for _ in range(2):
        opts["G"].step()
        scheds["G"].step()
    # half-way through G's 4 updates: eta_min + (lr - eta_min) / 2
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)
    for _ in range(2):
        opts["G"].step()
        scheds["G"].step()
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(1e-5)
    assert opts["D"].param_groups[0]["lr"] == 2e-4  # D's schedule has not moved


def test_continue_cosine_re_aims_the_schedule_without_climbing_back():
    opts = make_optimizers(_nets(with_d=False), _optim())
    sched = make_schedulers(opts, "cosine", {"G": 10})["G"]
    for _ in range(5):
        opts["G"].step()
        sched.step()
    before = opts["G"].param_groups[0]["lr"]
    continue_cosine(sched, 20)
    want = 1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi * 5 / 20)) / 2
    assert sched.T_max == 20 and opts["G"].param_groups[0]["lr"] == pytest.approx(want) and sched.get_last_lr() == [pytest.approx(want)]
    assert want > before  # more steps: the rate is higher than half-way through 10, but on the new cosine
    opts["G"].step()
    sched.step()
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi * 6 / 20)) / 2)
    continue_cosine(sched, 3)  # fewer updates than made: the end of the cosine
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(1e-5)
