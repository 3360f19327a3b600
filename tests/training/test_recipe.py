"""Tests of invgan.training.recipe."""

from __future__ import annotations
import math
import torch
from torch import nn
from invgan.training.recipe import Phase, correct_for_lazy_phases, updates_per_network


def test_correction_leaves_eager_phases_alone():
    net = nn.Linear(2, 1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    correct_for_lazy_phases([Phase("R", ("D",), lambda c: c, every=4)], {"D": opt})  # not lazy
    assert opt.param_groups[0]["lr"] == 1e-3


def test_scheduler_counts_the_steps_that_update_each_network():
    three = [Phase("A", ("a",), None), Phase("B", ("b",), None, start=2), Phase("reg", ("b",), None, every=3, lazy=True)]
    assert updates_per_network(three, 7) == {"a": 7, "b": 6}  # b: reg at 0, then B from 2 on (reg at 3, 6 too)
    phases = [Phase("G", ("G",), None, every=3), Phase("D", ("D",), None, start=4)]
    assert updates_per_network(phases, 10) == {"G": math.ceil(10 / 3), "D": 6}
