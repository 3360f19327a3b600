"""The ``invgan`` command line. Each sub-command lives in its own module exposing
``register(subparsers)``, which adds its parser and sets ``func`` to a handler ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command modules, in the order ``invgan --help`` lists them
COMMANDS = ("demo", "train", "eval", "reconstruct", "sample", "invert", "dip")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invgan", description="Imaging inverse problems with adversarial and generative priors.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, KeyError) as e:
        print(f"invgan {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
