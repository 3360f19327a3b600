"""Tests of invgan.cli.weights."""

from __future__ import annotations
import json
from invgan import pretrained
from invgan.cli import main


def test_weights_command_lists_the_models(capsys):
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    for name in pretrained.REGISTRY:
        assert name in out
    assert "invgan train --preset dcgan-mnist" in out
    assert main(["weights", "dcgan-mnist"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "dcgan-mnist"
