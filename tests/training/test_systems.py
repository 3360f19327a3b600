"""The GAN systems (unconditional, AmbientGAN, CGAN/ACGAN/InfoGAN, every generation preset): which
networks each phase updates, what the discriminator sees, exact latent resume."""

import pytest
import torch
from torch import nn

from invgan.config import PRESETS, resolve
from invgan.nets import padded_dcgan_discriminator
from invgan.nets.generators import MLPGenerator
from invgan.physics import make_physics
from invgan.training import ambient_gan, build_run, unconditional_gan
from invgan.training.trainer import Trainer


class Spy(nn.Module):
    """Records every batch the wrapped discriminator is shown."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def _nets(seed=0):
    torch.manual_seed(seed)
    return MLPGenerator(8, (1, 16, 16), (32,), output="sigmoid"), padded_dcgan_discriminator(1, 16, 8, False)


def _train(recipe, batches, steps):
    opt = {k: torch.optim.Adam(v.parameters(), 1e-3) for k, v in recipe.networks.items()}
    trainer = Trainer(recipe, opt, steps, device="cpu", progress=False, ema=0.9)
    trainer.fit(batches)
    return trainer


def test_unconditional_recipe_steps_update_both_networks_and_preview_is_fixed():
    G, D = _nets()
    recipe = unconditional_gan(G, D, "ns")
    before = {k: [p.detach().clone() for p in v.parameters()] for k, v in recipe.networks.items()}
    data = [torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(t)) for t in range(5)]
    trainer = _train(recipe, data, 5)
    for k, net in recipe.networks.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    grid = recipe.preview(trainer.eval_networks(), None)
    assert grid.shape == (64, 1, 16, 16) and torch.equal(grid, recipe.preview(trainer.eval_networks(), None))


def test_discriminator_phase_puts_no_gradient_into_the_generator():
    G, D = _nets()
    recipe = unconditional_gan(G, D, "hinge")
    step = recipe(torch.rand(4, 1, 16, 16), 0)
    loss, logs = recipe.discriminator_loss(step)
    loss.backward()
    assert all(p.grad is None for p in G.parameters()) and any(p.grad is not None for p in D.parameters())
    assert set(logs) == {"real_logit", "fake_logit"}


def test_latent_stream_resumes_exactly():
    G, D = _nets()
    recipe = unconditional_gan(G, D)
    state = {k: v.clone() for k, v in recipe.rng_state().items()}
    a = recipe.inputs.latents(3, torch.device("cpu"))
    recipe.set_rng_state(state)
    assert torch.equal(a, recipe.inputs.latents(3, torch.device("cpu")))


def test_ambientgan_discriminator_never_sees_a_clean_image():
    G, D = _nets()
    spy = Spy(D)
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True, noise="none")
    recipe = ambient_gan(G, spy, model, "ns")
    # clean images with no zero pixel: a masked image is recognisable by its ~50 % exact zeros
    data = [0.1 + 0.9 * torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(t)) for t in range(4)]
    _train(recipe, data, 4)
    assert len(spy.seen) >= 8
    for x in spy.seen:
        zeros = (x == 0).flatten(1).float().mean(1)
        assert ((zeros > 0.3) & (zeros < 0.7)).all()
    # each sample got its own mask, real and fake alike
    masks = [(x != 0).flatten(1) for x in spy.seen]
    assert all((m[0] != m[1]).any() for m in masks)


@pytest.mark.parametrize("name, kwargs", [("blur", {"sigma": 1.0}), ("cs", {"m": 30}), ("inpainting", {"keep": 0.5})])
def test_ambientgan_discriminator_sees_only_what_the_operator_measured(name, kwargs):
    G, D = _nets()
    model = make_physics(name, (1, 16, 16), fresh_per_sample=True, noise="gaussian", noise_sigma=0.05, **kwargs)
    view = "adjoint" if name == "cs" else "measurement"  # CS: D sees A^T y through each sample's matrix
    measured, measure = [], model.measure

    def recording_measure(x):
        y = measure(x)
        measured.append(model.physics.A_adjoint(y).detach().clone() if view == "adjoint" else y.detach().clone())
        return y

    model.measure = recording_measure
    spy = Spy(D)
    data = [torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(t)) for t in range(3)]
    _train(ambient_gan(G, spy, model, "ns", adjoint=view == "adjoint"), data, 3)
    assert spy.seen and all(any(torch.equal(x, y) for y in measured) for x in spy.seen)


def test_ambientgan_trains_from_given_measurements_and_refuses_an_adjoint_view_of_them():
    G, D = _nets()
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True, noise="none")
    y = [{"y": model.measure(torch.rand(8, 1, 16, 16)).detach()} for _ in range(2)]
    spy = Spy(D)
    _train(ambient_gan(G, spy, model, "ns"), y, 2)
    assert torch.equal(spy.seen[0], y[0]["y"])  # real measurements reach D as given
    cs = make_physics("cs", (1, 16, 16), m=30, fresh_per_sample=True)
    with pytest.raises(ValueError, match="operator draw"):
        _train(ambient_gan(G, D, cs, adjoint=True), [{"y": torch.rand(8, 30)}], 1)


# the *-folder64 presets are these on a folder of your images (tests/system/test_own_data.py trains each)
UNCONDITIONAL = sorted(n for n, p in PRESETS.items() if p.kind == "unconditional" and not p.values.get("data", {}).get("resolution"))


TINY = ["train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.progress=false", "classifier_metrics=false",
        "data.batch_size=8", "model.width=8", "model.d_width=8", "data.dataset=mnist"]


def _snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def _changed(net, before):
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


@pytest.mark.parametrize("name", UNCONDITIONAL)
def test_every_generation_preset_takes_finite_steps_on_the_right_networks(name):
    torch.manual_seed(0)
    cfg = resolve("unconditional", None, name, TINY, None)
    run = build_run(cfg, out_dir=None, progress=False)
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    n_critic = cfg.optim.n_critic
    for step in range(2):
        g0, d0 = _snapshot(G), _snapshot(D)
        logs = tr.train_step(next(iter(run.stream.loader(step, step + 1))))
        assert logs and all(torch.isfinite(v).all() for v in logs.values()), logs
        assert _changed(D, d0)
        assert _changed(G, g0) == (step % n_critic == 0), f"step {step}: G updated at the wrong steps"
    if cfg.gan.clip is not None:
        assert max(p.abs().max().item() for p in D.parameters()) <= cfg.gan.clip + 1e-9


def test_conditional_gan_without_a_discriminator_trains_the_reconstructor_alone():
    from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
    from invgan.training import conditional_gan

    torch.manual_seed(0)
    measurement = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none")
    R = ConditionalReconstructor(1, width=4, depth=2)
    recipe = conditional_gan(R, measurement, None)
    assert set(recipe.networks) == {"G"}
    before = [p.detach().clone() for p in R.parameters()]
    _train(recipe, [torch.rand(2, 1, 16, 16) for _ in range(2)], 2)
    assert any(not torch.equal(a, b) for a, b in zip(before, R.parameters()))
    D = PatchGANDiscriminator(1, width=4, n_layers=1)  # "supervised": D judges images alone
    with_d = conditional_gan(ConditionalReconstructor(1, width=4, depth=2), measurement, D)
    assert set(with_d.networks) == {"G", "D"}
    step = with_d(torch.rand(2, 1, 16, 16), 0)
    loss, _ = with_d.discriminator_loss(step)
    loss.backward()
    assert all(p.grad is None for p in with_d.networks["G"].parameters()) and any(p.grad is not None for p in D.parameters())


def test_posterior_input_draws_p_samples_and_the_terms_read_their_mean_and_spread():
    from invgan.losses import SampleMeanLoss, StdReward
    from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
    from invgan.training import conditional_gan

    torch.manual_seed(0)
    measurement = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", fresh_per_sample=True)
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=1)
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)  # z matters, as after training
    recipe = conditional_gan(R, measurement, PatchGANDiscriminator(1, width=4, n_layers=1), reconstruction="l1",
                             posterior_samples=3, std_weight=1.0)
    assert [(t.name, type(t.fn)) for t in recipe.g_losses] == [("rec", SampleMeanLoss), ("std", StdReward)]
    x = torch.rand(2, 1, 16, 16)
    s = recipe(x, 0)
    samples = s.extras["samples"]
    assert samples.shape == (2, 3, 1, 16, 16) and s.x_hat.shape == (6, 1, 16, 16) and s.y.shape[0] == 2
    torch.testing.assert_close(s.x_hat.view(2, 3, 1, 16, 16), samples)
    assert torch.equal(s.x, x.repeat_interleave(3, 0)) and s.real[0].shape == s.fake[0].shape == (6, 1, 16, 16)
    assert not torch.allclose(samples[:, 0], samples[:, 1])  # each draw its own z
    loss, logs = recipe.generator_loss(s)
    assert set(logs) == {"rec", "std", "adv"} and float(logs["std"].detach()) < 0
    with pytest.raises(ValueError, match="needs adversarial='supervised' or 'pair' and mc_weight=0"):
        conditional_gan(R, measurement, PatchGANDiscriminator(1, width=4, n_layers=1), adversarial="measurement", posterior_samples=2)
    with pytest.raises(ValueError, match="std_weight=1.0 needs posterior_samples >= 2"):
        conditional_gan(R, measurement, None, std_weight=1.0)


def test_the_unseen_std_reward_measures_each_draw_through_its_own_measurement_s_operator():
    from invgan.losses.posterior import std_reward_coefficient
    from invgan.nets import ConditionalReconstructor
    from invgan.training import conditional_gan

    torch.manual_seed(0)
    measurement = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", fresh_per_sample=True)
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=1)
    torch.nn.init.normal_(R.unet.out.weight, std=0.1)
    recipe = conditional_gan(R, measurement, None, reconstruction="l1", posterior_samples=2, std_weight=1.0, std_unseen=True, std_pool=2)
    s = recipe(torch.rand(3, 1, 16, 16), 0)
    samples = s.extras["samples"]
    masks = s.physics.mask.expand_as(samples[:, 0])  # (3, 1, 16, 16): one fresh mask per measurement
    assert not torch.equal(masks[0], masks[1])
    boxed = torch.nn.functional.avg_pool2d(samples.flatten(0, 1), 2, stride=1).unflatten(0, (3, 2))
    measured = samples * masks.unsqueeze(1)  # A of inpainting: each draw masked as its own y
    expected = -std_reward_coefficient(2) * (boxed.std(1).mean() - measured.std(1).mean())
    _, logs = recipe.generator_loss(s)
    torch.testing.assert_close(logs["std"].detach(), expected.detach())


def test_a_conditional_d_pairs_every_posterior_draw_with_its_own_measurement():
    from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
    from invgan.training import conditional_gan

    torch.manual_seed(0)
    measurement = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", fresh_per_sample=True)
    R = ConditionalReconstructor(1, width=4, depth=2, latent_channels=1)
    recipe = conditional_gan(R, measurement, PatchGANDiscriminator(2, width=4, n_layers=1), adversarial="pair", reconstruction="l1",
                             posterior_samples=3, std_weight=1.0)
    x = torch.rand(2, 1, 16, 16)
    s = recipe(x, 0)
    (real,), (fake,) = s.real, s.fake
    assert real.shape == fake.shape == (6, 2, 16, 16)
    lifted = s.physics.A_adjoint(s.y)  # the adjoint lift of each of the 2 measurements
    for b in range(2):
        for p in range(3):
            row = 3 * b + p
            torch.testing.assert_close(real[row, :1], lifted[b]) and torch.testing.assert_close(fake[row, :1], lifted[b])
            torch.testing.assert_close(real[row, 1:], x[b])
            torch.testing.assert_close(fake[row, 1:], s.extras["samples"][b, p])
    loss, logs = recipe.generator_loss(s)
    assert set(logs) == {"rec", "std", "adv"} and torch.isfinite(loss)


def _latent_spread(posterior_samples: int, std_weight: float, reconstruction: str) -> float:
    """Mean per-pixel std over 8 draws of z on held-out crops, after 40 tiny training steps."""
    from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
    from invgan.training import conditional_gan

    torch.manual_seed(0)
    measurement = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none", fresh_per_sample=True)
    R = ConditionalReconstructor(1, width=8, depth=2, latent_channels=2)
    D = PatchGANDiscriminator(1, width=4, n_layers=1, spectral_norm=True)
    recipe = conditional_gan(R, measurement, D, reconstruction=reconstruction, posterior_samples=posterior_samples, std_weight=std_weight)
    g = torch.Generator().manual_seed(1)
    _train(recipe, [torch.rand(4, 1, 16, 16, generator=g) for _ in range(40)], 40)
    y = measurement.measure(torch.rand(4, 1, 16, 16, generator=g))
    return float(R.eval().sample(y, measurement.physics, 8).std.mean())


def test_after_training_with_the_std_reward_different_z_give_different_outputs():
    rcgan = _latent_spread(2, 1.0, "l1")
    plain = _latent_spread(1, 0.0, "mse")  # the cGAN with latent channels: z is nearly ignored
    assert rcgan > 0.02 and rcgan > 3 * plain, (rcgan, plain)
