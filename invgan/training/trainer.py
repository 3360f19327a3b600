r"""One trainer for every recipe: it runs phases, evaluates and checkpoints.

For step :math:`t` the trainer draws batch :math:`t` of the stream (a tensor, or a dict,
tuple or dataclass of tensors: images, measurements, labels, a second domain), moves it to
the device, runs the recipe's shared forward once, then each phase due at :math:`t` (e.g.
``D``, ``G``, a lazy ``R1``) with every network outside the phase frozen. Mixed precision
(bf16, or fp16 with a gradient scaler that also works with clipping), gradient clipping,
schedulers, lazy-regularisation corrections, EMA copies of any set of networks, checkpoints
and the watch for non-finite losses are handled here; nothing here knows what a GAN is. The
device and precision rules live in :mod:`invgan.precision`, the run folder's log (JSONL,
TensorBoard, preview grids) in :mod:`.runlog`, data parallelism in :mod:`.distributed`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.crops import loader_batches
from ..optim import continue_cosine, make_schedulers
from ..precision import autocast_dtype, choose_precision, select_device
from . import checkpoint as ckpt
from .distributed import DataParallel
from .ema import EMAWithWarmup, ema_decays, make_ema, update_ema
from .recipe import Phase, Recipe, correct_for_lazy_phases, freeze_all_but, updates_per_network
from .runlog import RunLog

__all__ = ["EMAWithWarmup", "LossWatch", "NonFiniteLossError", "Trainer", "batches_of", "correct_for_lazy_phases", "ema_decays",
           "eval_mode", "load_run_state", "move_batch", "select_device", "updates_per_network"]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left in place."""


def move_batch(batch: Any, device: torch.device, memory_format: torch.memory_format) -> Any:
    """A batch on ``device``: tensors (image batches, 4-D floating, in ``memory_format``), and
    dicts, lists, tuples and dataclasses of them; anything else is passed through."""
    if isinstance(batch, Tensor):
        fmt = memory_format if batch.dim() == 4 and batch.is_floating_point() else torch.preserve_format
        return batch.to(device, non_blocking=True, memory_format=fmt)
    if isinstance(batch, Mapping):
        return {k: move_batch(v, device, memory_format) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_batch(v, device, memory_format) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: move_batch(getattr(batch, f.name), device, memory_format) for f in dataclasses.fields(batch)})
    return batch


def batches_of(stream: Any, start: int, stop: int, device: torch.device) -> Iterable[Any]:
    """Batches ``start, ..., stop - 1`` of ``stream``: ``stream.loader(start, stop)`` (pinned memory
    for a CUDA run when the loader offers it), or ``stream[t]`` for a sequence."""
    if hasattr(stream, "loader"):
        pin = device.type == "cuda" and "pin_memory" in inspect.signature(stream.loader).parameters
        loader = stream.loader(start=start, stop=stop, **({"pin_memory": True} if pin else {}))
        return loader_batches(loader) if isinstance(loader, DataLoader) else loader
    return (stream[t] for t in range(start, stop))


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Every submodule of ``modules`` in eval mode, each put back in its own mode afterwards."""
    modes = [{name: m.training for name, m in mod.named_modules()} for mod in modules]
    for mod in modules:
        mod.eval()
    try:
        yield
    finally:
        for mod, mode in zip(modules, modes):
            for name, m in mod.named_modules():
                m.training = mode[name]


def load_run_state(state: Mapping[str, Any], networks: Mapping[str, nn.Module], emas: Mapping[str, AveragedModel],
                   optimizers: Mapping[str, Optimizer], schedulers: Mapping[str, Any]) -> None:
    """Load a checkpoint's networks, EMA copies, optimisers and schedulers. A checkpoint of another
    kind of run or architecture is a :class:`ValueError` saying which part differs; a cosine
    schedule saved for another number of updates is re-aimed at this run's (:func:`continue_cosine`)."""
    for part, ours in (("networks", networks), ("optimizers", optimizers), ("schedulers", schedulers)):
        theirs = state.get(part) or {}
        if set(theirs) != set(ours):
            raise ValueError(f"the checkpoint holds {part} {sorted(theirs)} but this run has {sorted(ours)} (another kind of run or config)")
    for k, net in networks.items():
        try:
            net.load_state_dict(state["networks"][k])
        except RuntimeError as e:
            detail = " ".join(str(e).split("\n", 2)[1:2]).strip() or str(e).splitlines()[0]
            raise ValueError(f"the checkpoint's network {k!r} has another architecture than this run's ({detail})") from e
    saved_emas = ckpt.ema_states(state)
    for k, ema in emas.items():
        if k not in saved_emas:
            raise ValueError(f"the checkpoint has no EMA copy of {k!r} but this run keeps one")
        ema.load_state_dict(saved_emas[k])
    for k, opt in optimizers.items():
        opt.load_state_dict(state["optimizers"][k])
    for k, sched in schedulers.items():
        total = sched.T_max  # this run's number of updates of network k
        sched.load_state_dict(state["schedulers"][k])
        if sched.T_max != total:
            continue_cosine(sched, total)


class LossWatch:
    r"""The losses of the steps since the last log row, and the watch for non-finite ones.

    :meth:`add` keeps each step's detached losses on the device with a device-side flag "every
    loss so far is finite" (no host sync per step); :meth:`flush` averages them (one host sync per
    log interval; the mean over every process in a data-parallel run) and raises
    :class:`NonFiniteLossError`, naming the loss and the step, when one became NaN or infinite."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Tensor]] = {}
        self.all_finite: Tensor | None = None

    def add(self, logs: dict[str, Tensor]) -> None:
        for k, v in logs.items():
            self.pending.setdefault(k, []).append(v)
        finite = torch.stack([torch.isfinite(v).all() for v in logs.values()]).all() if logs else None
        if finite is not None:
            self.all_finite = finite if self.all_finite is None else self.all_finite & finite

    def failed(self) -> bool:
        """Whether a loss became NaN or infinite since the last :meth:`flush` (a host sync)."""
        return self.all_finite is not None and not bool(self.all_finite)

    def flush(self, step: int, average: Callable[[Tensor], Tensor], last_good: Path | None) -> dict[str, float]:
        """``{loss: mean}`` over the pending steps, the last of which is ``step``; ``average`` takes the
        means across processes; ``last_good`` is the checkpoint an error message points to."""
        stacked = {k: torch.stack(vals).float() for k, vals in self.pending.items()}
        means = average(torch.stack([t.mean() for t in stacked.values()])) if stacked else None
        values = means.tolist() if means is not None else []
        row: dict[str, float] = {}
        for (k, t), mean in zip(stacked.items(), values):
            if not math.isfinite(mean) or not torch.isfinite(t).all():
                n = len(self.pending[k])
                self.pending, self.all_finite = {}, None
                kept = f"; the last good checkpoint is {last_good}" if last_good is not None and last_good.exists() else ""
                if torch.isfinite(t).all():
                    raise NonFiniteLossError(f"loss {k!r} became non-finite on another process within steps "
                                             f"{step - n + 1}..{step}: stopping{kept}")
                bad = int(torch.nonzero(~torch.isfinite(t))[0]) + step - n + 1
                raise NonFiniteLossError(f"loss {k!r} became {t[~torch.isfinite(t)][0].item()} at step {bad}: stopping{kept}")
            row[k] = mean
        self.pending, self.all_finite = {}, None
        return row


class Trainer:
    r"""Runs a :class:`~invgan.training.recipe.Recipe`: phases, optimisers, EMA, checkpoints and
    the watch for non-finite losses. Its run log is :attr:`runlog` (:class:`~.runlog.RunLog`),
    its data parallelism :attr:`parallel` (:class:`~.distributed.DataParallel`).

    :param recipe: networks, shared forward and phases.
    :param optimizers: one optimiser per network key that some phase trains (lazy phases correct them).
    :param steps: total number of steps.
    :param scheduler: ``"none"`` or ``"cosine"``, per network over the steps that update it.
    :param eval_data: whatever ``recipe.evaluate``/``recipe.preview`` take (held-out data).
    :param out_dir: run folder for checkpoints and the run log (``None``: no files).
    :param ema: decay :math:`\beta` of EMA copies :math:`\bar\theta \leftarrow \beta\bar\theta + (1-\beta)\theta`:
        a number for the recipe's ``generator_key``, or ``{key: decay}`` for any set of networks
        (0: off); the copies are what gets evaluated and exported.
    :param grad_clip: max gradient norm per network (``None``: off).
    :param precision: ``"auto"`` (:func:`~invgan.precision.choose_precision` with
        ``workload="training"``: fp32 on every device), ``"fp32"``, ``"bf16"`` (CUDA
        or CPU autocast) or ``"fp16"`` (CUDA, with a GradScaler). The resolved choice is :attr:`precision`.
    :param device: ``"auto"`` or a device (:func:`~invgan.precision.select_device`).
    :param channels_last: networks and image batches in channels-last memory format.
    :param log_every: steps per row of mean losses in the log; ``eval_every``, ``checkpoint_every``:
        steps between evaluations and ``last.pt`` writes (0: never; both also at the last step).
    :param progress: a progress bar; ``tensorboard``: TensorBoard events in the run folder too.
    :param config: the run's configuration, stored in every checkpoint.
    :param distributed: data-parallel training over the joined ``torch.distributed`` process group
        (``None``: when one with several processes exists); with ``find_unused_parameters`` and
        ``sync_batchnorm``, see :class:`~invgan.training.distributed.DataParallel`.
    :param compile: ``torch.compile`` each network (in place: state dicts keep their keys).
    """

    def __init__(self, recipe: Recipe, optimizers: dict[str, Optimizer], steps: int, *, scheduler: str = "none",
                 eval_data: Any = None, out_dir: str | Path | None = None, ema: float | Mapping[str, float] = 0.0,
                 grad_clip: float | None = None, precision: str = "auto", device: str | torch.device = "auto",
                 channels_last: bool = False, log_every: int = 25, eval_every: int = 0, checkpoint_every: int = 0,
                 progress: bool = True, tensorboard: bool = False, config: dict[str, Any] | None = None,
                 distributed: bool | None = None, find_unused_parameters: bool = False, sync_batchnorm: bool = False,
                 compile: bool = False):
        self.device = select_device(device)
        self.precision = choose_precision(precision, self.device, "training")
        self.amp_dtype = autocast_dtype(self.precision)
        if steps < 0:
            raise ValueError(f"invalid steps={steps!r}: expected >= 0")
        for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every), ("log_every", log_every)):
            if value < 0:
                raise ValueError(f"invalid {name}={value!r}: expected >= 0")
        decays = ema_decays(ema, recipe)
        self.recipe = recipe.to(self.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.recipe.to(memory_format=torch.channels_last)
        self.phases = recipe.phases()
        trained = {k for p in self.phases for k in p.networks}
        if trained - set(optimizers):
            raise ValueError(f"no optimiser given for network(s) {sorted(trained - set(optimizers))} trained by the recipe's phases")
        self.optimizers = optimizers
        if compile:
            for net in self.networks.values():
                net.compile()
        self.parallel = DataParallel(self.recipe, trained, self.device, distributed, find_unused_parameters, sync_batchnorm)
        self.dist = self.parallel.info
        updates = updates_per_network(self.phases, steps)
        correct_for_lazy_phases(self.phases, optimizers)
        self.schedulers = make_schedulers(optimizers, scheduler, updates)
        self.steps, self.step = steps, 0
        self.eval_data, self.grad_clip, self.config = eval_data, grad_clip, config or {}
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.log_every, self.eval_every, self.checkpoint_every = max(1, log_every), eval_every, checkpoint_every
        self.progress = progress
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.runlog = RunLog(self.out_dir, write=self.is_main, tensorboard=tensorboard)
        self.emas = {k: make_ema(self.networks[k], d) for k, d in decays.items() if d > 0}
        self.best: float = -math.inf
        self.losses = LossWatch()  # the losses since the last log row, and the NaN watch

    # ------------------------------------------------------------------ networks
    @property
    def networks(self) -> nn.ModuleDict:
        return self.recipe.networks

    @property
    def generator(self) -> nn.Module:
        return self.recipe.networks[self.recipe.generator_key]

    def eval_networks(self) -> dict[str, nn.Module]:
        """Every network, its EMA copy in its place where one is kept."""
        return {k: self.emas[k].module if k in self.emas else net for k, net in self.networks.items()}

    @property
    def eval_model(self) -> nn.Module:
        """The network that is evaluated and exported: the generator's EMA copy when kept."""
        return self.eval_networks()[self.recipe.generator_key]

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and evaluates (rank 0, or the only process)."""
        return self.dist.is_main

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every row logged so far (:attr:`RunLog.history`)."""
        return self.runlog.history

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: Any) -> dict[str, Tensor]:
        """Run step ``self.step`` on ``batch`` (already on the device); returns detached losses (no host sync)."""
        step = self.step
        due = [p for p in self.phases if p.due(step)]
        trained = tuple({k for p in due for k in p.networks})
        self.recipe.train()
        # Only networks some due phase trains build a graph in the shared forward.
        freeze_all_but(self.networks, trained)
        with self.parallel.wrapped():
            logs = self._run_phases(due, trained, batch, step)
        for key in trained:
            if key in self.emas:
                update_ema(self.emas[key], self.networks[key])
            if key in self.schedulers:
                self.schedulers[key].step()
        self.step = step + 1
        return logs

    def _run_phases(self, due: list[Phase], trained: tuple[str, ...], batch: Any, step: int) -> dict[str, Tensor]:
        # Under DDP, each phase's backward all-reduces the gradients of the phase's networks (and
        # only those: the others run under no_sync), so every rank takes the same optimiser step.
        with self.parallel.only_syncing(trained), self.autocast():
            ctx = self.recipe(batch, step)
        logs: dict[str, Tensor] = {}
        for phase in due:
            freeze_all_but(self.networks, phase.networks)
            with self.parallel.only_syncing(phase.networks), self.autocast():
                loss, extra = phase.loss(ctx)
            scale = phase.weight * phase.gain
            self.scaler.scale(loss * scale if scale != 1 else loss).backward()
            for key in phase.networks:
                opt = self.optimizers[key]
                if self.grad_clip is not None:
                    self.scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(self.networks[key].parameters(), self.grad_clip)
                self.scaler.step(opt)
                opt.zero_grad(set_to_none=True)
            self.scaler.update()
            if phase.after is not None:
                with torch.no_grad():
                    phase.after()
            logs[phase.name] = loss.detach()
            logs.update({f"{phase.name}/{k}": v.detach() for k, v in extra.items()})
        return logs

    # ------------------------------------------------------------------ loop
    def fit(self, stream: Any) -> dict[str, float]:
        """Train from ``self.step`` to ``self.steps``; ``stream.loader(start, stop)`` (or a
        sequence indexed by step) gives batch ``t`` at step ``t``. Returns the last evaluation.

        In a data-parallel run every process calls it; a stream with ``shard(rank, world_size)``
        (:class:`~invgan.data.CropStream`) is split into per-process streams, and only rank 0
        evaluates and writes files."""
        batches = batches_of(self.parallel.shard(stream), self.step, self.steps, self.device)
        last_eval: dict[str, float] = {}
        main = self.is_main
        if self.out_dir is not None and main:
            ckpt.remove_stale_tmp(self.out_dir)  # what a kill during a checkpoint write left
        self.runlog.open()
        bar = tqdm(total=self.steps, initial=self.step, disable=not (self.progress and main), desc="train", dynamic_ncols=True, mininterval=0.5)
        t0 = time.perf_counter()
        try:
            for batch in batches:
                logs = self.train_step(move_batch(batch, self.device, self.memory_format))
                self.losses.add(logs)
                bar.update(1)
                last = self.step == self.steps
                eval_due = bool(self.eval_every) and (self.step % self.eval_every == 0 or last)
                ckpt_due = bool(self.checkpoint_every) and (self.step % self.checkpoint_every == 0 or last)
                # in a data-parallel run, the collectives (log flush, random states) come before rank 0 works alone
                sync = self.dist.enabled and (eval_due or ckpt_due or last)
                if self.step % self.log_every == 0 or last or (sync and self.losses.pending):
                    row = self._flush_logs()
                    bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step" and "/" not in k}, refresh=False)
                if sync:
                    self.gather_rank_states()
                if eval_due and main:
                    last_eval = self.evaluate()
                    bar.write(f"step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in last_eval.items()))
                if ckpt_due and main:
                    self.save(self._path("last.pt"))
                snapshot = self.recipe.snapshots.get(self.step)
                if snapshot is not None and main:
                    self.save(self._path(f"{snapshot}.pt"))  # e.g. the end of a warm-up (network interpolation)
                named = self.recipe.preview_steps.get(self.step)
                if named is not None and main:
                    self.named_preview(named)  # e.g. the end of a resolution of a growing GAN
        finally:
            bar.close()
            self.runlog.flush()
        if self.dist.enabled and not self.parallel.gathered(self.step):
            self.gather_rank_states()  # a run resumed at its last step: save() on rank 0 after fit needs them
        if self.out_dir is not None and main:
            self.runlog.row({"step": self.step, "seconds": time.perf_counter() - t0, "done": True})
        return last_eval

    def _flush_logs(self) -> dict[str, float]:
        """Log the mean losses since the last row (one host sync); stops on NaN/inf (:class:`LossWatch`)."""
        row: dict[str, Any] = {"step": self.step, **self.losses.flush(self.step, self.parallel.average, self._path("last.pt"))}
        self.runlog.row(row)
        self.runlog.scalars("train", {k: v for k, v in row.items() if k != "step"}, self.step)
        return row

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, full: bool = False, record: bool = True) -> dict[str, float]:
        """Held-out metrics of :meth:`eval_networks` with every network in eval mode (restored after).
        With ``record`` (during training) they are logged, the preview grid is written and
        ``best.pt`` kept (the maximum of the recipe's ``best_metric``); ``record=False``
        (``invgan eval``) leaves the run folder untouched. ``full`` asks the recipe for its slow
        metrics as well (see :meth:`Recipe.evaluate`)."""
        if self.losses.pending:
            self._flush_logs()
        devices = [torch.cuda.current_device()] if self.device.type == "cuda" else []
        nets = self.eval_networks()
        # Evaluation draws (latents z) come from a fixed seed and never shift the training streams.
        with eval_mode(self.recipe, *self.emas.values()), torch.random.fork_rng(devices=devices), self.autocast():
            torch.manual_seed(0)
            metrics = {k: float(v) for k, v in self.recipe.evaluate(nets, self.eval_data, full=full).items()}
            grid = self.recipe.preview(nets, self.eval_data)
        if not record:
            return metrics
        self.runlog.row({"step": self.step, "eval": metrics})
        if grid is not None:
            self.runlog.grid(grid.float(), self.step, self.recipe.preview_columns)
        self.runlog.scalars("eval", metrics, self.step)
        score = metrics.get(self.recipe.best_metric) if self.recipe.best_metric else None
        if score is not None and score > self.best:
            self.best = score
            if self.out_dir is not None:
                self.save(self._path("best.pt"))
        return metrics

    @torch.no_grad()
    def named_preview(self, name: str) -> None:
        """Write the recipe's preview grid (EMA copies where kept) to ``samples/<name>.png``,
        from the evaluation's fixed seed, without touching the training streams."""
        devices = [torch.cuda.current_device()] if self.device.type == "cuda" else []
        with eval_mode(self.recipe, *self.emas.values()), torch.random.fork_rng(devices=devices), self.autocast():
            torch.manual_seed(0)
            grid = self.recipe.preview(self.eval_networks(), self.eval_data)
        if grid is not None:
            self.runlog.grid(grid.float(), self.step, self.recipe.preview_columns, name=name)

    # ------------------------------------------------------------------ checkpoints
    def gather_rank_states(self) -> None:
        """Collect every process's random state at this step for the next checkpoint (a collective:
        every rank calls it; :meth:`fit` does at each evaluation, checkpoint and at its end)."""
        self.parallel.gather(self.step)

    def state_dict(self) -> dict[str, Any]:
        return {
            **self.parallel.checkpoint_entries(self.step),  # every rank's random state (a collective when not gathered)
            "step": self.step,
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "ema": {k: v.state_dict() for k, v in self.emas.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            "recipe_rng": self.recipe.rng_state(),
            "best": self.best,
            "config": self.config,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint's state. A checkpoint of another architecture (other networks, widths,
        EMA copies, optimisers or schedulers) is a :class:`ValueError` saying which part differs.
        A cosine schedule restored for another number of steps is re-aimed at this run's
        (:func:`load_run_state`); a checkpoint past ``steps`` is refused."""
        step = int(state["step"])
        if step > self.steps:
            raise ValueError(f"the checkpoint is at step {step}, beyond this run's steps={self.steps}: ask for at least {step} steps")
        load_run_state(state, self.networks, self.emas, self.optimizers, self.schedulers)
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best = int(state["step"]), float(state["best"])
        self.parallel.restore(state)  # this process's random streams

    def save(self, path: str | Path | None) -> Path | None:
        """Write a checkpoint; a loss that became NaN or infinite since the last log flush stops the
        run first (:class:`NonFiniteLossError`), so no checkpoint ever holds weights past it."""
        if path is None:
            return None
        if self.losses.failed():
            self._flush_logs()  # raises, naming the loss and the step
        return ckpt.save_atomic(self.state_dict(), path)

    def resume(self, path: str | Path | dict[str, Any], trim_log: bool = True) -> None:
        """Continue exactly where the checkpoint at ``path`` (or an already loaded trainer
        checkpoint) stopped. With ``trim_log`` the run folder's ``log.jsonl`` is cut back to the
        rows of steps up to the checkpoint's (:meth:`RunLog.trim`: the steps after it are run
        again), so a resumed log has each step once; ``trim_log=False`` (evaluation only) leaves
        the folder untouched."""
        self.load_state_dict(ckpt.load_trainer_state(path, map_location=self.device))
        if trim_log:
            self.runlog.trim(self.step)

    def _path(self, name: str) -> Path | None:
        return self.out_dir / name if self.out_dir is not None else None
