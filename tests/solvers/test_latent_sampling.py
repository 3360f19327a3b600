"""Posterior samples in z or in a Gaussianised w: the whitening checked on a linear 'mapping', whose
posterior is known in closed form, and the choice of the chains' space through latent_search."""

import pytest
import torch
from torch import nn

from invgan.nets.generators import MLPGenerator, make_generator
from invgan.nets.latent import LatentSpace
from invgan.solvers import LatentSearchConfig, latent_search
from invgan.solvers.latent_sampling import GaussianisedSpace, chain_space, chain_starts, chain_temperature, langevin_samples

F64 = torch.float64


class LinearStyle(nn.Module):
    """A 'mapping' w = M z and a 'synthesis' x = B w + c of (1, 2, 2) images, declaring the vector space w."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.M = torch.tensor([[2.0, 0.0], [1.0, 0.5]], dtype=F64)
        self.B, self.c = torch.randn(4, 2, generator=g, dtype=F64), torch.rand(4, generator=g, dtype=F64)
        self.anchor = nn.Parameter(torch.zeros(1, dtype=F64))  # the dtype and device of the draws
        self.latent_dim = 2

    def latent_spaces(self):
        return {"z": LatentSpace("z", (2,), "z"), "w": LatentSpace("w", (2,), "w = M z")}

    def to_space(self, space, z):
        return z if space == "z" else z @ self.M.T

    def from_space(self, space, value):
        return (value @ self.B.T + self.c).view(-1, 1, 2, 2)

    def forward(self, z):
        return self.from_space("w", self.to_space("w", z))


class Identity:
    @staticmethod
    def A(x):
        return x


def test_the_gaussianised_space_whitens_w_and_its_chains_sample_the_closed_form_posterior():
    """mu and L L^T are the moments of w = M z (0 and M M^T, to the draws' error); G_u(L^-1 (w - mu)) = G(z);
    MALA in u gives the posterior of x = B w + c under w ~ N(mu, L L^T), which for a linear mapping is
    the posterior of z pushed forward."""
    G, sigma = LinearStyle(), 0.4
    Gu = GaussianisedSpace(G, "w", draws=20000)
    cov = Gu.L @ Gu.L.T
    assert torch.allclose(Gu.mu, torch.zeros(2, dtype=F64), atol=0.05) and torch.allclose(cov, G.M @ G.M.T, rtol=0.05, atol=0.05)
    z = torch.randn(5, 2, dtype=F64)
    assert torch.allclose(Gu(Gu.from_z(z)), G(z))
    y = torch.tensor([[[[0.3, -0.2], [0.8, 0.1]]]], dtype=F64)
    B, r = G.B, y.flatten() - G.c - G.B @ Gu.mu
    gain = cov @ B.T @ torch.linalg.inv(B @ cov @ B.T + sigma**2 * torch.eye(4, dtype=F64))
    mean_w, cov_w = Gu.mu + gain @ r, cov - gain @ B @ cov
    mean_x, std_x = B @ mean_w + G.c, torch.diag(B @ cov_w @ B.T).sqrt()
    start = Gu.from_z(torch.linalg.solve(G.M, mean_w)[None])
    with torch.no_grad():  # the chains take their own gradients, whatever the caller's grad mode
        samples, mean, std, rate = langevin_samples(y, Identity, Gu, start, sigma, 64, steps=1200, seed=0)
    assert samples.shape == (1, 64, 1, 2, 2) and 0.3 < float(rate) < 0.9
    assert torch.allclose(mean.flatten(), mean_x, atol=0.1 * float(std_x.min()) + 0.02)
    assert torch.allclose(std.flatten(), std_x, rtol=0.15)
    Mz = G.B @ G.M  # the same posterior from z ~ N(0, I), x = B M z + c
    cov_z = torch.linalg.inv(Mz.T @ Mz / sigma**2 + torch.eye(2, dtype=F64))
    assert torch.allclose(Mz @ (cov_z @ Mz.T @ (y.flatten() - G.c)) / sigma**2 + G.c, mean_x, atol=0.02)


def test_a_space_that_is_not_a_vector_is_refused():
    G = make_generator("stylegan2", 8, (1, 16, 16), output="sigmoid", width=8).eval()
    with pytest.raises(ValueError, match="declares no vector space 'w\\+'"):
        GaussianisedSpace(G, "w+")
    with pytest.raises(ValueError, match="declares no vector space 'w'"):
        GaussianisedSpace(MLPGenerator(4, (1, 8, 8), (8,), output="sigmoid"), "w")


def test_the_chains_run_in_w_where_the_generator_declares_it():
    """sampling_space='auto' is 'w' for StyleGAN2 (the same chains as asking for it, other than z's) and
    'z' for a generator without w; asking for w there is refused before any search."""
    torch.manual_seed(0)
    G = make_generator("stylegan2", 8, (1, 16, 16), output="sigmoid", width=8).eval()
    assert chain_space(G) == "w" and chain_space(MLPGenerator(4, (1, 8, 8), (8,), output="sigmoid")) == "z"
    y = G(torch.randn(2, 8)).detach() + 0.05 * torch.randn(2, 1, 16, 16)
    from invgan.physics import make_physics

    physics = make_physics("inpainting", (1, 16, 16), keep=1.0, noise="none").physics
    kw = dict(restarts=1, max_steps=20, prior_weight=0.1, deviation="none", samples=4, sampling_steps=20, noise_level=0.05)
    auto, w, z = (latent_search(y, physics, G, **kw, sampling_space=s) for s in ("auto", "w", "z"))
    assert torch.equal(auto.mean, w.mean) and not torch.allclose(w.mean, z.mean)
    assert torch.equal(w.x_map, z.x_map) and w.samples.shape == (2, 4, 1, 16, 16)
    mlp = MLPGenerator(4, (1, 16, 16), (8,), output="sigmoid").eval()
    with pytest.raises(ValueError, match="declares no latent space 'w' to sample in"):
        latent_search(y, physics, mlp, **kw, sampling_space="w")
    with pytest.raises(ValueError, match="invalid sampling_space='x'"):
        LatentSearchConfig(sampling_space="x")
    with pytest.raises(ValueError, match="unknown sampling space"):
        chain_space(G, "x")


class SignedSquare(nn.Module):
    """x = (z^2, z) in two pixels of a (1, 1, 2) image: measuring the first pixel only, y = 1 has two
    modes, z = +1 and z = -1, which the unmeasured pixel tells apart."""

    latent_dim = 1

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        return torch.stack([z[:, 0] ** 2, z[:, 0]], dim=1).view(-1, 1, 1, 2)


def test_chains_started_at_the_restarts_ends_cover_modes_that_one_start_misses():
    """The search keeps where every restart ended (the kept one is z_hat); with sampling_start='restarts' (the
    default) chain k starts at the (k mod R)-th best restart's end. On a likelihood with two modes (z = +-1),
    MALA chains with a small noise level never cross z = 0: started at z_hat they all keep its sign,
    started at the restarts' ends they show both signs in the unmeasured pixel, and its std is about 1."""
    from deepinv.physics import Inpainting

    G = SignedSquare()
    physics = Inpainting((1, 1, 2), mask=torch.tensor([[[1.0, 0.0]]]))
    y = torch.tensor([[[[1.0, 0.0]]]])
    kw = dict(restarts=8, max_steps=300, prior_weight=0.0, deviation="none", samples=16, sampling_steps=60, noise_level=0.02, seed=0)
    one = latent_search(y, physics, G, **kw, sampling_start="map")
    assert one.restart_z.shape == (1, 8, 1)
    kept = one.restart_objectives.argmin(1)
    assert torch.equal(one.restart_z[0, kept[0]], one.z_hat[0])
    ends = one.restart_z[0, :, 0]
    assert (ends > 0.9).any() and (ends < -0.9).any(), "the restarts found both modes"
    signs_map = one.samples[0, :, 0, 0, 1].sign()
    assert signs_map.abs().min() == 1 and signs_map.unique().numel() == 1 and float(one.std[0, 0, 0, 1]) < 0.1
    both = latent_search(y, physics, G, **kw, sampling_start="restarts")
    signs = both.samples[0, :, 0, 0, 1].sign()
    assert signs.unique().numel() == 2 and float(both.std[0, 0, 0, 1]) > 0.8
    assert torch.allclose(both.samples[0, :, 0, 0, 0], torch.ones(16), atol=0.15)  # every chain still fits y
    with pytest.raises(ValueError, match="invalid sampling_start='x'"):
        LatentSearchConfig(sampling_start="x")


def test_chains_in_a_mode_that_fits_worse_weigh_less():
    """Started at the restarts' ends, chain k is weighted by exp(-its mean energy / T) (T = max(d/2, min(m, sqrt(2m) (s/sigma)^2))
    = 1 here, m = 1 informative entry, d = 1): where one mode fits y far worse than the other (for z < 0 the measured pixel 0.9 (1 - exp(-z^2))
    stays under y = 1: an energy 12.5 higher at noise 0.02), the mean, std and resampled draws keep the better
    mode's sign, while the same chains unweighted average over both."""
    from deepinv.physics import Inpainting

    class Uneven(SignedSquare):
        def forward(self, z):
            v = z[:, 0]
            return torch.stack([torch.where(v >= 0, v**2, 0.9 * (1 - torch.exp(-(v**2)))), v], dim=1).view(-1, 1, 1, 2)

    physics = Inpainting((1, 1, 2), mask=torch.tensor([[[1.0, 0.0]]]))
    y = torch.tensor([[[[1.0, 0.0]]]])
    kw = dict(restarts=8, max_steps=300, prior_weight=0.0, deviation="none", samples=16, sampling_steps=60, noise_level=0.02, seed=0)
    res = latent_search(y, physics, Uneven(), **kw, sampling_start="restarts")
    assert (res.samples[0, :, 0, 0, 1] > 0).all() and float(res.mean[0, 0, 0, 1]) > 0.9 and float(res.std[0, 0, 0, 1]) < 0.1
    starts = chain_starts(res.z_hat, 16, "restarts", res.restart_z, res.restart_objectives)
    assert (starts[0, :, 0] < 0).any()
    _, mean, std, _ = langevin_samples(y, physics, Uneven(), starts, 0.02, 16, steps=60)
    assert float(mean[0, 0, 0, 1]) < 0.9 and float(std[0, 0, 0, 1]) > 0.3
    with pytest.raises(ValueError, match="unknown sampling start"):
        chain_starts(res.z_hat, 4, "x")


def test_at_many_entries_fit_to_the_noise_a_mode_worse_by_more_than_the_noise_fluctuation_loses_its_weight():
    """With 800 measured pixels that G fits to the noise in one mode (z = +1, s = sigma), the other mode (z < 0,
    where the measured pixels stay under 0.97 of y) fits worse by about 0.03 per pixel: an energy about 150
    higher, small per entry (T = m would keep 80 % of its weight) but far beyond the noise's fluctuation
    sqrt(2m) = 40. The default's temperature (chain_temperature) keeps the good mode's sign in the mean, std
    and draws; the same chains at T = m average over both modes."""
    from deepinv.physics import Inpainting

    n = 800

    class Plateau(SignedSquare):
        def forward(self, z):
            v = z[:, 0]
            a = torch.where(v >= 0, v**2, 0.97 * (1 - torch.exp(-(v**2))))
            return torch.cat([a[:, None].expand(-1, n), v[:, None]], dim=1).view(-1, 1, 1, n + 1)

    mask = torch.ones(1, 1, n + 1)
    mask[..., -1] = 0
    physics = Inpainting((1, 1, n + 1), mask=mask)
    y = mask[None].clone()
    kw = dict(restarts=8, max_steps=300, prior_weight=0.0, deviation="none", samples=16, sampling_steps=60, noise_level=0.05, seed=0)
    res = latent_search(y, physics, Plateau(), **kw)
    starts = chain_starts(res.z_hat, 16, "restarts", res.restart_z, res.restart_objectives)
    assert (starts[0, :, 0] < 0).any() and (starts[0, :, 0] > 0).any(), "the restarts found both modes"
    assert float(chain_temperature(torch.tensor([n]), res.sigma, res.sampling_std)[0]) == pytest.approx(40.0, rel=0.01)
    assert float(res.mean[0, 0, 0, -1]) > 0.8 and float(res.std[0, 0, 0, -1]) < 1.0 and (res.samples[0, :, 0, 0, -1] > 0).mean(dtype=float) > 0.8
    _, mean, std, _ = langevin_samples(y, physics, Plateau(), starts, res.sampling_std, 16, steps=60, temperature=float(n))
    assert float(mean[0, 0, 0, -1]) < 0.0 and float(std[0, 0, 0, -1]) > 1.5
