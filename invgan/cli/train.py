"""``invgan train``: train a conditional reconstructor or an unconditional generator from a config,
a preset and overrides.

Everything is checked before the run folder is touched: the config, the launch environment (a
stale torchrun one is refused), the process count (``--nproc``: the CPU cores or GPUs, and the
division of ``data.batch_size``), the output folder (a new or empty folder; an existing run needs
``--resume`` or ``--overwrite``, and ``--overwrite`` a folder that holds a run), the data (image
sizes against the crop), the device, and with ``--resume`` the checkpoint (readable, a trainer
checkpoint, made for the same problem, of the same architecture). In a data-parallel run every
rank passes its checks before rank 0 touches the folder. Only then are files written; the run
files are listed in :mod:`invgan.training.runfolder`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .common import add_config_arguments, check_writable_folder, print_metrics, write_json

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a reconstructor or a generator (config file, preset and --set overrides)")
    add_config_arguments(p, ("conditional", "unconditional"))
    p.add_argument("--out", help="run folder (default: train.out_dir of the config); must be new or empty "
                                 "unless --resume or --overwrite is given")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", metavar="CKPT", help="continue exactly from a checkpoint (e.g. RUN/last.pt)")
    group.add_argument("--overwrite", action="store_true", help="start afresh in a folder that holds a run, removing its run files first "
                       "(its checkpoints, log, config and previews; other files stay)")
    p.add_argument("--list-presets", action="store_true", help="print the preset names and their kinds, and exit")
    p.add_argument("--nproc", type=int, default=1, metavar="K",
                   help="data-parallel training in K processes on this machine (runs torchrun; see docs/distributed.md)")
    p.set_defaults(func=run)


def check_process_count(cfg: Any, nproc: int, launching: bool) -> None:
    """``nproc`` processes must fit this machine (when ``launching`` them here: on CUDA one GPU
    each, else no more than the CPU cores this process may use) and split the global
    ``data.batch_size`` evenly."""
    if launching and nproc > 1:
        device = str(cfg.train.device)
        gpus = 0
        if device == "auto" or device.startswith("cuda"):
            import torch

            gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus:
            if nproc > gpus:
                raise ValueError(f"--nproc {nproc} is more than the {gpus} GPU(s) of this machine (one process per GPU): "
                                 f"give --nproc {gpus} or less, or train.device='cpu'")
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            if nproc > cores:
                raise ValueError(f"--nproc {nproc} is more than the {cores} CPU cores this process may use: give --nproc {cores} "
                                 "or less (several machines: launch torchrun on each, see docs/distributed.md)")
    batch = getattr(getattr(cfg, "data", None), "batch_size", None)
    if nproc > 1 and isinstance(batch, int) and batch % nproc:
        raise ValueError(f"data.batch_size={batch} is not divisible by the {nproc} processes: each process takes an equal "
                         f"part of the global batch; set data.batch_size to a multiple of {nproc}")


def run(args: argparse.Namespace) -> int:
    from ..config import PRESETS, config_record, resolve
    from ..training import build_run
    from ..training.checkpoint import load_trainer_state, remove_stale_tmp
    from ..training.runs import check_resume_config
    from ..training.distributed import barrier, launch, launch_env, shutdown
    from ..training.runfolder import check_run_folder, clear_run_folder

    if args.list_presets:
        print("\n".join(f"{name:<26} {p.kind:<14} {p.about}" + (f" [{p.paper}]" if p.paper else "") for name, p in sorted(PRESETS.items())))
        return 0
    if args.nproc < 1:
        raise ValueError(f"invalid --nproc={args.nproc}: expected >= 1")
    env = launch_env()  # a stale torchrun environment (RANK=1 left in the shell) is refused here
    cfg = resolve(None, args.config, args.preset, args.overrides)
    if args.out:
        cfg.train.out_dir = args.out
    out = Path(cfg.train.out_dir)
    launching = args.nproc > 1 and env.world_size == 1
    check_process_count(cfg, args.nproc if launching else env.world_size, launching)
    check_writable_folder(out, "run folder")
    if env.is_main:  # under torchrun rank 0 checks (the others would see its files)
        check_run_folder(out, bool(args.resume), args.overwrite)
    state = None
    if args.resume:
        state = load_trainer_state(args.resume)
        check_resume_config(cfg, state.get("config"), f"checkpoint {args.resume}")
    if launching:
        del state  # checked here; each process loads it again
        return launch(args.nproc, relaunch_arguments(args))
    r = build_run(cfg)  # loads and checks the data, builds the networks, joins torchrun's group if any; writes nothing
    main = r.trainer.is_main  # only rank 0 writes files and prints
    if state is not None:
        r.trainer.load_state_dict(state)  # architecture and step count checked here
    if r.trainer.dist.enabled:
        barrier()  # every rank passed its checks (a rank that failed ends the run here, before any file is touched)
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
