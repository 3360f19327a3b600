"""Training: one trainer that runs the phases of a recipe, configs, checkpoints and evaluation."""

from .conditional import ConditionalGANRecipe, ConditionalRun, build_conditional
from .config import PRESETS, RunConfig, config_from_dict, resolve_config
from .recipe import Phase, Recipe, freeze_all_but
from .trainer import NonFiniteLossError, Trainer, select_device

__all__ = [
    "PRESETS", "ConditionalGANRecipe", "ConditionalRun", "NonFiniteLossError", "Phase", "Recipe", "RunConfig",
    "Trainer", "build_conditional", "config_from_dict", "freeze_all_but", "resolve_config", "select_device",
]
