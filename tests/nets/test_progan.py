"""Tests of invgan.nets.progan: pixel norm by hand, the growth schedule, continuity of the fade-ins,
the fade-in blend by hand, latent spaces at every stage."""

import math

import pytest
import torch
import torch.nn.functional as F

from invgan.nets.generators import make_generator
from invgan.nets.progan import GrowthSchedule, ProGANDiscriminator, ProGANGenerator, growth, pixel_norm


def test_pixel_norm_by_hand():
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    y = pixel_norm(x)
    assert torch.allclose(y[0, :, 0, 0], torch.tensor([3.0, 4.0]) / math.sqrt(12.5))  # mean of squares (9 + 16) / 2
    assert torch.allclose(pixel_norm(torch.randn(3, 5, 4, 4)).pow(2).mean(1), torch.ones(3, 4, 4), atol=1e-5)


def test_growth_schedule():
    P = 3
    assert [growth(t, P, 4)[0] for t in range(0, 25, 3)] == [0, 1, 1, 2, 2, 3, 3, 3, 3]
    assert [growth(t, P, 4)[1] for t in range(3, 9)] == pytest.approx([0, 1 / 3, 2 / 3, 1, 1, 1])
    with pytest.raises(ValueError, match="phase_steps"):
        ProGANGenerator(8, 1, 16, 4, output="sigmoid", phase_steps=0)


def nets(size=32):
    torch.manual_seed(0)
    return ProGANGenerator(8, 1, size, 4, output="none", phase_steps=2), ProGANDiscriminator(1, size, 4, phase_steps=2)


def test_a_fade_in_starts_where_the_previous_stage_ended():
    G, D = nets()
    z, x = torch.randn(4, 8), torch.rand(4, 1, 32, 32)
    for stage in (1, 2, 3):
        start = 2 + 4 * (stage - 1)  # first step of the fade-in of ``stage``
        GrowthSchedule(G, D)(start - 1)
        assert G.stage_alpha == (stage - 1, 1.0)
        before_g, before_d = G(z), D(x)
        GrowthSchedule(G, D)(start)
        assert G.stage_alpha == D.stage_alpha == (stage, 0.0)
        assert torch.allclose(G(z), before_g, atol=1e-5) and torch.allclose(D(x), before_d, atol=1e-5)
    GrowthSchedule(G, D)(0)
    img = G(z)
    assert torch.equal(img, img[:, :, ::8, ::8].repeat_interleave(8, 2).repeat_interleave(8, 3))  # a 4x4 image, upsampled


def test_fade_in_blend_by_hand():
    G, D = nets()
    G.set_progress(3)  # stage 1, alpha 0.5
    assert G.stage_alpha == (1, 0.5)
    z = torch.randn(2, 8)
    h0 = G.to_space("layer:1", z)  # the output of the 4x4 block
    old = F.interpolate(G.to_rgb[0](h0), scale_factor=2, mode="nearest")
    new = G.to_rgb[1](G._block(1, h0))
    expected = F.interpolate(0.5 * old + 0.5 * new, scale_factor=4, mode="nearest")
    assert torch.allclose(G(z), expected, atol=1e-6)


@pytest.mark.parametrize("step", [0, 3, 5, 7, 30])
def test_latent_spaces_round_trip_at_every_stage(step):
    G, D = nets(28)
    G.set_progress(step)
    stage, _ = G.stage_alpha
    z = torch.randn(3, 8)
    x = G(z)
    assert x.shape == (3, 1, 28, 28) and D(x).shape == (3,)
    spaces = G.latent_spaces()
    assert list(spaces) == ["z", *[f"layer:{l}" for l in range(stage + 1)]]
    for name, spec in spaces.items():
        h = G.to_space(name, z)
        assert tuple(h.shape[1:]) == spec.shape
        assert torch.allclose(G.from_space(name, h), x, atol=1e-6), name


def test_registration_and_progress_in_the_state_dict():
    G = make_generator("progan", 8, (1, 28, 28), output="sigmoid", width=4, phase_steps=5)
    assert isinstance(G, ProGANGenerator) and "progress" in G.state_dict() and G.progress.dtype == torch.long
    G.set_progress(12)
    H = make_generator(**G.config)
    H.load_state_dict(G.state_dict())
    assert H.stage_alpha == G.stage_alpha == growth(12, 5, 4)
