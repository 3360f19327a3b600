"""Export a trained run into the shipped-weights format of invgan (``invgan/weights/NAME.pt`` and
``NAME.json``, see :mod:`invgan.pretrained`): the network's EMA weights (when the run kept them)
with its config (float32; ``--dtype float16`` halves the size, measure what it changes first), and
a provenance record (command, preset, steps, seed, git commit, dates, machine, torch version,
sha256, metrics, and a small check figure measured here). The export code is
``scripts/weights_export.py``, beside this script.

    python scripts/export_weights.py /work/ship/dcgan-mnist dcgan-mnist \\
        --command "invgan train --preset dcgan-mnist" --metrics-json metrics.json
    python scripts/export_weights.py runs/sr4 sr4 --command "invgan train --preset sr4" --metrics-json sr4_metrics.json

NAME must be registered in ``invgan.pretrained.REGISTRY``. ``--metrics-json`` is a JSON object
stored as the record's ``metrics`` verbatim (measure them first, e.g. ``invgan eval RUN --json``
and ``invgan invert --generator FILE --json``); say in it how each figure was measured. ``invgan
weights`` shows the figures under ``eval`` (fd, precision, recall, psnr, ssim) and ``cs_m100``
(mean_mse, mean_psnr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan, whatever is installed


def main(argv: list[str] | None = None) -> int:
    from invgan.pretrained import DTYPES, REGISTRY
    from weights_export import export_run  # beside this script: its folder is on the path of `python scripts/export_weights.py`

    p = argparse.ArgumentParser(prog="export_weights.py", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="run folder written by `invgan train` (config.json, best.pt, last.pt)")
    p.add_argument("name", help=f"registered model name: one of {', '.join(REGISTRY)}")
    p.add_argument("--command", required=True, help="the exact command line that trained the run")
    p.add_argument("--checkpoint", default="best", help="'best' (default), 'last' or a checkpoint file")
    p.add_argument("--dtype", default="float32", choices=tuple(DTYPES), help="storage type of the floating tensors (default float32)")
    p.add_argument("--metrics-json", help="JSON object of measured metrics, stored as 'metrics'")
    p.add_argument("--git-dir", default=None, help="checkout whose commit trained the run (default: this one)")
    p.add_argument("--commit", default=None, help="the commit that trained the run, when the checkout has moved on since")
    p.add_argument("--notes", default=None, help="free text kept in the record")
    p.add_argument("--out-dir", default=None, help="where to write NAME.pt/NAME.json (default: invgan/weights/)")
    args = p.parse_args(argv)
    try:
        metrics = json.loads(Path(args.metrics_json).read_text()) if args.metrics_json else None
        if metrics is not None and not isinstance(metrics, dict):
            raise ValueError(f"--metrics-json {args.metrics_json}: expected a JSON object, got a {type(metrics).__name__}")
        pt, js = export_run(args.run_dir, args.name, args.command, checkpoint=args.checkpoint, dtype=args.dtype, metrics=metrics,
                            git_dir=args.git_dir, commit=args.commit, notes=args.notes, out_dir=args.out_dir)
    except (ValueError, OSError, json.JSONDecodeError) as e:
        print(f"export_weights.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    record = json.loads(js.read_text())
    print(f"wrote {pt} ({record['size_bytes'] / 1e6:.2f} MB, sha256 {record['sha256']}) and {js}")
    print(f"step {record['checkpoint_step']} of {record['steps']}, EMA {record['ema']}, "
          f"{record['dtype']} max output difference {record[record['dtype'] + '_max_abs_output_difference']:.3g}; "
          f"check figure {record['check']['protocol']['figure']} = {record['check']['value']:.5g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
