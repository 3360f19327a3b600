"""Tests of invgan.training.unconditional."""

import pytest

from invgan.config import resolve
from invgan.training import AmbientView, build_run, build_unconditional
from invgan.training.unconditional import CONDITIONED_SYSTEMS


def resolve_unconditional(preset, overrides):
    return resolve("unconditional", preset=preset, overrides=overrides)


@pytest.mark.parametrize("physics", [["physics.name='cs'", "physics.m=40"], ["physics.name='blur'", "physics.sigma=0.7", "physics.kernel_size=5"]])
def test_ambientgan_runs_from_blur_and_cs_measurements(tmp_path, physics):
    cfg = resolve_unconditional("ambientgan-mnist", overrides=[*physics, "data.dataset='digits8'", "model.generator='mlp'",
                                                               "train.steps=2", "train.eval_every=0", "train.checkpoint_every=0",
                                                               "classifier_metrics=false", "data.batch_size=8"])
    run = build_unconditional(cfg, out_dir=str(tmp_path), progress=False)
    run.fit()
    assert run.trainer.step == 2
    view = run.trainer.recipe.view
    assert isinstance(view, AmbientView) and view.measurement.generator is not None  # a fresh operator per sample
    assert view.adjoint == ("physics.name='cs'" in physics)


def test_ambientgan_refuses_one_fixed_mask_or_matrix():
    for physics in (["physics.name='cs'", "physics.m=40"], ["physics.name='inpainting'"]):
        cfg = resolve_unconditional("ambientgan-mnist", overrides=[*physics, "physics.fresh_per_sample=false", "data.dataset='digits8'",
                                                                   "model.generator='mlp'", "classifier_metrics=false"])
        with pytest.raises(ValueError, match="fresh operator per sample"):
            build_unconditional(cfg, out_dir=None, progress=False)


TINY = ["train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.progress=false", "classifier_metrics=false",
        "data.batch_size=8", "model.width=8", "model.d_width=8", "data.dataset=mnist"]


def test_conditioning_needs_labels_and_a_headed_discriminator():
    with pytest.raises(ValueError, match="needs labelled images"):
        build_run(resolve("unconditional", None, "cgan-mnist", TINY + ["data.dataset=lfw"], None), progress=False)
    with pytest.raises(ValueError, match="head on D"):
        build_run(resolve("unconditional", None, "acgan-mnist", TINY + ["model.discriminator=mlp"], None), progress=False)
    with pytest.raises(ValueError, match="conditioning"):
        resolve("unconditional", None, None, ["gan.conditioning=pix2pix"], None)


def test_every_conditioning_has_its_system():
    from invgan.losses.heads import CONDITIONINGS

    assert set(CONDITIONED_SYSTEMS) == set(CONDITIONINGS)



def test_stylegan2_parts_and_their_checks():
    from invgan.nets.stylegan import StyleGAN2Discriminator, StyleGAN2Generator

    paper = ["gan.path_length_weight=2.0"]  # the preset turns the path length off
    run = build_unconditional(resolve_unconditional("stylegan2-mnist", TINY + ["model.latent_dim=8"] + paper), out_dir=None, progress=False)
    recipe = run.trainer.recipe
    assert isinstance(recipe.networks["G"], StyleGAN2Generator) and isinstance(recipe.networks["D"], StyleGAN2Discriminator)
    lazy = {p.name: (p.networks, p.every, p.lazy) for p in run.trainer.phases if p.lazy}
    assert lazy == {"r1": (("D",), 16, True), "PL": (("G",), 4, True)}
    assert run.trainer.emas and recipe.networks["G"].config["kind"] == "stylegan2"
    with pytest.raises(ValueError, match="needs a generator with a w\\+ space"):
        build_unconditional(resolve_unconditional("dcgan-mnist", TINY + ["gan.path_length_weight=2"]), out_dir=None, progress=False)
    with pytest.raises(ValueError, match="has no heads"):
        build_unconditional(resolve_unconditional("acgan-mnist", TINY + ["model.discriminator='stylegan2'"]), out_dir=None, progress=False)


def test_sagan_parts_projection_discriminator_and_orthogonal_regularisation():
    from invgan.nets.sagan import SAGANDiscriminator, SAGANGenerator

    run = build_unconditional(resolve_unconditional("sagan-cgan-mnist", TINY + ["gan.orthogonal_weight=1e-4"]), out_dir=None, progress=False)
    G, D = run.trainer.recipe.networks["G"], run.trainer.recipe.networks["D"]
    assert isinstance(G, SAGANGenerator) and G.n_classes == 10
    assert isinstance(D, SAGANDiscriminator) and D.n_classes == 10  # the label is projected, not given as channels
    assert run.trainer.optimizers["G"].param_groups[0]["lr"] == 1e-4 and run.trainer.optimizers["D"].param_groups[0]["lr"] == 4e-4
    logs = run.trainer.train_step(run.stream[0])
    assert "G/ortho" in logs and float(logs["G/ortho"]) > 0
