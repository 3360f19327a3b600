"""Losses: GAN objectives (pure functions of logits, by name), the adversarial term and
discriminator regularisers, and imaging losses (small modules of the step record)."""

from .adversarial import AdversarialLoss, r1_penalty
from .imaging import MeasurementConsistencyLoss, MeasurementCycleLoss, ReconstructionLoss
from .objectives import OBJECTIVES, GANObjective, get_objective, register_objective
from .step import DOutput, GANStep, head, logit

__all__ = [
    "OBJECTIVES", "AdversarialLoss", "DOutput", "GANObjective", "GANStep", "MeasurementConsistencyLoss",
    "MeasurementCycleLoss", "ReconstructionLoss", "get_objective", "head", "logit", "r1_penalty", "register_objective",
]
