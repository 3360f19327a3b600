"""Losses: GAN objectives (pure functions of logits, by name), the adversarial term and
discriminator regularisers, and imaging losses (small modules of the step record)."""

from .adversarial import AdversarialLoss
from .cycle import CycleConsistencyLoss, IdentityLoss
from .heads import ClassHeadLoss, InfoLoss, LatentCodes
from .imaging import MeasurementConsistencyLoss, MeasurementCycleLoss, PerceptualLoss, ReconstructionLoss
from .posterior import SampleMeanLoss, StdReward
from .objectives import F_DIVERGENCES, OBJECTIVES, FDivergence, GANObjective, get_objective, register_objective
from .regularizers import REGULARIZERS, PathLengthPenalty, clip_weights, dragan_penalty, drift_penalty, gradient_penalty, orthogonal_penalty, r1_penalty, r2_penalty
from .step import DOutput, GANStep, head, logit

__all__ = [
    "ClassHeadLoss", "InfoLoss", "LatentCodes",
    "F_DIVERGENCES", "FDivergence", "PathLengthPenalty", "REGULARIZERS", "clip_weights", "dragan_penalty", "drift_penalty", "gradient_penalty", "orthogonal_penalty", "r2_penalty",
    "OBJECTIVES", "AdversarialLoss", "DOutput", "GANObjective", "GANStep", "MeasurementConsistencyLoss",
    "MeasurementCycleLoss", "PerceptualLoss", "ReconstructionLoss", "get_objective", "head", "logit", "r1_penalty", "register_objective",
    "CycleConsistencyLoss", "IdentityLoss", "SampleMeanLoss", "StdReward",
]
