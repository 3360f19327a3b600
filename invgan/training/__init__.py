"""Training: the GAN core (:mod:`.gan`), the systems built on it (:mod:`.systems`), one trainer
that runs any recipe's phases (:mod:`.trainer`), evaluators, checkpoints, and runs from configs."""

from ..precision import select_device
from .gan import (AmbientView, AugmentedView, GANRecipe, ImageView, LatentInput, LossTerm, MeasurementInput, MeasurementView, PairView,
                  Regularizer, as_dict)
from .evaluators import ReconstructionEvaluator, SampleEvaluator, code_traversal, label_rows
from .recipe import Phase, Recipe, freeze_all_but
from .runs import Run, build_conditional, build_run, build_unconditional
from .systems import acgan, ambient_gan, cgan, conditional_gan, cycle_gan, infogan, unconditional_gan
from .unpaired import HistoryPool, UnpairedInput, UnpairedView
from .runlog import RunLog
from .trainer import NonFiniteLossError, Trainer

__all__ = [
    "AugmentedView", "acgan", "cgan", "code_traversal", "infogan", "label_rows",
    "AmbientView", "GANRecipe", "ImageView", "LatentInput", "LossTerm", "MeasurementInput", "MeasurementView",
    "NonFiniteLossError", "PairView", "Phase", "Recipe", "ReconstructionEvaluator", "Regularizer", "Run", "RunLog", "SampleEvaluator", "Trainer", "ambient_gan", "as_dict",
    "build_conditional", "build_run", "build_unconditional", "conditional_gan", "freeze_all_but", "select_device",
    "unconditional_gan",
    "HistoryPool", "UnpairedInput", "UnpairedView", "cycle_gan",
]
