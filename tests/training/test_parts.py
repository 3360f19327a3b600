"""Tests of invgan.training.parts: what a run kind's builder hands to build_run."""

from torch import nn

from invgan.training.parts import RunParts
from invgan.training.recipe import Recipe


class _Recipe(Recipe):
    def __init__(self):
        super().__init__()
        self.networks = nn.ModuleDict({"G": nn.Linear(1, 1)})


def test_each_run_gets_its_own_record():
    a, b = RunParts(_Recipe(), stream=[], eval_data=None), RunParts(_Recipe(), stream=[], eval_data=None)
    a.record["generator"] = {"kind": "dcgan"}
    assert b.record == {} and a.record == {"generator": {"kind": "dcgan"}}
