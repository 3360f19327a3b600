"""Tests of invgan.nets.sagan: attention (shape, gate at 0, by hand), conditional batch norm per class,
the projection discriminator, spectral norm everywhere, latent spaces."""

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from invgan.nets.generators import make_generator
from invgan.nets.sagan import ConditionalBatchNorm2d, SAGANDiscriminator, SAGANGenerator, SelfAttention


def test_attention_shape_gate_at_zero_and_uniform_attention_by_hand():
    torch.manual_seed(0)
    attn = SelfAttention(16)
    x = torch.randn(2, 16, 5, 7)
    assert float(attn.gamma.detach()) == 0.0 and torch.equal(attn(x), x)  # the residual gate starts closed: identity
    parametrize.remove_parametrizations(attn.f, "weight")
    with torch.no_grad():
        attn.gamma.fill_(1.0)
        attn.f.weight.zero_()  # q = 0: every position attends uniformly
    y = attn(x)
    assert y.shape == x.shape
    v_mean = attn.h(x).mean((2, 3), keepdim=True)  # sum_j (1/N) v_j, the same at every position
    expected = x + attn.o(v_mean.expand(-1, -1, 5, 7))
    assert torch.allclose(y, expected, atol=1e-5)


def test_conditional_batch_norm_per_class_by_hand():
    cbn = ConditionalBatchNorm2d(2, n_classes=3)
    with torch.no_grad():
        cbn.gain.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        cbn.bias.weight.copy_(torch.tensor([[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]))
    x = torch.randn(4, 2, 3, 3)
    c = torch.tensor([0, 2, 1, 2])
    y = cbn(x, c)
    xhat = (x - x.mean((0, 2, 3), keepdim=True)) / (x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
    for b, k in enumerate(c.tolist()):
        gains, biases = cbn.gain.weight[k], cbn.bias.weight[k]
        for ch in range(2):
            assert torch.allclose(y[b, ch], gains[ch] * xhat[b, ch] + biases[ch], atol=1e-5)
    fresh = ConditionalBatchNorm2d(2, 3)  # gains 1, biases 0 at initialisation: plain batch norm
    assert torch.allclose(fresh(x, c), xhat, atol=1e-5)
    with pytest.raises(ValueError, match="label"):
        fresh(x)


def test_projection_discriminator_adds_the_class_embedding_term():
    torch.manual_seed(0)
    D = SAGANDiscriminator(1, 28, 4, n_classes=10)
    x = torch.rand(3, 1, 28, 28)
    a, b = torch.tensor([0, 1, 2]), torch.tensor([5, 5, 5])
    phi = F.relu(D.features(F.pad(x, (2,) * 4))).sum((2, 3))
    emb = D.embed.weight  # spectrally normalised embedding
    assert torch.allclose(D(x, a) - D(x, b), ((emb[a] - emb[b]) * phi).sum(1), atol=1e-4)
    assert SAGANDiscriminator(1, 32, 4)(torch.rand(2, 1, 32, 32)).shape == (2,)
    with pytest.raises(ValueError, match="label"):
        D(x)


def test_spectral_norm_everywhere_and_attention_placement():
    G = SAGANGenerator(8, 1, 28, 4, output="sigmoid")
    D = SAGANDiscriminator(1, 28, 4)
    for net in (G, D):
        layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
        assert any(isinstance(m, SelfAttention) for m in net.modules())
    assert G.attention == 14 and SAGANGenerator(8, 1, 28, 4, output="sigmoid", attention=0).attn is None
    with pytest.raises(ValueError, match="attention"):
        SAGANGenerator(8, 1, 28, 4, output="sigmoid", attention=9)


@pytest.mark.parametrize("n_classes", [0, 10])
def test_sagan_latent_spaces_round_trip(n_classes):
    torch.manual_seed(0)
    G = make_generator("sagan", 8, (1, 28, 28), output="sigmoid", width=4, n_classes=n_classes)
    assert isinstance(G, SAGANGenerator) and G.n_classes == n_classes
    with torch.no_grad():
        G.attn.gamma.fill_(0.5)  # attention on
        for m in G.modules():  # class embeddings away from their initial (1, 0)
            if isinstance(m, torch.nn.Embedding):
                m.weight.add_(0.3 * torch.randn_like(m.weight))
    G.eval()
    z = torch.randn(3, 8)
    cond = (torch.tensor([1, 7, 3]),) if n_classes else ()
    x = G(z, *cond)
    assert x.shape == (3, 1, 28, 28)
    for name, spec in G.latent_spaces().items():
        h = G.to_space(name, z, *cond)
        assert tuple(h.shape[1:]) == spec.shape
        assert torch.allclose(G.from_space(name, h, *cond), x, atol=1e-6), name
    if n_classes:
        assert not torch.allclose(G(z, torch.tensor([2, 2, 2])), x)  # the label matters
        assert G.sample(10, seed=0).shape == (10, 1, 28, 28)
    assert type(make_generator(**G.config)) is SAGANGenerator
