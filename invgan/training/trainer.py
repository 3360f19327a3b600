r"""One trainer for every recipe: it runs phases, logs, evaluates and checkpoints.

For step :math:`t` the trainer draws batch :math:`t` of the stream (a tensor, or a dict,
tuple or dataclass of tensors: images, measurements, labels, a second domain), moves it to
the device, runs the recipe's shared forward once, then each phase due at :math:`t` (e.g.
``D``, ``G``, a lazy ``R1``) with every network outside the phase frozen. Mixed precision
(bf16, or fp16 with a gradient scaler that also works with clipping), gradient clipping,
schedulers, lazy-regularisation corrections and EMA copies of any set of networks are handled
here; nothing here knows what a GAN is.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import time
import warnings
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from ..optim import continue_cosine, make_schedulers
from ..precision import autocast_dtype, resolve_precision
from . import checkpoint as ckpt
from . import distributed as dist_util
from .recipe import Phase, Recipe, freeze_all_but

class EMAWithWarmup:
    r"""EMA update :math:`\bar\theta \leftarrow \beta_n\bar\theta + (1-\beta_n)\theta` with the warm-up
    :math:`\beta_n = \min(\beta, \tfrac{1+n}{10+n})` after :math:`n` updates, so early evaluations are
    not dominated by the initial weights. (A multi-tensor ``multi_avg_fn`` of ``AveragedModel``.)"""

    def __init__(self, decay: float):
        self.decay = decay

    @torch.no_grad()
    def __call__(self, ema: list[Tensor], current: list[Tensor], num_averaged: Tensor | int) -> None:
        if not ema[0].is_floating_point():  # integer buffers (BatchNorm's step counter) are copied
            torch._foreach_copy_(ema, current)
            return
        n = int(num_averaged)  # AveragedModel itself already reads this counter on the host
        beta = min(self.decay, (1 + n) / (10 + n))
        torch._foreach_lerp_(ema, current, 1.0 - beta)


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left in place."""


def training_precision(requested: str, device: torch.device) -> str:
    """The precision a training run uses. ``"auto"`` follows :func:`invgan.precision.resolve_precision`
    (bf16 only where the device runs it natively) on accelerators, and is fp32 on CPUs: there even
    native bf16 (AMX) made the demo's small convolutions slower than fp32 (docs/benchmarks.md), so a
    CPU run gets bf16 only when asked for."""
    if requested == "auto" and device.type == "cpu":
        return "fp32"
    return resolve_precision(requested, device)


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA, else MPS, else the CPU; a named device must exist on this machine (a
    clear error, not CUDA's own, when ``"cuda"`` is asked for without a GPU). Under ``torchrun``
    with several processes, a CUDA device without an index is the process's ``LOCAL_RANK``."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif _mps_available():
            return torch.device("mps")
        else:
            return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"invalid device={str(device)!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} was asked for, but no CUDA GPU is usable here: use 'auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={str(device)!r} was asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        if dev.index is None and dist_util.env_world_size() > 1:  # under torchrun: the process's own GPU
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    elif dev.type == "mps" and not _mps_available():
        raise ValueError(f"device={str(device)!r} was asked for, but MPS is not available here: use 'auto' or 'cpu'")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"invalid device={str(device)!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return dev


def updates_per_network(phases: list[Phase], steps: int) -> dict[str, int]:
    """How many steps of ``range(steps)`` update each network (a step counts once per network,
    however many of its phases are due)."""
    counts: dict[str, int] = {}
    for t in range(steps):
        for key in {k for p in phases if p.due(t) for k in p.networks}:
            counts[key] = counts.get(key, 0) + 1
    return counts


def correct_for_lazy_phases(phases: list[Phase], optimizers: Mapping[str, Optimizer]) -> None:
    r"""StyleGAN2's correction for lazy regularisation every :math:`k` steps: :math:`c = k/(k+1)`,
    learning rate :math:`\eta \leftarrow c\,\eta` and Adam's :math:`\beta_i \leftarrow \beta_i^{\,c}`,
    for each optimiser of a network a lazy phase trains."""
    for phase in phases:
        if not phase.lazy or phase.every == 1:
            continue
        c = phase.every / (phase.every + 1)
        for key in phase.networks:
            for group in optimizers[key].param_groups:
                group["lr"] *= c
                if "betas" in group:
                    group["betas"] = tuple(b**c for b in group["betas"])


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


class Trainer:
    r"""Runs a :class:`~invgan.training.recipe.Recipe`.

    :param recipe: networks, shared forward and phases.
    :param optimizers: one optimiser per network key that some phase trains (lazy phases correct them).
    :param steps: total number of steps.
    :param scheduler: ``"none"`` or ``"cosine"``, per network over the steps that update it.
    :param eval_data: whatever ``recipe.evaluate``/``recipe.preview`` take (held-out data).
    :param out_dir: run folder for ``log.jsonl``, PNG grids, TensorBoard and checkpoints (``None``: no files).
    :param ema: decay :math:`\beta` of EMA copies :math:`\bar\theta \leftarrow \beta\bar\theta + (1-\beta)\theta`:
        a number for the recipe's ``generator_key``, or ``{key: decay}`` for any set of networks
        (0: off); the copies are what gets evaluated and exported.
    :param grad_clip: max gradient norm per network (``None``: off).
    :param precision: ``"auto"`` (see :func:`training_precision`), ``"fp32"``, ``"bf16"`` (CUDA or
        CPU autocast) or ``"fp16"`` (CUDA, with a GradScaler). The resolved choice is :attr:`precision`.
    :param distributed: data-parallel training over the joined ``torch.distributed`` process group
        (``None``: when one with several processes exists; see :mod:`invgan.training.distributed`).
    :param find_unused_parameters: DDP's option, for recipes where a phase leaves some parameters
        of a network it trains without a gradient (a head used by another phase only).
    :param sync_batchnorm: SyncBatchNorm in data-parallel CUDA runs (plain BatchNorm on CPU,
        where SyncBatchNorm does not run).
    :param compile: ``torch.compile`` each network (in place: state dicts keep their keys).
    """

    def __init__(
        self,
        recipe: Recipe,
        optimizers: dict[str, Optimizer],
        steps: int,
        *,
        scheduler: str = "none",
        eval_data: Any = None,
        out_dir: str | Path | None = None,
        ema: float | Mapping[str, float] = 0.0,
        grad_clip: float | None = None,
        precision: str = "auto",
        device: str | torch.device = "auto",
        channels_last: bool = False,
        log_every: int = 25,
        eval_every: int = 0,
        checkpoint_every: int = 0,
        progress: bool = True,
        tensorboard: bool = False,
        config: dict[str, Any] | None = None,
        distributed: bool | None = None,
        find_unused_parameters: bool = False,
        sync_batchnorm: bool = False,
        compile: bool = False,
    ):
        self.device = select_device(device)
        self.precision = training_precision(precision, self.device)
        if steps < 0:
            raise ValueError(f"invalid steps={steps!r}: expected >= 0")
        for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every), ("log_every", log_every)):
            if value < 0:
                raise ValueError(f"invalid {name}={value!r}: expected >= 0")
        decays = dict(ema) if isinstance(ema, Mapping) else ({recipe.generator_key: ema} if ema > 0 else {})
        for key, decay in decays.items():
            if key not in recipe.networks:
                raise ValueError(f"ema names network {key!r}, but the recipe has {sorted(recipe.networks)}")
            if not 0.0 <= decay < 1.0:
                raise ValueError(f"invalid ema={decay!r} for {key!r}: expected a decay in [0, 1)")
        self.recipe = recipe.to(self.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.recipe.to(memory_format=torch.channels_last)
        self.phases = recipe.phases()
        missing = {k for p in self.phases for k in p.networks} - set(optimizers)
        if missing:
            raise ValueError(f"no optimiser given for network(s) {sorted(missing)} trained by the recipe's phases")
        self.optimizers = optimizers
        self.dist = dist_util.current() if distributed is not False else dist_util.DistInfo()
        if distributed and not self.dist.enabled:
            raise ValueError("distributed=True needs a joined torch.distributed process group with several processes (torchrun)")
        self._ddp: dict[str, nn.Module] = {}
        self._rank_states: tuple[int, list[dict[str, Any]]] | None = None  # (step, every rank's random state)
        if compile:
            for net in self.networks.values():
                net.compile()
        if self.dist.enabled:
            self._setup_distributed(find_unused_parameters, sync_batchnorm)
        correct_for_lazy_phases(self.phases, optimizers)
        self.schedulers = make_schedulers(optimizers, scheduler, updates_per_network(self.phases, steps))
        self.steps, self.step = steps, 0
        self.eval_data, self.grad_clip, self.config = eval_data, grad_clip, config or {}
        self.amp_dtype = autocast_dtype(self.precision)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.log_every, self.eval_every, self.checkpoint_every = max(1, log_every), eval_every, checkpoint_every
        self.progress = progress
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.emas = {
            k: AveragedModel(self.networks[k], multi_avg_fn=EMAWithWarmup(d), use_buffers=True) for k, d in decays.items() if d > 0
        }
        self.best: float = -math.inf
        self.history: list[dict[str, Any]] = []
        self._pending: dict[str, list[Tensor]] = {}
        self._all_finite: Tensor | None = None  # every loss since the last log flush was finite
        # made when training starts, so building a trainer writes nothing to the run folder
        self._tensorboard = tensorboard and self.out_dir is not None and self.is_main
        self._writer = None

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

    def _setup_distributed(self, find_unused: bool, sync_batchnorm: bool) -> None:
        """One DDP wrapper per trained network, rank-offset random streams (see :meth:`train_step`)."""
        from torch.nn.parallel import DistributedDataParallel as DDP

        if sync_batchnorm:
            if self.device.type == "cuda":
                for key in list(self.networks):
                    # the same Parameter objects: the optimisers need no rebuilding
                    self.recipe.networks[key] = nn.SyncBatchNorm.convert_sync_batchnorm(self.networks[key])
            else:
                warnings.warn("sync_batchnorm needs CUDA: plain BatchNorm (per-process statistics) is used on "
                              f"{self.device.type}", stacklevel=3)
        ids = [self.device.index] if self.device.type == "cuda" else None
        # buffers are synced once, at construction, and not before every forward
        no_buffer_sync = {"forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DDP).parameters else "broadcast_buffers": False}
        for key in sorted({k for p in self.phases for k in p.networks}):
            # broadcast_buffers=False: parameters stay identical through the averaged gradients;
            # buffers (BatchNorm statistics) are per process, rank 0's are the ones saved.
            self._ddp[key] = DDP(self.networks[key], device_ids=ids, find_unused_parameters=find_unused, **no_buffer_sync)
        rank = self.dist.rank
        if rank:
            torch.manual_seed(dist_util.rank_seed(torch.initial_seed(), rank))
            self.recipe.shard_streams(rank)

    @contextmanager
    def _data_parallel(self):
        """During a step the recipe sees each trained network's DDP wrapper (no-op in one process)."""
        if not self._ddp:
            yield
            return
        raw = {k: self.networks[k] for k in self._ddp}
        try:
            for k, wrapper in self._ddp.items():
                self.recipe.networks[k] = wrapper
            yield
        finally:
            for k, net in raw.items():
                self.recipe.networks[k] = net

    def _only_syncing(self, keys: tuple[str, ...]):
        """Every DDP wrapper outside ``keys`` runs under ``no_sync()``: a network a phase calls but
        does not train (D in G's phase) gets no reducer state, so no reduction is left pending."""
        stack = ExitStack()
        for k, wrapper in self._ddp.items():
            if k not in keys:
                stack.enter_context(wrapper.no_sync())
        return stack

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
        with self._data_parallel():
            logs = self._run_phases(due, trained, batch, step)
        for key in trained:
            if key in self.emas:
                self.emas[key].update_parameters(self.networks[key])
            if key in self.schedulers:
                self.schedulers[key].step()
        self.step = step + 1
        return logs

    def _run_phases(self, due: list[Phase], trained: tuple[str, ...], batch: Any, step: int) -> dict[str, Tensor]:
        # Under DDP, each phase's backward all-reduces the gradients of the phase's networks (and
        # only those: the others run under no_sync), so every rank takes the same optimiser step.
        with self._only_syncing(trained), self.autocast():
            ctx = self.recipe(batch, step)
        logs: dict[str, Tensor] = {}
        for phase in due:
            freeze_all_but(self.networks, phase.networks)
            with self._only_syncing(phase.networks), self.autocast():
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
        if self.dist.enabled and hasattr(stream, "shard"):
            stream = stream.shard(self.dist.rank, self.dist.world_size)
        if hasattr(stream, "loader"):
            pin = self.device.type == "cuda" and "pin_memory" in inspect.signature(stream.loader).parameters
            batches: Iterable[Any] = stream.loader(start=self.step, stop=self.steps, **({"pin_memory": True} if pin else {}))
        else:
            batches = (stream[t] for t in range(self.step, self.steps))
        last_eval: dict[str, float] = {}
        main = self.is_main
        if self.out_dir is not None and main:
            ckpt.remove_stale_tmp(self.out_dir)  # what a kill during a checkpoint write left
        if self._tensorboard and self._writer is None:
            self._writer = self._make_writer()
        bar = tqdm(total=self.steps, initial=self.step, disable=not (self.progress and main), desc="train", dynamic_ncols=True, mininterval=0.5)
        t0 = time.perf_counter()
        try:
            for batch in batches:
                logs = self.train_step(move_batch(batch, self.device, self.memory_format))
                self._watch(logs)
                bar.update(1)
                last = self.step == self.steps
                eval_due = bool(self.eval_every) and (self.step % self.eval_every == 0 or last)
                ckpt_due = bool(self.checkpoint_every) and (self.step % self.checkpoint_every == 0 or last)
                # in a data-parallel run, the collectives (log flush, random states) come before rank 0 works alone
                sync = self.dist.enabled and (eval_due or ckpt_due or last)
                if self.step % self.log_every == 0 or last or (sync and self._pending):
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
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.flush()
        if self.dist.enabled and (self._rank_states is None or self._rank_states[0] != self.step):
            self.gather_rank_states()  # a run resumed at its last step: save() on rank 0 after fit needs them
        if self.out_dir is not None and main:
            self._log({"step": self.step, "seconds": time.perf_counter() - t0, "done": True})
        return last_eval

    def _watch(self, logs: dict[str, Tensor]) -> None:
        for k, v in logs.items():
            self._pending.setdefault(k, []).append(v)
        # A device-side flag, read only before a checkpoint is written: no host sync per step.
        finite = torch.stack([torch.isfinite(v).all() for v in logs.values()]).all() if logs else None
        if finite is not None:
            self._all_finite = finite if self._all_finite is None else self._all_finite & finite

    def _flush_logs(self) -> dict[str, float]:
        """Average the pending losses (one host sync per log interval) and stop on NaN/inf."""
        row: dict[str, Any] = {"step": self.step}
        stacked = {k: torch.stack(vals).float() for k, vals in self._pending.items()}
        means = torch.stack([t.mean() for t in stacked.values()]) if stacked else None
        if means is not None and self.dist.enabled:
            # the mean over every process's batch (a NaN anywhere makes it NaN on every rank)
            torch.distributed.all_reduce(means)
            means = means / self.dist.world_size
        values = means.tolist() if means is not None else []
        for (k, t), mean in zip(stacked.items(), values):
            if not math.isfinite(mean) or not torch.isfinite(t).all():
                n = len(self._pending[k])
                self._pending, self._all_finite = {}, None
                last = self._path("last.pt")
                kept = f"; the last good checkpoint is {last}" if last is not None and last.exists() else ""
                if torch.isfinite(t).all():
                    raise NonFiniteLossError(f"loss {k!r} became non-finite on another process within steps "
                                             f"{self.step - n + 1}..{self.step}: stopping{kept}")
                bad = int(torch.nonzero(~torch.isfinite(t))[0]) + self.step - n + 1
                raise NonFiniteLossError(f"loss {k!r} became {t[~torch.isfinite(t)][0].item()} at step {bad}: stopping{kept}")
            row[k] = mean
        self._pending, self._all_finite = {}, None
        self._log(row)
        if self._writer is not None:
            for k, v in row.items():
                if k != "step":
                    self._writer.add_scalar(f"train/{k}", v, self.step)
        return row

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, full: bool = False, record: bool = True) -> dict[str, float]:
        """Held-out metrics of :meth:`eval_networks` with every network in eval mode (restored after).
        With ``record`` (during training) they are logged, the preview grid is written and
        ``best.pt`` kept (the maximum of the recipe's ``best_metric``); ``record=False``
        (``invgan eval``) leaves the run folder untouched. ``full`` asks the recipe for its slow
        metrics as well (see :meth:`Recipe.evaluate`)."""
        if self._pending:
            self._flush_logs()
        modules = [self.recipe, *self.emas.values()]
        modes = [{name: m.training for name, m in mod.named_modules()} for mod in modules]
        for mod in modules:
            mod.eval()
        devices = [torch.cuda.current_device()] if self.device.type == "cuda" else []
        nets = self.eval_networks()
        # Evaluation draws (latents z) come from a fixed seed and never shift the training streams.
        try:
            with torch.random.fork_rng(devices=devices), self.autocast():
                torch.manual_seed(0)
                metrics = {k: float(v) for k, v in self.recipe.evaluate(nets, self.eval_data, full=full).items()}
                grid = self.recipe.preview(nets, self.eval_data)
        finally:
            for mod, mode in zip(modules, modes):
                for name, m in mod.named_modules():
                    m.training = mode[name]
        if not record:
            return metrics
        self._log({"step": self.step, "eval": metrics})
        if grid is not None:
            self._save_grid(grid.float())
        if self._writer is not None:
            for k, v in metrics.items():
                self._writer.add_scalar(f"eval/{k}", v, self.step)
        score = metrics.get(self.recipe.best_metric) if self.recipe.best_metric else None
        if score is not None and score > self.best:
            self.best = score
            if self.out_dir is not None:
                self.save(self._path("best.pt"))
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def gather_rank_states(self) -> None:
        """Collect every process's random state at this step for the next checkpoint (a collective:
        every rank calls it; :meth:`fit` does at each evaluation, checkpoint and at its end)."""
        if self.dist.enabled:
            mine = {"rng": ckpt.rng_state(), "recipe_rng": self.recipe.rng_state()}
            self._rank_states = (self.step, dist_util.all_gather_objects(mine))

    def state_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.dist.enabled:
            if self._rank_states is None or self._rank_states[0] != self.step:
                self.gather_rank_states()  # collective: every rank must be here
            extra["rank_rng"] = self._rank_states[1]  # type: ignore[index]
        return {
            **extra,
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
        (:func:`continue_cosine`); a checkpoint past ``steps`` is refused."""
        step = int(state["step"])
        if step > self.steps:
            raise ValueError(f"the checkpoint is at step {step}, beyond this run's steps={self.steps}: ask for at least {step} steps")
        for part, ours in (("networks", self.networks), ("optimizers", self.optimizers), ("schedulers", self.schedulers)):
            theirs = state.get(part) or {}
            if set(theirs) != set(ours):
                raise ValueError(f"the checkpoint holds {part} {sorted(theirs)} but this run has {sorted(ours)} (another kind of run or config)")
        for k, net in self.networks.items():
            try:
                net.load_state_dict(state["networks"][k])
            except RuntimeError as e:
                detail = " ".join(str(e).split("\n", 2)[1:2]).strip() or str(e).splitlines()[0]
                raise ValueError(f"the checkpoint's network {k!r} has another architecture than this run's ({detail})") from e
        saved_emas = ckpt.ema_states(state)
        for k, ema in self.emas.items():
            if k not in saved_emas:
                raise ValueError(f"the checkpoint has no EMA copy of {k!r} but this run keeps one")
            ema.load_state_dict(saved_emas[k])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in self.schedulers.items():
            total = sched.T_max  # this run's number of updates of network k
            sched.load_state_dict(state["schedulers"][k])
            if sched.T_max != total:
                continue_cosine(sched, total)
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best = int(state["step"]), float(state["best"])
        ranks = state.get("rank_rng")
        if self.dist.enabled and ranks is not None and len(ranks) == self.dist.world_size:
            mine = ranks[self.dist.rank]
            ckpt.set_rng_state(mine["rng"])
            self.recipe.set_rng_state(mine["recipe_rng"])
            return
        ckpt.set_rng_state(state["rng"])  # rank 0's in a data-parallel checkpoint
        self.recipe.set_rng_state(state["recipe_rng"])
        if self.dist.enabled or ranks is not None:
            warnings.warn(f"checkpoint of {len(ranks) if ranks else 1} process(es) resumed with {self.dist.world_size}: "
                          "the random streams are re-seeded per process, not an exact continuation", stacklevel=2)
            if self.dist.rank:
                torch.manual_seed(dist_util.rank_seed(torch.initial_seed(), self.dist.rank))
                self.recipe.shard_streams(self.dist.rank)

    def save(self, path: str | Path | None) -> Path | None:
        """Write a checkpoint; a loss that became NaN or infinite since the last log flush stops the
        run first (:class:`NonFiniteLossError`), so no checkpoint ever holds weights past it."""
        if path is None:
            return None
        if self._all_finite is not None and not bool(self._all_finite):
            self._flush_logs()  # raises, naming the loss and the step
        return ckpt.save_atomic(self.state_dict(), path)

    def resume(self, path: str | Path | dict[str, Any], trim_log: bool = True) -> None:
        """Continue exactly where the checkpoint at ``path`` (or an already loaded trainer
        checkpoint) stopped. With ``trim_log`` the run folder's ``log.jsonl`` is cut back to the
        rows of steps up to the checkpoint's (the steps after it are run again), so a resumed log
        has each step once; ``trim_log=False`` (evaluation only) leaves the folder untouched."""
        self.load_state_dict(ckpt.load_trainer_state(path, map_location=self.device))
        if trim_log:
            self._truncate_log(self.step)

    def _truncate_log(self, step: int) -> None:
        """Keep the log rows of steps ``<= step`` (a torn last line of a killed run and the
        ``done`` row of a finished one go too); rewritten atomically."""
        path = self._path("log.jsonl")
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

    # ------------------------------------------------------------------ files
    def _path(self, name: str) -> Path | None:
        return self.out_dir / name if self.out_dir is not None else None

    def _log(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        if self.out_dir is not None and self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    def _save_grid(self, grid: Tensor) -> None:
        if self.out_dir is None:
            return
        from torchvision.utils import make_grid, save_image

        (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)
        nrow = self.recipe.preview_columns
        picture = grid.clamp(0, 1).cpu()
        save_image(picture, self.out_dir / "samples" / f"step_{self.step:07d}.png", nrow=nrow, padding=2, pad_value=1.0)
        save_image(picture, self.out_dir / "latest.png", nrow=nrow, padding=2, pad_value=1.0)
        if self._writer is not None:
            self._writer.add_image("preview", make_grid(picture, nrow=nrow), self.step)

    def _make_writer(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard is optional
            return None
        return SummaryWriter(str(self.out_dir / "tensorboard"))
