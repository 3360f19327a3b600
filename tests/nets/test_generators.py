import pytest
import torch

from invgan.nets.generators import DCGANGenerator, MLPGenerator, make_generator


@pytest.mark.parametrize("size,channels", [(16, 1), (28, 1), (32, 3), (64, 2)])
def test_dcgan_generator_shapes(size, channels):
    G = DCGANGenerator(latent_dim=8, out_channels=channels, img_size=size, width=4, output="sigmoid")
    x = G(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size) and G.out_shape == (channels, size, size)


@pytest.mark.parametrize("output,lo,hi", [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_output_range_is_explicit_and_respected(output, lo, hi):
    torch.manual_seed(0)
    for G in (DCGANGenerator(8, 1, 16, 4, output=output), MLPGenerator(8, (1, 8, 8), (16,), output=output)):
        x = G(10 * torch.randn(16, 8))
        assert G.output_range == (lo, hi)
        assert x.min() >= lo and x.max() <= hi
        assert x.min() < (lo + hi) / 2 < x.max()  # spans both halves: not silently squashed into [0, 1]
    with pytest.raises(TypeError):
        DCGANGenerator(8, 1, 16, 4)  # no default: the range must be chosen
    with pytest.raises(ValueError, match="output"):
        DCGANGenerator(8, 1, 16, 4, output="relu")


def test_bad_sizes_and_latents_are_rejected():
    with pytest.raises(ValueError, match="img_size"):
        DCGANGenerator(8, 1, 24, output="sigmoid")
    with pytest.raises(ValueError, match="img_size"):
        DCGANGenerator(8, 1, 8, output="sigmoid")
    G = MLPGenerator(8, (1, 8, 8), (16,), output="sigmoid")
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        G(torch.randn(2, 9))
    assert G(torch.randn(2, 8, 1, 1)).shape == (2, 1, 8, 8)  # deepinv-style latents accepted


def test_make_generator_round_trip_through_config():
    G = make_generator("dcgan", 8, (1, 28, 28), output="sigmoid", width=4)
    H = make_generator(**G.config)
    H.load_state_dict(G.state_dict())
    z = torch.randn(2, 8)
    G.eval(), H.eval()
    assert torch.equal(G(z), H(z))
    x = G.sample(4, seed=1)
    assert torch.equal(x, G.sample(4, seed=1)) and G.training is False


@pytest.mark.parametrize("size", [28, 32])
def test_dcgan_latent_spaces_round_trip(size):
    torch.manual_seed(0)
    G = make_generator("dcgan", 8, (1, size, size), output="sigmoid", width=4).eval()
    spaces = G.latent_spaces()
    n_up = 2 if size == 28 else 3
    assert list(spaces) == ["z", *[f"layer:{l}" for l in range(n_up + 1)]]
    z = torch.randn(3, 8)
    x = G(z)
    for name, spec in spaces.items():
        h = G.to_space(name, z)
        assert tuple(h.shape[1:]) == spec.shape
        assert torch.equal(G.from_space(name, h), x), name
    h = G.to_space("layer:1", z)
    assert not torch.equal(G.from_space("layer:1", h + 0.1), x)  # the features are an input
    with pytest.raises(ValueError, match="no latent space 'w'"):
        G.to_space("w", z)
    with pytest.raises(ValueError, match="shape"):
        G.from_space("layer:1", torch.randn(3, 5, 2, 2))
    assert list(MLPGenerator(8, (1, 8, 8), (16,), output="sigmoid").latent_spaces()) == ["z"]
