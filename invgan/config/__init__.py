"""One configuration package for every job: nested dataclasses that reject unknown keys, with
defaults that work.

A job is described by TOML, YAML or JSON; ``--set section.key=value`` overrides one entry and
``--preset NAME`` starts from a named preset (:mod:`~invgan.config.presets`, data files). Each kind
of job has one schema, in a module of its own:

* ``conditional``: a conditional GAN reconstructor :math:`R(y, A)` (:class:`ConditionalConfig`,
  :mod:`~invgan.config.conditional`),
* ``unconditional``: a generator :math:`G(z)`, AmbientGAN when ``ambient`` (:class:`UnconditionalConfig`,
  :mod:`~invgan.config.unconditional`),
* ``invert``: latent search through a trained generator (:class:`InvertConfig`, :mod:`~invgan.config.invert`),
* ``dip``: the deep image prior on one image (:class:`DIPJobConfig`, :mod:`~invgan.config.dip`),

and every kind shares the sections of :mod:`~invgan.config.sections` (one :class:`PhysicsConfig`).
Files and ``--set`` are read by :mod:`~invgan.config.reader`, checked by the machinery of
:mod:`~invgan.config.schema` and resolved by :mod:`~invgan.config.kinds`. The vocabularies of the
options live in the modules that use them (``invgan.nets``, ``invgan.losses``, ``invgan.optim``),
and the settings of the solvers (:class:`DIPConfig`, :class:`LatentSearchConfig`) beside them in
``invgan.solvers``; this package imports them from there, and sits above those modules and below
``invgan.builders``, ``invgan.training`` and the commands.
"""

from __future__ import annotations

from ..losses.heads import CONDITIONINGS
from ..losses.regularizers import REGULARIZER_NAMES
from ..nets import RECONSTRUCTORS
from ..nets.dip import NET_NAMES, UPSAMPLING_MODES
from ..nets.features import PERCEPTUAL_NETS
from .conditional import RECONSTRUCTION_LOSSES, ConditionalConfig, DataConfig, LossConfig, ModelConfig
from .dip import STOP_RULES, DIPConfig, DIPJobConfig
from .invert import InvertConfig, LatentSearchConfig
from .kinds import KINDS, MOVED, config_record, kind_of, resolve
from .presets import PRESET_DIR, PRESETS, Preset, load_preset, load_presets
from .reader import apply_overrides, load_config_file, merge
from .schema import RENAMED, dataclass_from_dict, iter_options, with_overrides
from .sections import OptimConfig, PhysicsConfig, TrainConfig
from .unconditional import GANConfig, LatentLossConfig, LatentModelConfig, SampleDataConfig, UnconditionalConfig

__all__ = [
    "KINDS", "MOVED", "PRESETS", "PRESET_DIR", "RENAMED", "Preset", "resolve", "kind_of", "config_record", "load_preset", "load_presets",
    "load_config_file", "apply_overrides", "merge", "dataclass_from_dict", "with_overrides", "iter_options",
    "PhysicsConfig", "OptimConfig", "TrainConfig",
    "ConditionalConfig", "DataConfig", "ModelConfig", "LossConfig",
    "UnconditionalConfig", "SampleDataConfig", "LatentModelConfig", "LatentLossConfig", "GANConfig",
    "InvertConfig", "LatentSearchConfig", "DIPJobConfig", "DIPConfig",
    "RECONSTRUCTORS", "RECONSTRUCTION_LOSSES", "PERCEPTUAL_NETS", "CONDITIONINGS", "REGULARIZER_NAMES", "NET_NAMES", "UPSAMPLING_MODES",
    "STOP_RULES",
]
