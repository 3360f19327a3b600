"""Losses: GAN objectives (pure functions of logits, by name) and imaging losses (small modules)."""

from .imaging import (
    ADVERSARIAL_LOSSES, AdversarialLoss, MeasurementAdversarialLoss, MeasurementConsistencyLoss,
    ReconstructionBatch, ReconstructionLoss, SupervisedAdversarialLoss, UAIRLoss, make_adversarial_loss,
)
from .objectives import OBJECTIVES, GANObjective, get_objective, register_objective

__all__ = [
    "ADVERSARIAL_LOSSES", "OBJECTIVES", "AdversarialLoss", "GANObjective", "MeasurementAdversarialLoss",
    "MeasurementConsistencyLoss", "ReconstructionBatch", "ReconstructionLoss", "SupervisedAdversarialLoss",
    "UAIRLoss", "get_objective", "make_adversarial_loss", "register_objective",
]
