r"""From a job config to a run: a registry of run kinds (:data:`RUN_KINDS`).

Each kind's builder only says what differs (data, operator, networks and the recipe, a
configuration of the GAN core: :mod:`invgan.training.conditional`,
:mod:`invgan.training.unconditional`); the process group, the device, the seed, the optimisers
and the trainer are set up once, here, for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

import torch

from ..config import ConditionalConfig, UnconditionalConfig, config_record, resolve
from ..nested import flatten
from ..optim import make_optimizers
from ..precision import select_device
from .conditional import UNPAIRED_SYSTEMS, conditional_parts, held_out_set
from .distributed import init_from_env
from .parts import RunParts
from .trainer import Trainer
from .unconditional import unconditional_parts

__all__ = ["RUN_KINDS", "Run", "UNPAIRED_SYSTEMS", "build_conditional", "build_run", "build_unconditional", "check_resume_config",
           "held_out_set"]

AnyConfig = Union[ConditionalConfig, UnconditionalConfig]

#: the builder of each kind of training run: the run's parts from its config, on a device
RUN_KINDS: dict[str, Callable[[Any, torch.device], RunParts]] = {
    "conditional": conditional_parts,
    "unconditional": unconditional_parts,
}


@dataclass
class Run:
    """A built run: its config, trainer, training stream and held-out data."""

    config: AnyConfig
    trainer: Trainer
    stream: Any
    eval_data: Any

    def fit(self) -> dict[str, float]:
        return self.trainer.fit(self.stream)


def build_run(cfg: AnyConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """The run a config describes, whatever its kind: the kind's parts (:data:`RUN_KINDS`) and
    one trainer. ``out_dir`` and ``progress`` override ``train.out_dir`` and ``train.progress``."""
    record = config_record(cfg)  # what config.json and the checkpoints keep, with the kind
    kind = record["kind"]
    if kind not in RUN_KINDS:
        raise ValueError(f"a {kind} config describes no training run: expected one of {tuple(RUN_KINDS)}")
    train, optim = cfg.train, cfg.optim
    init_from_env(train.device)  # joins torchrun's process group, if any (see docs/distributed.md)
    torch.manual_seed(train.seed)
    device = select_device(train.device)
    parts = RUN_KINDS[kind](cfg, device)
    trainer = Trainer(
        parts.recipe, make_optimizers(parts.recipe.networks, optim), train.steps, scheduler=optim.scheduler,
        eval_data=parts.eval_data, out_dir=out_dir if out_dir is not None else train.out_dir, ema=optim.ema,
        grad_clip=optim.grad_clip, precision=train.precision, device=device, channels_last=train.channels_last,
        log_every=train.log_every, eval_every=train.eval_every, checkpoint_every=train.checkpoint_every,
        progress=train.progress if progress is None else progress, tensorboard=train.tensorboard,
        config={**record, **parts.record}, compile=train.compile, sync_batchnorm=train.sync_batchnorm,
        find_unused_parameters=train.find_unused_parameters,
    )
    return Run(cfg, trainer, parts.stream, parts.eval_data)


def build_conditional(cfg: ConditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """A conditional-GAN run (:func:`build_run` of a conditional config)."""
    return build_run(_of_kind(cfg, ConditionalConfig), out_dir, progress)


def build_unconditional(cfg: UnconditionalConfig, out_dir: str | None = None, progress: bool | None = None) -> Run:
    """A generator run, AmbientGAN when ``ambient`` (:func:`build_run` of an unconditional config)."""
    return build_run(_of_kind(cfg, UnconditionalConfig), out_dir, progress)


def _of_kind(cfg: Any, schema: type) -> Any:
    if not isinstance(cfg, schema):
        raise TypeError(f"expected a {schema.__name__}, got a {type(cfg).__name__}")
    return cfg


#: config entries a resumed run may change (steps, cadences, device, ...; the loader processes and their cache never change a batch)
CHANGEABLE_ON_RESUME = ("train.", "data.workers", "data.cache_mb")


def check_resume_config(cfg: AnyConfig, saved: dict[str, Any], where: str = "the checkpoint") -> None:
    """Refuse to resume a checkpoint made for another problem: its config (kind, physics, data,
    model, loss, optimiser) must equal this run's except the ``train`` section."""
    if not saved or not isinstance(saved, dict):
        raise ValueError(f"{where} has no config: it cannot be checked against this run")
    try:
        theirs = config_record(resolve(data=saved))
    except ValueError as e:
        raise ValueError(f"{where} holds a config this version cannot read ({e})") from e
    ours = config_record(cfg)
    if theirs["kind"] != ours["kind"]:
        article = lambda k: "an" if k[0] in "aeiou" else "a"  # noqa: E731
        raise ValueError(f"{where} was made by {article(theirs['kind'])} {theirs['kind']} run, but this is "
                         f"{article(ours['kind'])} {ours['kind']} run")
    a, b = flatten(theirs), flatten(ours)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and not k.startswith(CHANGEABLE_ON_RESUME)]
    if diff:
        shown = "; ".join(f"{k} = {a.get(k)!r} there, {b.get(k)!r} here" for k in diff[:4]) + ("; ..." if len(diff) > 4 else "")
        raise ValueError(f"{where} was made for another problem ({shown}): only train.* settings (and data.workers, data.cache_mb) may change on resume")
