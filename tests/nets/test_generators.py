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
