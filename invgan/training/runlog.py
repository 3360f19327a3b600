r"""The run log: what a training run records in its folder besides checkpoints.

* ``log.jsonl``: one JSON row per line, ``{"step": t, <loss>: mean, ...}`` for each log interval,
  ``{"step": t, "eval": {...}}`` for each evaluation and ``{"step": t, "seconds": s, "done": true}``
  at the end of :meth:`~invgan.training.Trainer.fit`; every row is also kept in :attr:`RunLog.history`;
* ``samples/step_<t>.png`` and ``latest.png``: the preview grid of each evaluation;
* ``tensorboard/``: the same scalars (``train/<loss>``, ``eval/<metric>``) and the preview image,
  when asked for and when tensorboard is installed.

Building a :class:`RunLog` touches nothing; the folder is made by the first file written. On
resume, :meth:`RunLog.trim` cuts ``log.jsonl`` back to the checkpoint's step, so each step is
logged once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from torch import Tensor

__all__ = ["RunLog"]


class RunLog:
    r"""``log.jsonl``, preview grids and TensorBoard of the run folder ``folder``.

    :param folder: the run folder (``None``: rows are kept in :attr:`history` only, no file is written).
    :param write: whether this process writes the rows (rank 0 of a data-parallel run, see
        :attr:`invgan.training.Trainer.is_main`); :attr:`history` is kept on every process.
    :param tensorboard: write TensorBoard events too, from :meth:`open` on (only with a folder and ``write``).

    >>> log = RunLog(None)
    >>> log.row({"step": 1, "D": 0.5})
    >>> log.history
    [{'step': 1, 'D': 0.5}]
    """

    def __init__(self, folder: str | Path | None, write: bool = True, tensorboard: bool = False):
        self.folder = Path(folder) if folder is not None else None
        self.write = write
        self.history: list[dict[str, Any]] = []
        self.tensorboard = tensorboard and self.folder is not None and write
        self.writer: Any = None  # a SummaryWriter once open() made one

    def path(self, name: str) -> Path | None:
        """``folder / name`` (``None`` without a folder)."""
        return self.folder / name if self.folder is not None else None

    def open(self) -> None:
        """Make the TensorBoard writer, if one is asked for and tensorboard is installed (the
        trainer calls this when training starts, so building a trainer writes nothing)."""
        if not self.tensorboard or self.writer is not None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard is optional
            return
        self.writer = SummaryWriter(str(self.folder / "tensorboard"))

    def flush(self) -> None:
        """Write the pending TensorBoard events (the writer stays open for a later :meth:`open`)."""
        if self.writer is not None:
            self.writer.flush()

    def row(self, row: dict[str, Any]) -> None:
        """Keep ``row`` in :attr:`history` and append it to ``log.jsonl`` as one JSON line."""
        self.history.append(row)
        if self.folder is not None and self.write:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    def scalars(self, prefix: str, values: Mapping[str, float], step: int) -> None:
        """TensorBoard scalars ``<prefix>/<key>`` at ``step``."""
        if self.writer is None:
            return
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}/{k}", v, step)

    def grid(self, images: Tensor, step: int, columns: int, name: str | None = None) -> None:
        """Save the preview ``images`` (``(N, C, H, W)``, clamped to [0, 1]) as a grid of ``columns``
        columns to ``samples/step_<step>.png`` and ``latest.png``, and to TensorBoard as ``preview``;
        with ``name``, to ``samples/<name>.png`` only."""
        if self.folder is None:
            return
        from torchvision.utils import make_grid, save_image

        (self.folder / "samples").mkdir(parents=True, exist_ok=True)
        picture = images.clamp(0, 1).cpu()
        if name is not None:
            save_image(picture, self.folder / "samples" / f"{name}.png", nrow=columns, padding=2, pad_value=1.0)
            return
        save_image(picture, self.folder / "samples" / f"step_{step:07d}.png", nrow=columns, padding=2, pad_value=1.0)
        save_image(picture, self.folder / "latest.png", nrow=columns, padding=2, pad_value=1.0)
        if self.writer is not None:
            self.writer.add_image("preview", make_grid(picture, nrow=columns), step)

    def trim(self, step: int) -> None:
        """Keep the rows of ``log.jsonl`` of steps ``<= step`` (a torn last line of a killed run and
        the ``done`` row of a finished one go too); rewritten atomically. :attr:`history` is left as is."""
        path = self.path("log.jsonl")
        if path is None or not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step and not row.get("done"):
                kept.append(line + "\n")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(kept))
        tmp.replace(path)
