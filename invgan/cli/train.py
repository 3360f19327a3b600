"""``invgan train``: train a conditional reconstructor or an unconditional generator from a config,
a preset and overrides.

Everything is checked before the run folder is touched: the config, the output folder (a new or
empty folder; an existing run needs ``--resume`` or ``--overwrite``), the data (image sizes
against the crop), the device, and with ``--resume`` the checkpoint (readable, a trainer
checkpoint, made for the same problem, of the same architecture). Only then are files written."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from .common import add_config_arguments, check_writable_folder, print_metrics, write_json

#: what a run folder holds (removed by --overwrite; other files are left alone)
RUN_FILES = ("config.json", "last.pt", "best.pt", "log.jsonl", "latest.png", "results.json")
RUN_FOLDERS = ("samples", "tensorboard")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a reconstructor or a generator (config file, preset and --set overrides)")
    add_config_arguments(p, ("conditional", "unconditional"))
    p.add_argument("--out", help="run folder (default: train.out_dir of the config); must be new or empty "
                                 "unless --resume or --overwrite is given")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", metavar="CKPT", help="continue exactly from a checkpoint (e.g. RUN/last.pt)")
    group.add_argument("--overwrite", action="store_true", help="start afresh in a folder that holds a run, removing its run files first")
    p.add_argument("--list-presets", action="store_true", help="print the preset names and their kinds, and exit")
    p.add_argument("--nproc", type=int, default=1, metavar="K",
                   help="data-parallel training in K processes on this machine (runs torchrun; see docs/distributed.md)")
    p.set_defaults(func=run)


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """A run folder must be writable, and new or empty unless the run continues (``resume``)
    or replaces (``overwrite``) the one it holds."""
    check_writable_folder(out, "run folder")
    if out.is_dir() and any(out.iterdir()) and not (resume or overwrite):
        raise ValueError(f"run folder {out} is not empty: pass --resume {out / 'last.pt'} to continue its run, "
                         "--overwrite to start afresh in it, or another --out")


def clear_run_folder(out: Path) -> None:
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for name in RUN_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)


def run(args: argparse.Namespace) -> int:
    from ..config import PRESETS, config_record, resolve
    from ..training import build_run
    from ..training.checkpoint import load_trainer_state, remove_stale_tmp
    from ..training.runs import check_resume_config
    from ..training.distributed import env_world_size, launch, shutdown

    if args.list_presets:
        print("\n".join(f"{name:<26} {p.kind:<14} {p.about}" + (f" [{p.paper}]" if p.paper else "") for name, p in sorted(PRESETS.items())))
        return 0
    if args.nproc < 1:
        raise ValueError(f"invalid --nproc={args.nproc}: expected >= 1")
    cfg = resolve(None, args.config, args.preset, args.overrides)
    if args.out:
        cfg.train.out_dir = args.out
    out = Path(cfg.train.out_dir)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun rank 0 checks (the others would see its files)
        check_run_folder(out, bool(args.resume), args.overwrite)
    if args.nproc > 1 and env_world_size() == 1:
        return launch(args.nproc, relaunch_arguments(args))
    state = None
    if args.resume:
        state = load_trainer_state(args.resume)
        check_resume_config(cfg, state.get("config"), f"checkpoint {args.resume}")
    r = build_run(cfg)  # loads and checks the data, builds the networks, joins torchrun's group if any; writes nothing
    main = r.trainer.is_main  # only rank 0 writes files and prints
    if state is not None:
        r.trainer.load_state_dict(state)  # architecture and step count checked here
    # every check passed: now the run folder is written
    if main:
        if args.overwrite:
            clear_run_folder(out)
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp(out)
    if state is not None:
        r.trainer.resume(state)  # cuts log.jsonl back to the checkpoint's step (rank 0)
    if main:
        write_json(out / "config.json", config_record(cfg))
        procs = f", {r.trainer.dist.world_size} processes" if r.trainer.dist.enabled else ""
        print(f"device: {r.trainer.device} ({r.trainer.precision}){procs}", flush=True)
    finished = state is not None and r.trainer.step == r.trainer.steps
    if args.resume and main:
        print(f"resumed from {args.resume} at step {r.trainer.step}" + (" (the run is complete)" if finished else ""), flush=True)
    metrics = r.fit()
    if main:
        # fit evaluates at the last step when eval_every > 0 (even when the recipe reports no metrics);
        # otherwise evaluate once here. A finished run resumed is evaluated again, but not logged twice.
        if finished or not r.trainer.eval_every:
            metrics = r.trainer.evaluate(record=not finished)
        r.trainer.save(out / "last.pt")
        print_metrics(metrics)
        print(f"run folder: {out}")
    shutdown()
    return 0


def relaunch_arguments(args: argparse.Namespace) -> list[str]:
    """The ``invgan`` arguments of this command without ``--nproc``, for each torchrun process."""
    argv = ["train"]
    for flag, value in (("--config", args.config), ("--preset", args.preset), ("--out", args.out), ("--resume", args.resume)):
        if value:
            argv += [flag, str(value)]
    if args.overwrite:
        argv.append("--overwrite")
    for o in args.overrides:
        argv += ["--set", o]
    return argv
