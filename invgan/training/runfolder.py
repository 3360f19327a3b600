"""The files of a run folder, in one place: what a training run writes, what marks a folder as
holding a run, and what ``invgan train --overwrite`` removes.

A run folder is one that holds a run's log, one of its checkpoints (:data:`RUN_MARKERS`) or the
``config.json`` record a run writes first; a folder with other files only may be the user's own. ``--overwrite`` removes the
run files (:data:`RUN_FILES`, :data:`RUN_FOLDERS` and the temporary files of an interrupted
checkpoint write) and leaves every other file in the folder alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["RUN_FILES", "RUN_FOLDERS", "RUN_MARKERS", "check_run_folder", "clear_run_folder", "is_run_file", "is_run_folder"]

#: every file a run writes in its folder: the config, the trainer checkpoints (``pretrained.pt``
#: is the snapshot at the end of a warm-up, see ``Recipe.snapshots``), the log, the latest
#: preview and the summary ``invgan demo`` writes
RUN_FILES = ("config.json", "last.pt", "best.pt", "pretrained.pt", "log.jsonl", "latest.png", "results.json")
#: the folders a run writes: preview grids and TensorBoard events
RUN_FOLDERS = ("samples", "tensorboard")
#: files only a run writes: a folder holding one of them holds a run
RUN_MARKERS = ("log.jsonl", "last.pt", "best.pt", "pretrained.pt")


def is_run_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a run: its log, one of its checkpoints, or the ``config.json`` a run
    writes first (a run config record, with its ``kind``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    if any((folder / name).is_file() for name in RUN_MARKERS):
        return True
    try:
        record = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and "kind" in record and "train" in record


def is_run_file(path: str | Path) -> bool:
    """Whether ``path`` is one of the files of the run whose folder holds it."""
    path = Path(path)
    return path.name in RUN_FILES and is_run_folder(path.parent)


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """A run folder must be new or empty unless the run continues (``resume``) or replaces
    (``overwrite``) the run it holds; ``overwrite`` needs a folder that holds a run."""
    if not (out.is_dir() and any(out.iterdir())):
        return
    if overwrite and not is_run_folder(out):
        raise ValueError(f"--overwrite: {out} holds no run (none of {', '.join(RUN_MARKERS)}, no run config.json), only "
                         "other files, which --overwrite never removes: give a new or empty --out")
    if not (resume or overwrite):
        raise ValueError(f"run folder {out} is not empty: pass --resume {out / 'last.pt'} to continue its run, "
                         "--overwrite to start afresh in it, or another --out")


def clear_run_folder(out: Path) -> list[str]:
    """Remove the run files of ``out`` (every other file stays); returns the names removed."""
    from .checkpoint import remove_stale_tmp

    removed = []
    for name in RUN_FILES:
        if (out / name).is_file():
            (out / name).unlink()
            removed.append(name)
    for name in RUN_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
            removed.append(name + "/")
    removed += [p.name for p in remove_stale_tmp(out)]
    return removed
