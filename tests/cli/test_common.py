"""Tests of invgan.cli.common."""

import subprocess
import sys
from pathlib import Path
import pytest
from invgan.config import KINDS, iter_options


ROOT = Path(__file__).resolve().parents[2]


def test_train_help_lists_every_option_with_its_help():
    out = subprocess.run([sys.executable, "-m", "invgan", "train", "--help"], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    for kind in ("conditional", "unconditional"):
        for key, _, about in iter_options(KINDS[kind]()):
            assert f"  {key} (" in out, key
    assert "loss.objective (\"lsgan\")" in out and "loss.objective (\"ns\")" in out


@pytest.mark.parametrize("command", ["dip", "invert"])
def test_generated_flags_have_help(command):
    from invgan.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    flags = [a for a in sub._actions if any(o.startswith("--") for o in a.option_strings) and a.dest != "help"]
    assert flags
    for a in flags:
        text = (a.help or "").split("(config:")[0].strip()
        assert text, f"invgan {command} {a.option_strings[0]} has no help"
