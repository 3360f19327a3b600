"""Parts of a run built from its config: the operator, the reconstructor, CycleGAN's generators."""

import pytest
import torch

from invgan.builders import build_cycle_generators, build_measurement, build_operator, build_reconstructor
from invgan.config import resolve
from invgan.nets import ConditionalReconstructor
from invgan.nets.cycle import CycleGenerators
from invgan.nets.sr import RRDBNet, SRResNet

TINY = ["data.crop=16", "model.width=4", "model.depth=2", "model.blocks=1"]


def test_each_generator_name_gives_its_network():
    assert isinstance(build_reconstructor(resolve(overrides=TINY)), ConditionalReconstructor)
    sr = resolve(preset="srresnet-x4", overrides=TINY)
    assert isinstance(build_reconstructor(sr), SRResNet)
    assert isinstance(build_reconstructor(resolve(preset="esrgan-x4", overrides=TINY)), RRDBNet)
    assert isinstance(build_cycle_generators(resolve(overrides=TINY)), CycleGenerators)


def test_measurement_has_the_crop_shape():
    cfg = resolve(overrides=[*TINY, "physics.name='blur'"])
    model = build_measurement(cfg)
    assert tuple(model.measure(torch.rand(2, 1, 16, 16)).shape) == (2, 1, 16, 16)


def test_super_resolution_networks_need_downsampling_and_a_norm_they_have():
    with pytest.raises(ValueError, match="needs physics.name = 'downsampling', got 'blur'"):
        build_reconstructor(resolve(preset="srresnet-x4", overrides=[*TINY, "physics.name='blur'"]))
    with pytest.raises(ValueError, match="ESRGAN's RRDB has no normalisation"):
        build_reconstructor(resolve(preset="esrgan-x4", overrides=[*TINY, "model.norm='batch'"]))
    with pytest.raises(ValueError, match="expected 'none' or 'batch'"):
        build_reconstructor(resolve(preset="srresnet-x4", overrides=[*TINY, "model.norm='instance'"]))


def test_physics_config_builds_the_operator_it_describes():
    import deepinv as dinv

    from invgan.config import PhysicsConfig

    mm = build_operator(PhysicsConfig(name="downsampling", factor=4, filter="bilinear", noise="poisson", poisson_gain=0.5), (1, 16, 16))
    assert mm.params["factor"] == 4 and mm.params["filter"] == "bilinear"
    assert isinstance(mm.physics.noise_model, dinv.physics.PoissonNoise)
    blur = build_operator(PhysicsConfig(name="blur", padding="reflect"), (1, 16, 16))
    assert isinstance(blur.physics, dinv.physics.Blur) and blur.params["padding"] == "reflect"
    with pytest.raises(ValueError, match="keep=2.0"):
        build_operator(PhysicsConfig(name="inpainting", keep=2.0), (1, 16, 16))


def test_guide_is_a_config_option_of_the_unet_only():
    from invgan.builders import build_reconstructor
    from invgan.config import resolve

    cfg = resolve("conditional", preset="inpainting", overrides=["model.guide='coverage'", "model.width=4", "model.depth=2"])
    assert build_reconstructor(cfg).guide_mode == "coverage"
    with pytest.raises(ValueError, match="model.guide"):
        resolve("conditional", preset="inpainting", overrides=["model.guide='mask'"])
    sr = resolve("conditional", preset="srresnet-x4", overrides=["model.guide='adjoint'"])
    with pytest.raises(ValueError, match="needs model.generator = 'unet'"):
        build_reconstructor(sr)


def test_consistency_is_a_config_option_of_the_unet_for_inpainting_only():
    from invgan.builders import build_reconstructor
    from invgan.config import resolve

    cfg = resolve("conditional", preset="inpainting", overrides=["model.consistency='project'", "model.width=4", "model.depth=2"])
    assert build_reconstructor(cfg).consistency == "project"
    with pytest.raises(ValueError, match="model.consistency"):
        resolve("conditional", preset="inpainting", overrides=["model.consistency='hard'"])
    with pytest.raises(ValueError, match="for physics.name='inpainting' only"):
        resolve("conditional", preset="demo", overrides=["model.consistency='project'"])
    sr = resolve("conditional", preset="srresnet-x4", overrides=["physics.name='inpainting'", "model.consistency='project'"])
    with pytest.raises(ValueError, match="model.consistency='project' needs model.generator = 'unet'"):
        build_reconstructor(sr)
