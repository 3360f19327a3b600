"""Tests of invgan.nets.stylegan: hand-checked layers, w_avg, mixing, truncation, latent spaces, bf16."""

import math

import pytest
import torch
import torch.nn.functional as F

from invgan.nets.generators import make_generator
from invgan.nets.stylegan import (EqualConv2d, EqualLinear, MinibatchStd, ModulatedConv2d, StyleGAN2Discriminator,
                                  StyleGAN2Generator)


def tiny(size=16, **kw):
    torch.manual_seed(0)
    return StyleGAN2Generator(8, 1, size, 4, output="sigmoid", mapping_layers=2, **kw)


def test_equalised_lr_scaling_by_hand():
    lin = EqualLinear(4, 3, bias_init=1.0, lr_mul=0.01)
    assert lin.weight.std() > 20  # stored as N(0, 1/lr_mul^2)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    x = torch.ones(2, 4, requires_grad=True)
    y = lin(x)
    # W = lr_mul / sqrt(in) * 1 = 0.005 each; 4 inputs -> 0.02; bias stored as 1/0.01 = 100, used times 0.01 -> 1
    assert torch.allclose(y, torch.full((2, 3), 1.02))
    y.sum().backward()
    assert torch.allclose(lin.weight.grad, torch.full((3, 4), 2 * 0.005))  # d y / d W_hat = scale * x, summed over 2 samples
    conv = EqualConv2d(2, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    out = conv(torch.ones(1, 2, 5, 5))
    assert math.isclose(float(out[0, 0, 2, 2].detach()), 18 / math.sqrt(18), rel_tol=1e-6)  # interior: 2*3*3 taps / sqrt(fan-in 18)


@pytest.mark.parametrize("demodulate,up", [(True, False), (False, False), (True, True)])
def test_modulated_conv_equals_a_direct_per_sample_convolution(demodulate, up):
    torch.manual_seed(0)
    conv = ModulatedConv2d(3, 5, 3, style_dim=6, demodulate=demodulate, up=up)
    x, w = torch.randn(4, 3, 6, 6), torch.randn(4, 6)
    out = conv(x, w)
    s = conv.modulation(w)
    for b in range(4):
        wb = conv.weight / math.sqrt(3 * 9) * s[b][None, :, None, None]  # W'_{oi..} = c W s_i
        if demodulate:
            wb = wb / (wb.pow(2).sum((1, 2, 3), keepdim=True) + 1e-8).sqrt()
        xb = F.interpolate(x[b : b + 1], scale_factor=2, mode="bilinear", align_corners=False) if up else x[b : b + 1]
        assert torch.allclose(out[b : b + 1], F.conv2d(xb, wb, padding=1), atol=1e-5)
    if demodulate and not up:  # unit-variance outputs for unit-variance inputs (what demodulation is for)
        big = conv(torch.randn(64, 3, 16, 16), torch.randn(64, 6))
        assert 0.7 < float(big.detach().std()) < 1.3


def test_w_avg_is_a_running_mean_in_training_and_a_buffer():
    G = tiny()
    assert "w_avg" in G.state_dict() and torch.equal(G.w_avg, torch.zeros(8))
    z = torch.randn(5, 8)
    G.eval()
    w = G.to_space("w", z)
    assert torch.equal(G.w_avg, torch.zeros(8))  # eval: no update
    G.train()
    G.mapping_forward(z)
    assert torch.allclose(G.w_avg, (1 - 0.995) * w.mean(0), atol=1e-7)
    G.mapping_forward(z)
    assert torch.allclose(G.w_avg, (1 - 0.995**2) * w.mean(0), atol=1e-7)  # a + 0.005 (m - a)


def test_style_mixing_takes_the_later_styles_from_a_second_latent():
    G = tiny(mixing=1.0)
    G.train()
    z = torch.randn(3, 8)
    torch.manual_seed(1)
    wplus = G._mixed(z)
    with torch.no_grad():
        G.eval()
        w1 = G.to_space("w", z)
    first = torch.isclose(wplus, w1[:, None], atol=1e-6).all(2).all(0)  # per style: equals w(z)?
    cut = int(first.float().argmin())
    assert 1 <= cut < G.n_styles and first[:cut].all() and not first[cut:].any()
    assert torch.allclose(wplus[:, cut:], wplus[:, -1:].expand_as(wplus[:, cut:]))  # one second latent for the fine styles
    G = tiny(mixing=0.0).train()
    wplus = G._mixed(z)
    assert torch.allclose(wplus, wplus[:, :1].expand_as(wplus))


def test_truncation_pulls_towards_w_avg_and_sampling_is_deterministic():
    G = tiny()
    G.train()
    G.mapping_forward(torch.randn(64, 8))  # a non-zero w_avg
    G.eval()
    z = torch.randn(3, 8)
    x0 = G(z, truncation=0.0)
    assert torch.allclose(x0, x0[:1].expand_as(x0))  # psi = 0: every sample is the image of w_avg
    assert torch.allclose(G(z, truncation=0.5), G.from_space("w", G.truncate(G.to_space("w", z), 0.5)))
    assert torch.equal(G.sample(4, seed=3), G.sample(4, seed=3))
    assert not torch.equal(G.sample(4, seed=3, truncation=0.5), G.sample(4, seed=3))


@pytest.mark.parametrize("size", [16, 28, 32])
def test_every_latent_space_round_trips(size):
    G = tiny(size).eval()
    torch.manual_seed(2)
    with torch.no_grad():  # the fixed noise maps get some strength, so that they matter
        for block in G.layers:
            for layer in block:
                layer.noise_strength.fill_(0.5)
    z = torch.randn(3, 8)
    x = G(z)
    assert x.shape == (3, 1, size, size)
    spaces = G.latent_spaces()
    assert {"z", "w", "w+", "noise", "layer:0"} <= set(spaces) and len([s for s in spaces if s.startswith("layer:")]) == len(G.layers)
    wplus = G.to_space("w+", z)
    for name, spec in spaces.items():
        h = G.to_space(name, z)
        inputs = {"wplus": wplus} if "wplus" in spec.needs and "wplus" not in spec.optional else {}
        if name != "noise":
            assert tuple(h.shape[1:]) == spec.shape
        assert torch.allclose(G.from_space(name, h, **inputs), x, atol=1e-6), name
    other = [torch.randn_like(m) for m in G.to_space("noise", z)]
    assert not torch.allclose(G.from_space("w+", wplus, noise=other), x)  # the noise maps are an input
    with pytest.raises(ValueError, match="wplus"):
        G.from_space("layer:1", G.to_space("layer:1", z))
    with pytest.raises(ValueError, match="no latent space"):
        G.to_space("layer:99", z)


def test_training_mode_draws_fresh_noise_and_bf16_runs():
    G = tiny(28)
    with torch.no_grad():
        G.layers[0][0].noise_strength.fill_(1.0)
    G.train()
    z = torch.randn(2, 8)
    assert not torch.equal(G(z), G(z))
    D = StyleGAN2Discriminator(1, 28, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = D(G(z))
    assert logits.shape == (2,) and torch.isfinite(logits.float()).all()
    G16 = tiny(16).to(torch.bfloat16).eval()
    assert torch.isfinite(G16(torch.randn(2, 8, dtype=torch.bfloat16)).float()).all()


def test_minibatch_stddev_by_hand():
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 2, 3, 3).clone()  # sample b is the constant b
    out = MinibatchStd(4)(x)
    assert out.shape == (4, 3, 3, 3) and torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2], torch.full((4, 3, 3), math.sqrt(1.25 + 1e-8)))  # biased var of 0,1,2,3 = 1.25
    out = MinibatchStd(4)(torch.arange(6.0).view(6, 1, 1, 1))  # group 3 (divides 6): samples (0, 2, 4) and (1, 3, 5)
    assert torch.allclose(out[:, 1].flatten(), torch.full((6,), math.sqrt(8 / 3 + 1e-8)))


def test_discriminator_shapes_and_registration():
    D = StyleGAN2Discriminator(3, 32, 4)
    assert D(torch.rand(5, 3, 32, 32)).shape == (5,)
    with pytest.raises(ValueError, match="img_size"):
        StyleGAN2Discriminator(1, 24, 4)
    with pytest.raises(ValueError, match="32x32"):
        D(torch.rand(2, 3, 16, 16))
    G = make_generator("stylegan2", 8, (1, 28, 28), output="sigmoid", width=4, mapping_layers=2)
    assert isinstance(G, StyleGAN2Generator) and G.out_shape == (1, 28, 28)
    assert type(make_generator(**G.config)) is StyleGAN2Generator
    with pytest.raises(ValueError, match="img_size"):
        make_generator("stylegan2", 8, (1, 24, 24), output="sigmoid")


@pytest.mark.parametrize("size", [64, 256])
def test_larger_rgb_sizes(size):
    torch.manual_seed(0)
    G = StyleGAN2Generator(8, 3, size, 2, output="sigmoid", mapping_layers=1, max_width=16).eval()
    x = G(torch.randn(1, 8))
    assert x.shape == (1, 3, size, size) and G.n_styles == 2 * (int(math.log2(size)) - 1)
    assert StyleGAN2Discriminator(3, size, 2, max_width=16)(x).shape == (1,)


def test_mix_takes_coarse_styles_from_one_latent_and_fine_from_the_other():
    G = tiny(16).eval()
    a, b = torch.randn(2, 8), torch.randn(2, 8)
    assert torch.allclose(G.mix(a, b, G.n_styles), G(a), atol=1e-6)
    assert torch.allclose(G.mix(a, b, 0), G(b), atol=1e-6)
    wa, wb = G.to_space("w", a), G.to_space("w", b)
    wplus = torch.stack([wa] * 2 + [wb] * (G.n_styles - 2), 1)
    assert torch.allclose(G.mix(a, b, 2), G.from_space("w+", wplus), atol=1e-6)
    with pytest.raises(ValueError, match="cut"):
        G.mix(a, b, G.n_styles + 1)
