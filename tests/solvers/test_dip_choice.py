"""What the deep image prior chooses from withheld pixels (tiny images, fixed seeds): the network
(``net="auto"``) and the weight of the blend with the classical estimate (``blend="classical"``)."""

from __future__ import annotations

import pytest
import torch

from invgan.classical import biharmonic_inpaint
from invgan.physics import enforce_consistency, make_physics
from invgan.solvers.dip import DIPConfig, deep_image_prior
from invgan.solvers.dip_choice import blend_weight

torch.set_num_threads(1)


def small(**values) -> DIPConfig:
    """A DIP that fits a 24x24 image in a few dozen steps."""
    return DIPConfig.from_dict({"blend": "none", "precision": "fp32", "channels": 16, "depth": 2, "in_size": 4, "lr": 0.02,
                                "window": 10, "patience": 20, **values})


def test_auto_network_keeps_per_sample_the_candidate_with_the_least_withheld_error(synthetic):
    """net="auto": every candidate is fitted without the same withheld pixels, each sample keeps the one
    with the least error on them at its stop, and the withheld pixels come back in the result."""
    from invgan.solvers.dip import network_candidates

    x = torch.cat([synthetic(24), synthetic(24).flip(-1)])
    model = make_physics("inpainting", (1, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    cfg = small(net="auto", max_steps=40, min_steps=10, stop="convergence")
    res = deep_image_prior(y, model.physics, config=cfg, reference=x, progress=False)
    assert set(res.network_scores) == set(network_candidates(cfg, (1, 24, 24))) == {"skip", "convdecoder"}
    runs = {name: deep_image_prior(y, model.physics, config=c, reference=x, withheld=res.withheld, progress=False)
            for name, c in network_candidates(cfg, (1, 24, 24)).items()}
    for i in range(2):
        scores = {name: float(run.heldout_history[run.stopped_at[i] - 1, i]) for name, run in runs.items()}
        assert scores == pytest.approx({name: s[i] for name, s in res.network_scores.items()})
        best = min(scores, key=scores.get)
        assert res.network[i] == best
        torch.testing.assert_close(res.x_hat[i], runs[best].x_hat[i])  # the same run, replayed
        assert res.stopped_at[i] == runs[best].stopped_at[i]
        steps = runs[best].steps
        torch.testing.assert_close(res.psnr_history[:steps, i], runs[best].psnr_history[:, i])
        assert torch.isnan(res.psnr_history[steps:, i]).all()  # padded to the longer run
    assert res.time_history.shape == (res.steps,) and res.seconds >= float(res.time_history[-1])  # both fits counted
    held = res.withheld
    measured = model.physics.mask.expand_as(y).bool()
    share = float(held.sum() / measured.sum())
    assert 0 < share < 0.15 and bool((held <= measured).all())  # about AUTO_HOLDOUT of the measured pixels, only those
    torch.testing.assert_close(res.x_hat[held], y[held])  # the consistency step gives the withheld pixels back
    assert network_candidates(DIPConfig(), (3, 256, 256))["convdecoder"].in_size == 16
    assert network_candidates(DIPConfig(), (1, 128, 128))["convdecoder"].in_size == 8
    with pytest.raises(ValueError, match="auto"):
        DIPConfig(net="unet")


def test_withheld_pixels_take_every_channel_at_once(synthetic):
    """RGB inpainting: a withheld pixel is withheld in all its channels, or a network would be scored
    on predicting one channel from the others measured at the same pixel."""
    x = synthetic(24, channels=3)
    model = make_physics("inpainting", (3, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    for cfg in (small(net="auto", max_steps=3, stop="none"), small(net="convdecoder", max_steps=3, stop="none", holdout=0.2)):
        held = deep_image_prior(y, model.physics, config=cfg, progress=False).withheld
        assert held.any() and torch.equal(held, held[:, :1].expand_as(held))


# ---------------------------------------------------------------- blend="classical"

def test_blend_weight_is_the_clipped_least_squares_weight_on_the_withheld_entries():
    y = torch.tensor([[1.0, 3.0, 9.0], [1.0, 1.0, 1.0]])
    a = torch.tensor([[2.0, 2.0, 0.0], [1.0, 1.0, 1.0]])  # second row: DIP equal to the classical estimate
    c = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    held = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])  # the third entry of the first row is fitted, not scored
    # first row by hand: <a - c, y - c>_S / |a - c|_S^2 = (2*1 + 2*3) / (4 + 4) = 1.0
    assert blend_weight(a, c, y, held).tolist() == [1.0, 0.0]
    a_half = torch.tensor([[4.0, 4.0, 0.0]])
    assert blend_weight(a_half, c[:1], y[:1], held[:1]).tolist() == [0.5]  # (4 + 12) / 32
    assert blend_weight(-a_half, c[:1], y[:1], held[:1]).tolist() == [0.0]  # -0.5, clipped
    assert blend_weight(a_half / 8, c[:1], y[:1], held[:1]).tolist() == [1.0]  # 4, clipped
    # with the SURE correction delta (a classical estimate that saw y_S): (16 + delta) / 32
    assert blend_weight(a_half, c[:1], y[:1], held[:1], torch.tensor([8.0])).tolist() == [0.75]
    assert blend_weight(a, c, y, held, torch.tensor([-4.0, 0.0])).tolist() == [0.5, 0.0]  # (8 - 4) / 8


def test_biharmonic_inpainting_leaves_out_the_pixels_not_kept(synthetic):
    x = synthetic(24)
    model = make_physics("inpainting", (1, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    keep = torch.ones_like(y, dtype=torch.bool)
    keep[..., 8:16, 8:16] = False
    full, partial = biharmonic_inpaint(y, model.physics), biharmonic_inpaint(y, model.physics, keep=keep)
    measured = model.physics.mask.expand_as(y).bool()
    outside = torch.ones_like(keep)
    outside[..., 6:18, 6:18] = False
    assert torch.equal(full[measured], y[measured])  # kept pixels are copied
    assert torch.equal(partial[measured & keep], y[measured & keep])
    gap = partial[measured & ~keep] - y[measured & ~keep]
    assert float(gap.abs().max()) > 1e-3  # the left-out pixels are filled, not copied
    torch.testing.assert_close(full[outside], partial[outside], atol=0.05, rtol=0)  # and only near them does it change


def test_blend_mixes_dip_and_biharmonic_with_the_weight_the_withheld_pixels_choose(synthetic):
    """blend="classical": the DIP run without the withheld pixels, the biharmonic estimate without them,
    the weight that predicts them best; then the biharmonic estimate from every pixel and the
    consistency step."""
    x = torch.cat([synthetic(24), synthetic(24, seed=1)])
    model = make_physics("inpainting", (1, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    cfg = small(net="skip", blend="classical", max_steps=30, stop="none")
    res = deep_image_prior(y, model.physics, config=cfg, reference=x, progress=False)
    assert len(res.blend_weight) == 2 and all(0 <= w <= 1 for w in res.blend_weight)
    held = res.withheld
    assert held is not None and bool(held.flatten(1).any(1).all())
    # replayed by hand
    dip = deep_image_prior(y, model.physics, config=small(net="skip", max_steps=30, stop="none", consistency="none"),
                           withheld=held, progress=False).x_hat
    classical = biharmonic_inpaint(y, model.physics, keep=~held)
    scored = held.float()
    for i in range(2):
        grid = torch.linspace(0, 1, 201)
        errors = [float((((w * dip[i] + (1 - w) * classical[i]) - y[i]).pow(2) * scored[i]).sum()) for w in grid]
        assert res.blend_weight[i] == pytest.approx(float(grid[min(range(201), key=errors.__getitem__)]), abs=0.01)
    w = torch.tensor(res.blend_weight).view(2, 1, 1, 1)
    expected = enforce_consistency(model.physics, w * dip + (1 - w) * biharmonic_inpaint(y, model.physics), y, "project")
    torch.testing.assert_close(res.x_hat, expected.clamp(0, 1))
    assert res.consistency == "wiener" and res.config.blend == "classical"


def test_denoising_blend_mixes_dip_and_the_sure_denoiser_with_the_weight_sure_chooses_on_the_withheld_pixels(synthetic):
    """Denoising: DIP without the withheld pixels S, the denoiser of least SURE from every pixel, and the
    weight that minimises SURE on S, replayed by hand: a grid search of
    |w a + (1-w) c - y|_S^2 + 2 sigma^2 (1 - w) div_S c (DIP did not see y_S, so only c has a divergence there)."""
    from invgan.classical import choose_denoiser, denoise, mc_divergence

    sigma = 0.1
    x = torch.cat([synthetic(24), synthetic(24, seed=1)])
    model = make_physics("denoising", (1, 24, 24), noise="gaussian", noise_sigma=sigma, seed=0)
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, config=small(blend="classical", max_steps=30, stop="none"), reference=x, progress=False)
    held = res.withheld
    assert held is not None and bool(held.flatten(1).any(1).all()) and len(res.blend_weight) == 2
    assert all(name.startswith(("tv ", "nlm ")) for name in res.classical) and res.consistency == "none"
    dip = deep_image_prior(y, model.physics, config=small(max_steps=30, stop="none", consistency="none"), withheld=held,
                           progress=False).x_hat
    sig = torch.full((2,), sigma, dtype=torch.float64)
    classical, choice = choose_denoiser(y, sig)
    div = mc_divergence(lambda v: denoise(v, sig, choice), y, classical, where=held, generator=torch.Generator().manual_seed(0x5EED))
    scored = held.float()
    for i in range(2):
        grid = torch.linspace(0, 1, 201)
        sure_s = [float((((w * dip[i] + (1 - w) * classical[i]) - y[i]).pow(2) * scored[i]).sum()) + 2 * sigma**2 * (1 - w) * float(div[i])
                  for w in grid]
        assert res.blend_weight[i] == pytest.approx(float(grid[min(range(201), key=sure_s.__getitem__)]), abs=0.01)
    w = torch.tensor(res.blend_weight).view(2, 1, 1, 1)
    torch.testing.assert_close(res.x_hat, (w * dip + (1 - w) * classical).clamp(0, 1))


def test_super_resolution_blend_mixes_dip_and_bicubic_scored_without_the_withheld_low_resolution_pixels(synthetic):
    """Super-resolution: DIP without the withheld low-resolution pixels S; bicubic interpolation of the
    low-resolution image with S filled by biharmonic inpainting (it did not see y_S either); the weight that
    predicts y_S best through A; then bicubic from every pixel and the consistency step."""
    from invgan.classical import bicubic_upsample, fill_biharmonic
    from invgan.solvers.dip import resolve_consistency

    x = torch.cat([synthetic(24), synthetic(24, seed=1)])
    model = make_physics("downsampling", (1, 24, 24), factor=2, noise="none")
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, config=small(blend="classical", max_steps=30, stop="none"), reference=x, progress=False)
    held = res.withheld
    assert held is not None and held.shape == y.shape and bool(held.flatten(1).any(1).all()) and res.classical == ["bicubic"] * 2
    dip = deep_image_prior(y, model.physics, config=small(max_steps=30, stop="none", consistency="none"), withheld=held,
                           progress=False).x_hat
    filled = fill_biharmonic(y, held)
    assert torch.equal(filled[~held], y[~held]) and float((filled - y)[held].abs().max()) > 0  # y_S itself is never used
    scored, a = model.physics.A(bicubic_upsample(filled, model.physics)), model.physics.A(dip)
    for i in range(2):
        grid = torch.linspace(0, 1, 201)
        errors = [float((((w * a[i] + (1 - w) * scored[i]) - y[i]).pow(2) * held[i]).sum()) for w in grid]
        assert res.blend_weight[i] == pytest.approx(float(grid[min(range(201), key=errors.__getitem__)]), abs=0.01)
    w = torch.tensor(res.blend_weight).view(2, 1, 1, 1)
    mode = resolve_consistency("auto", model.physics)
    expected = enforce_consistency(model.physics, w * dip + (1 - w) * bicubic_upsample(y, model.physics), y, mode, sigma=torch.zeros(2))
    torch.testing.assert_close(res.x_hat, expected.clamp(0, 1))


def test_blend_auto_is_on_for_inpainting_super_resolution_and_denoising(synthetic):
    from invgan.solvers.dip_choice import resolve_blend

    x = synthetic(24)
    inpainting = make_physics("inpainting", (1, 24, 24), keep=0.5, noise="none", seed=0)
    denoising = make_physics("denoising", (1, 24, 24), noise="gaussian", noise_sigma=0.1, seed=0)
    sr = make_physics("downsampling", (1, 24, 24), factor=2, noise="none")
    blur = make_physics("blur", (1, 24, 24), noise="none")
    assert DIPConfig().blend == "auto"
    assert {resolve_blend("auto", m.physics) for m in (inpainting, denoising, sr)} == {"classical"}
    assert resolve_blend("none", inpainting.physics) == "none" and resolve_blend("auto", blur.physics) == "none"
    auto = small(blend="auto", max_steps=3, stop="none")
    for model in (inpainting, denoising, sr):
        assert len(deep_image_prior(model.measure(x), model.physics, config=auto, progress=False).blend_weight) == 1
    res = deep_image_prior(blur.measure(x), blur.physics, config=auto, progress=False)
    assert res.blend_weight == [] and res.withheld is None  # DIP alone, every pixel fitted


def test_blend_refuses_what_it_cannot_do(synthetic):
    x = synthetic(24)
    blur = make_physics("blur", (1, 24, 24), noise="none")
    with pytest.raises(ValueError, match="blend='classical' needs an inpainting, a downsampling or a denoising operator"):
        deep_image_prior(blur.measure(x), blur.physics, config=small(blend="classical", max_steps=3), progress=False)
    clean = make_physics("denoising", (1, 24, 24), noise="none")  # nothing to denoise: SURE has no noise level

    class NeverFitted(torch.nn.Module):  # the refusal comes before any fitting
        def input_shape(self):
            return (1, 24, 24)

        def forward(self, z):
            raise AssertionError("the network was run")

    with pytest.raises(ValueError, match="noise level > 0"):
        deep_image_prior(clean.measure(x), clean.physics, net=NeverFitted(), config=small(blend="classical", max_steps=3), progress=False)
    # "auto" runs DIP alone there instead
    res = deep_image_prior(clean.measure(x), clean.physics, config=small(blend="auto", max_steps=3, stop="none"), progress=False)
    assert res.blend_weight == [] and res.withheld is None
    with pytest.raises(ValueError, match="blend"):
        DIPConfig(blend="tv")


def test_a_small_image_still_withholds_a_pixel_of_each_measurement(synthetic):
    """5 % of the 13 pixels an 8x8 image keeps at 20 % is often none: one is withheld all the same (for the
    choices and for `holdout`)."""
    from invgan.solvers.dip_choice import draw_withheld

    x = torch.cat([synthetic(8, channels=3, seed=s) for s in range(4)])
    model = make_physics("inpainting", (3, 8, 8), keep=0.2, noise="none", seed=0)
    y = model.measure(x)
    held = draw_withheld(y, model.physics, small())
    measured = model.physics.mask.expand_as(y).bool()
    assert bool(held.flatten(1).any(1).all()) and bool((held <= measured).all())
    assert torch.equal(held, held[:, :1].expand_as(held))  # whole pixels
    res = deep_image_prior(y, model.physics, config=small(blend="auto", max_steps=3, stop="none"), progress=False)
    assert len(res.blend_weight) == 4
    # the same for the entries `holdout` withholds from a single run
    own = deep_image_prior(y, model.physics, config=small(holdout=0.05, max_steps=3, stop="none"), progress=False).withheld
    assert bool(own.flatten(1).any(1).all()) and bool((own <= measured).all()) and torch.equal(own, own[:, :1].expand_as(own))
