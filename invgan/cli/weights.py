"""``invgan weights [NAME] [--json]``: the trained models that ship with invgan and their provenance."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="list the shipped trained models (invgan/weights/) with their provenance",
                       description="Without NAME: one line per registered model (network, size, training command, step, "
                                   "headline metrics, recorded sha256 and whether the file still has it: ok or DAMAGED). With NAME: its whole "
                                   "provenance record, with the file's state (check, file_sha256).")
    p.add_argument("name", nargs="?", default=None, help="a shipped model: print its provenance record (JSON)")
    p.add_argument("--json", action="store_true", help="print every shipped model's provenance as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pretrained import RESTORE, integrity, list_pretrained, pretrained_path, provenance, summary, weights_dir

    def checked(name: str) -> dict:
        """The provenance record with the file's actual state: ``check`` ok or DAMAGED, ``file_sha256``."""
        ok, actual, _ = integrity(name)
        return {**provenance(name), "path": str(pretrained_path(name)), "check": "ok" if ok else "DAMAGED", "file_sha256": actual}

    if args.name is not None:
        records = {args.name: checked(args.name)}
        print(json.dumps(records[args.name], indent=2))
    elif args.json:
        records = {n: checked(n) for n in list_pretrained(shipped_only=True)}
        print(json.dumps(records))
    else:
        records = {n: checked(n) for n in list_pretrained(shipped_only=True)}
        print(f"models in {weights_dir()} (use a name as `invgan invert --generator NAME`, `invgan sample NAME`, "
              "`invgan reconstruct --checkpoint NAME`):")
        for name in list_pretrained():
            print("  " + summary(name))
    damaged = [n for n, r in records.items() if r["check"] != "ok"]
    if damaged:  # listed above; the status says so to scripts too
        print(f"invgan weights: damaged: {', '.join(damaged)}: {RESTORE}", file=sys.stderr)
        return 1
    return 0
