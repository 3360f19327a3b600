r"""One trainer for every recipe: it runs phases, logs, evaluates and checkpoints.

For step :math:`t` the trainer draws batch :math:`t` of the stream, runs the recipe's
shared forward once, then each phase due at :math:`t` (e.g. ``D`` then ``G``) with
every network outside the phase frozen. Mixed precision (bf16, or fp16 with a
gradient scaler that also works with clipping), gradient clipping, schedulers and an
EMA copy of the generator are handled here; nothing here knows what a GAN is.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .recipe import Recipe, freeze_all_but

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


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


def select_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def make_schedulers(optimizers: dict[str, Optimizer], name: str, updates: dict[str, int]) -> dict[str, Any]:
    r"""Learning-rate schedulers by name: ``"none"``, or ``"cosine"`` from the initial rate down to 1 %
    over each network's number of optimiser ``updates``."""
    if name == "none":
        return {}
    if name != "cosine":
        raise ValueError(f"invalid optim.scheduler={name!r}: expected 'cosine' or 'none'")
    return {
        k: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, updates[k]), eta_min=0.01 * opt.param_groups[0]["lr"])
        for k, opt in optimizers.items()
    }


class Trainer:
    r"""Runs a :class:`~invgan.training.recipe.Recipe`.

    :param recipe: networks, shared forward and phases.
    :param optimizers: one optimiser per network key that some phase trains.
    :param steps: total number of steps.
    :param schedulers: optional learning-rate schedulers per network key (stepped with their optimiser).
    :param eval_data: whatever ``recipe.evaluate``/``recipe.preview`` take (held-out data).
    :param out_dir: run folder for ``log.jsonl``, PNG grids, TensorBoard and checkpoints (``None``: no files).
    :param ema: decay :math:`\beta` of the EMA copy :math:`\bar\theta \leftarrow \beta\bar\theta + (1-\beta)\theta`
        of the generator (0: off); the copy is what gets evaluated.
    :param grad_clip: max gradient norm per network (``None``: off).
    :param precision: ``"fp32"``, ``"bf16"`` (CUDA or CPU autocast) or ``"fp16"`` (CUDA, with a GradScaler).
    :param best_metric: key of ``recipe.evaluate``'s result whose maximum is kept as ``best.pt``.
    """

    def __init__(
        self,
        recipe: Recipe,
        optimizers: dict[str, Optimizer],
        steps: int,
        *,
        schedulers: dict[str, Any] | None = None,
        eval_data: Any = None,
        out_dir: str | Path | None = None,
        ema: float = 0.0,
        grad_clip: float | None = None,
        precision: str = "fp32",
        device: str | torch.device = "auto",
        channels_last: bool = False,
        log_every: int = 25,
        eval_every: int = 0,
        checkpoint_every: int = 0,
        progress: bool = True,
        tensorboard: bool = False,
        config: dict[str, Any] | None = None,
        best_metric: str = "psnr",
    ):
        self.device = select_device(device)
        if precision not in PRECISIONS:
            raise ValueError(f"invalid precision={precision!r}: expected one of {tuple(PRECISIONS)}")
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("precision='fp16' needs a CUDA device; use 'bf16' on CPU")
        if steps < 0:
            raise ValueError(f"invalid steps={steps!r}: expected >= 0")
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"invalid ema={ema!r}: expected a decay in [0, 1)")
        self.recipe = recipe.to(self.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.recipe.to(memory_format=torch.channels_last)
        self.phases = recipe.phases()
        missing = {k for p in self.phases for k in p.networks} - set(optimizers)
        if missing:
            raise ValueError(f"no optimiser given for network(s) {sorted(missing)} trained by the recipe's phases")
        self.optimizers, self.schedulers = optimizers, schedulers or {}
        self.steps, self.step = steps, 0
        self.eval_data, self.grad_clip, self.config, self.best_metric = eval_data, grad_clip, config or {}, best_metric
        self.amp_dtype = PRECISIONS[precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
        self.log_every, self.eval_every, self.checkpoint_every = max(1, log_every), eval_every, checkpoint_every
        self.progress = progress
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.ema = AveragedModel(self.generator, multi_avg_fn=EMAWithWarmup(ema), use_buffers=True) if ema > 0 else None
        self.best: float = -math.inf
        self.history: list[dict[str, Any]] = []
        self._nonfinite: list[tuple[int, str]] = []
        self._pending: dict[str, Tensor] = {}
        self._writer = self._make_writer() if tensorboard and self.out_dir is not None else None

    # ------------------------------------------------------------------ networks
    @property
    def networks(self) -> nn.ModuleDict:
        return self.recipe.networks

    @property
    def generator(self) -> nn.Module:
        return self.recipe.networks[self.recipe.generator_key]

    @property
    def eval_model(self) -> nn.Module:
        """The network that is evaluated and exported: the EMA copy when enabled."""
        return self.ema.module if self.ema is not None else self.generator

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: Tensor) -> dict[str, Tensor]:
        """Run step ``self.step`` on ``batch``; returns detached losses (no host sync)."""
        step = self.step
        due = [p for p in self.phases if step % p.every == 0]
        self.recipe.train()
        # Only networks some due phase trains build a graph in the shared forward.
        freeze_all_but(self.networks, tuple({k for p in due for k in p.networks}))
        with self.autocast():
            ctx = self.recipe(batch, step)
        logs: dict[str, Tensor] = {}
        for phase in due:
            freeze_all_but(self.networks, phase.networks)
            with self.autocast():
                loss, extra = phase.loss(ctx)
            self.scaler.scale(loss).backward()
            for key in phase.networks:
                opt = self.optimizers[key]
                if self.grad_clip is not None:
                    self.scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(self.networks[key].parameters(), self.grad_clip)
                self.scaler.step(opt)
                opt.zero_grad(set_to_none=True)
            self.scaler.update()
            logs[phase.name] = loss.detach()
            logs.update({f"{phase.name}/{k}": v.detach() for k, v in extra.items()})
        if self.ema is not None and any(self.recipe.generator_key in p.networks for p in due):
            self.ema.update_parameters(self.generator)
        for key in {k for p in due for k in p.networks}:
            if key in self.schedulers:
                self.schedulers[key].step()
        self.step = step + 1
        return logs

    # ------------------------------------------------------------------ loop
    def fit(self, stream: Any) -> dict[str, float]:
        """Train from ``self.step`` to ``self.steps``; ``stream.loader(start, stop)`` (or a
        sequence indexed by step) gives batch ``t`` at step ``t``. Returns the last evaluation."""
        batches: Iterable[Tensor] = (
            stream.loader(start=self.step, stop=self.steps) if hasattr(stream, "loader") else (stream[t] for t in range(self.step, self.steps))
        )
        last_eval: dict[str, float] = {}
        bar = tqdm(total=self.steps, initial=self.step, disable=not self.progress, desc="train", dynamic_ncols=True, mininterval=0.5)
        t0 = time.perf_counter()
        try:
            for batch in batches:
                batch = batch.to(self.device, non_blocking=True, memory_format=self.memory_format)
                logs = self.train_step(batch)
                self._watch(logs)
                bar.update(1)
                if self.step % self.log_every == 0 or self.step == self.steps:
                    row = self._flush_logs()
                    bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step" and "/" not in k}, refresh=False)
                if self.eval_every and (self.step % self.eval_every == 0 or self.step == self.steps):
                    last_eval = self.evaluate()
                    bar.write(f"step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in last_eval.items()))
                if self.checkpoint_every and (self.step % self.checkpoint_every == 0 or self.step == self.steps):
                    self.save(self._path("last.pt"))
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.flush()
        if self.out_dir is not None:
            self._log({"step": self.step, "seconds": time.perf_counter() - t0, "done": True})
        return last_eval

    def _watch(self, logs: dict[str, Tensor]) -> None:
        for k, v in logs.items():
            self._pending.setdefault(k, []).append(v)  # type: ignore[arg-type]

    def _flush_logs(self) -> dict[str, float]:
        """Average the pending losses (one host sync per log interval) and stop on NaN/inf."""
        row: dict[str, Any] = {"step": self.step}
        for k, vals in self._pending.items():
            t = torch.stack(vals).float()  # type: ignore[arg-type]
            if not torch.isfinite(t).all():
                bad = int(torch.nonzero(~torch.isfinite(t))[0]) + self.step - len(vals) + 1
                self._pending = {}
                last = self._path("last.pt")
                kept = f"; the last good checkpoint is {last}" if last is not None and last.exists() else ""
                raise NonFiniteLossError(f"loss {k!r} became {t[~torch.isfinite(t)][0].item()} at step {bad}: stopping{kept}")
            row[k] = t.mean().item()
        self._pending = {}
        self._log(row)
        if self._writer is not None:
            for k, v in row.items():
                if k != "step":
                    self._writer.add_scalar(f"train/{k}", v, self.step)
        return row

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, full: bool = False, record: bool = True) -> dict[str, float]:
        """Held-out metrics of :attr:`eval_model` with every network in eval mode (restored after).
        With ``record`` (during training) they are logged, the preview grid is written and
        ``best.pt`` kept; ``record=False`` (``invgan eval``) leaves the run folder untouched.
        ``full`` asks the recipe for its slow metrics as well (see :meth:`Recipe.evaluate`)."""
        if self._pending:
            self._flush_logs()
        modes = {name: m.training for name, m in self.recipe.named_modules()}
        ema_mode = self.ema.training if self.ema is not None else None
        self.recipe.eval()
        if self.ema is not None:
            self.ema.eval()
        devices = [torch.cuda.current_device()] if self.device.type == "cuda" else []
        # Evaluation draws (latents z) come from a fixed seed and never shift the training streams.
        try:
            with torch.random.fork_rng(devices=devices), self.autocast():
                torch.manual_seed(0)
                metrics = {k: float(v) for k, v in self.recipe.evaluate(self.eval_model, self.eval_data, full=full).items()}
                grid = self.recipe.preview(self.eval_model, self.eval_data)
        finally:
            for name, m in self.recipe.named_modules():
                m.training = modes[name]
            if self.ema is not None:
                self.ema.train(ema_mode)
        if not record:
            return metrics
        self._log({"step": self.step, "eval": metrics})
        if grid is not None:
            self._save_grid(grid.float())
        if self._writer is not None:
            for k, v in metrics.items():
                self._writer.add_scalar(f"eval/{k}", v, self.step)
        score = metrics.get(self.best_metric)
        if score is not None and score > self.best:
            self.best = score
            if self.out_dir is not None:
                self.save(self._path("best.pt"))
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "networks": {k: v.state_dict() for k, v in self.networks.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            "recipe_rng": self.recipe.rng_state(),
            "best": self.best,
            "config": self.config,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, net in self.networks.items():
            net.load_state_dict(state["networks"][k])
        if self.ema is not None:
            if state.get("ema") is None:
                raise ValueError("the checkpoint has no EMA copy but this run keeps one")
            self.ema.load_state_dict(state["ema"])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best = int(state["step"]), float(state["best"])
        ckpt.set_rng_state(state["rng"])
        self.recipe.set_rng_state(state["recipe_rng"])

    def save(self, path: str | Path | None) -> Path | None:
        if path is None:
            return None
        return ckpt.save_atomic(self.state_dict(), path)

    def resume(self, path: str | Path) -> None:
        """Continue exactly where the checkpoint at ``path`` stopped."""
        self.load_state_dict(ckpt.load(path, map_location=self.device))

    # ------------------------------------------------------------------ files
    def _path(self, name: str) -> Path | None:
        return self.out_dir / name if self.out_dir is not None else None

    def _log(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    def _save_grid(self, grid: Tensor) -> None:
        if self.out_dir is None:
            return
        from torchvision.utils import save_image

        (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)
        nrow = getattr(self.recipe, "preview_columns", 8)
        save_image(grid.clamp(0, 1).cpu(), self.out_dir / "samples" / f"step_{self.step:07d}.png", nrow=nrow, padding=2, pad_value=1.0)
        save_image(grid.clamp(0, 1).cpu(), self.out_dir / "latest.png", nrow=nrow, padding=2, pad_value=1.0)
        if self._writer is not None:
            from torchvision.utils import make_grid

            self._writer.add_image("preview", make_grid(grid.clamp(0, 1).cpu(), nrow=nrow), self.step)

    def _make_writer(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard is optional
            return None
        return SummaryWriter(str(self.out_dir / "tensorboard"))
