"""What the builder of each run kind hands to :func:`invgan.training.runs.build_run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .recipe import Recipe


@dataclass
class RunParts:
    """A run before its trainer: the recipe, the training stream (batch :math:`t` at step :math:`t`),
    the held-out data its evaluation takes, and entries added to the run's recorded config
    (e.g. the generator's architecture)."""

    recipe: Recipe
    stream: Any
    eval_data: Any
    record: dict[str, Any] = field(default_factory=dict)
