"""Tests of invgan.config.conditional: the schema of a conditional GAN reconstructor run."""

import warnings

import pytest

from invgan.config import ConditionalConfig, config_record, resolve
from invgan.losses.objectives import CONDITIONAL_OBJECTIVE


def test_defaults_describe_the_demo_problem():
    cfg = resolve("conditional")
    assert isinstance(cfg, ConditionalConfig)
    assert (cfg.physics.name, cfg.loss.objective, cfg.loss.adversarial, cfg.model.generator) == ("blur", CONDITIONAL_OBJECTIVE, "supervised", "unet")
    assert cfg.data.source == "builtin" and cfg.data.eval_crop is None


@pytest.mark.parametrize("override, message", [
    ("loss.reconstruction='huber'", "invalid loss.reconstruction='huber'"),
    ("loss.adv_weight=-1", "invalid loss.adv_weight=-1"),
    ("model.generator='vit'", "invalid model.generator='vit'"),
    ("data.channels=2", "invalid data.channels=2"),
    ("loss.perceptual_net='clip'", "invalid loss.perceptual_net='clip'"),
    ("model.latent_scale=0", "invalid model.latent_scale=0"),
    ("loss.regularizer='r3'", "invalid loss.regularizer='r3'"),
    ("loss.reg_every=0", "invalid loss.reg_every=0"),
    ("model.d_norm='spectral'", "invalid model.d_norm='spectral'"),
])
def test_each_section_refuses_values_out_of_range(override, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        resolve("conditional", overrides=[override])


@pytest.mark.parametrize("disc", ["dcgan", "esrgan"])
def test_cyclegan_needs_patch_critics(disc):
    """CycleGAN's paired critics concatenate per-patch logits; a critic with one logit per image
    (dcgan, esrgan) failed at step 1 with an IndexError. Refused in the config."""
    with pytest.raises(ValueError, match=rf"^invalid model.discriminator='{disc}' for loss.adversarial='unpaired': expected 'patchgan'"):
        resolve(preset="cyclegan-deblur", overrides=[f"model.discriminator={disc}"])
    assert resolve(preset="cyclegan-deblur").model.discriminator == "patchgan"


def test_cyclegan_critics_take_no_regulariser():
    with pytest.raises(ValueError, match="invalid loss.regularizer='r1' for loss.adversarial='unpaired'"):
        resolve(preset="cyclegan-deblur", overrides=["loss.regularizer=r1"])


@pytest.mark.parametrize("overrides, message", [
    (["model.d_norm=batch"], "invalid model.d_norm='batch' with model.spectral_norm=true"),
    (["model.spectral_norm=false", "model.discriminator=esrgan", "model.d_norm=none"], "invalid model.d_norm='none' for model.discriminator='esrgan'"),
])
def test_critic_normalisations_that_cannot_apply_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve("conditional", overrides=overrides)


def test_unknown_discriminator_is_refused_in_the_config():
    with pytest.raises(ValueError, match=r"invalid model.discriminator='mlp': expected one of \('dcgan', 'patchgan', 'esrgan'\)"):
        resolve("conditional", overrides=["model.discriminator=mlp"])


@pytest.mark.parametrize("disc", ["dcgan", "esrgan"])
def test_image_critics_need_a_power_of_two_crop(disc):
    with pytest.raises(ValueError, match=rf"invalid data.crop=48 for model.discriminator='{disc}': expected a power of two >= 16"):
        resolve("conditional", overrides=[f"model.discriminator={disc}", "data.crop=48"])
    resolve("conditional", overrides=[f"model.discriminator={disc}", "data.crop=48", "loss.adv_weight=0"])  # no D: no constraint


def test_no_adversarial_phase_is_warned():
    """srgan-x4 with train.steps below loss.adv_start trained only its warm-up, silently."""
    with pytest.warns(UserWarning, match=r"loss.adv_start=3000 >= train.steps=2000: .*no adversarial phase.*raise train.steps"):
        resolve(preset="srgan-x4", overrides=["train.steps=2000"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve(preset="srgan-x4")
        resolve(preset="srgan-x4", overrides=["train.steps=2000", "loss.adv_weight=0"])  # a warm-up-only run, asked for
        cfg = resolve(preset="srgan-x4")
        cfg.train.steps = 2000
        resolve(data=config_record(cfg))  # a saved config (eval, reconstruct of that run): no repeat


@pytest.mark.parametrize("overrides, message", [
    (["loss.posterior_samples=2"], "posterior samples need the unet reconstructor with latent channels"),
    (["loss.posterior_samples=2", "model.latent_channels=1", "loss.adversarial='measurement'"], "posterior samples need loss.adversarial='supervised' or 'pair'"),
    (["loss.posterior_samples=2", "model.latent_channels=1", "loss.mc_weight=0.1"], "and loss.mc_weight=0"),
    (["loss.std_weight=1"], "the std reward needs loss.posterior_samples >= 2"),
    (["loss.posterior_samples=0"], "invalid loss.posterior_samples=0"),
    (["loss.std_weight=-1"], "invalid loss.std_weight=-1"),
    (["loss.std_ramp=-5"], "invalid loss.std_ramp=-5"),
    (["loss.std_adapt=-1"], "invalid loss.std_adapt=-1"),
    (["loss.std_adapt=0.01"], "no std reward to adapt"),
    (["loss.std_pool=0"], "invalid loss.std_pool=0"),
    (["loss.std_pool=3"], "they shape the std reward, which is off"),
    (["loss.std_unseen=true"], "they shape the std reward, which is off"),
])
def test_posterior_sampling_combinations_that_cannot_run_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        resolve("conditional", overrides=overrides)


@pytest.mark.parametrize("preset, physics", [("rcgan-deblur", "blur"), ("rcgan-inpainting", "inpainting")])
def test_rcgan_presets_sample_the_posterior(preset, physics):
    cfg = resolve(preset=preset)
    assert (cfg.physics.name, cfg.loss.posterior_samples, cfg.loss.std_weight, cfg.loss.reconstruction) == (physics, 2, 1.0, "l1")
    assert cfg.model.latent_channels > 0 and cfg.loss.adv_weight > 0 and cfg.loss.std_ramp > 0
    # D sees each draw alone: the conditional D with a longer ramp lost at blur sigma 3 and noise 0.05 (docs/posterior_sampling.md)
    assert cfg.loss.adversarial == "supervised" and cfg.loss.std_ramp == 500
    assert resolve("conditional").loss.posterior_samples == 1  # every other run: one draw, as before
    if physics == "inpainting":  # the draws refine biharmonic inpainting and keep the measured pixels
        assert (cfg.model.lift, cfg.model.consistency) == ("classical", "project")


@pytest.mark.parametrize("overrides", [
    ["loss.fresh_operator=true"],  # supervised D judges images, not measurements
    ["loss.fresh_operator=true", "loss.adversarial='uair'", "physics.name='inpainting'"],  # one fixed mask: nothing to redraw
])
def test_fresh_operator_needs_a_measurement_critic_and_random_draws(overrides):
    with pytest.raises(ValueError, match="loss.fresh_operator=true needs loss.adversarial='measurement' or 'uair'"):
        resolve("conditional", overrides=overrides)


def test_self_supervised_critic_through_the_draw_of_y_is_warned():
    same = ["loss.adversarial='uair'", "loss.reconstruction='none'", "loss.adv_weight=1", "loss.mc_weight=1",
            "physics.name='inpainting'", "physics.fresh_per_sample=true"]
    with pytest.warns(UserWarning, match=r"x_hat = A\^T y is then an equilibrium.*loss.fresh_operator=true"):
        resolve("conditional", overrides=same)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve(preset="inpainting-selfsupervised")



@pytest.mark.parametrize("overrides, message", [
    (["data.select='measurements'"], "data.select='measurements' withholds measured pixels, for physics.name='inpainting' only"),
    (["loss.self_supervised='moi'"], "loss.self_supervised='moi' needs fresh operator draws"),
    (["loss.self_supervised='n2n'"], "invalid loss.self_supervised='n2n'"),
    (["loss.self_supervised='splitting'"], "loss.self_supervised='splitting' splits the measured pixels, for physics.name='inpainting'"),
    (["physics.name='inpainting'", "loss.split_ratio=1.0"], "loss.split_ratio"),
    (["physics.name='inpainting'", "loss.self_supervised='ei+ei'"], "invalid loss.self_supervised='ei\\+ei'"),
    (["physics.name='inpainting'", "loss.self_supervised='ei+n2n'"], "or several joined by"),
    (["loss.self_supervised='ei+splitting'"], "splits the measured pixels, for physics.name='inpainting'"),
    (["physics.name='inpainting'", "loss.self_supervised='ei+moi'"], "needs fresh operator draws"),
    (["physics.name='inpainting'", "physics.fresh_per_sample=true", "loss.self_supervised='moei+ei'"], "'moei' is 'moi' and 'ei' at once"),
])
def test_selection_rule_and_self_supervised_losses_are_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve("conditional", overrides=overrides)
