r"""Posterior samples of latent search: MALA chains on

.. math:: U(u) = \frac{\|A\,G_u(u) - y\|^2}{2 s^2} + \frac{\|u\|^2}{2},

:math:`u` with a standard normal prior: :math:`z` itself, or a Gaussianised :math:`w`
(:class:`GaussianisedSpace`, :math:`G_u(u) = G_w(\mu + L u)`, for a generator that declares a
vector space ``w`` such as StyleGAN's mapping output). The likelihood's std :math:`s` holds the
noise and what :math:`G` cannot represent (:func:`sampling_std`). The chains' images give the
posterior mean and a per-pixel standard deviation (e.g. Holden et al. 2021 for Langevin in a
generator's latent space; Menon et al. 2020, PULSE, for the Gaussianised :math:`w`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

SAMPLING_NOISE = ("residual", "heldout", "noise")  # the rules of sampling_std
SAMPLING_SPACES = ("auto", "z", "w")  # where the chains run; auto: w where the generator declares it


class GaussianisedSpace(nn.Module):
    r"""A generator run from one of its declared vector spaces (``space``, e.g. StyleGAN's ``w``),
    whitened by the Gaussian fitted to that space's points: :math:`G_u(u) = G_w(\mu + L u)`, with
    :math:`\mu` and :math:`L L^\top = \Sigma` (Cholesky, plus :math:`10^{-6}\operatorname{tr}\Sigma/d`
    on the diagonal) the mean and covariance of :math:`w = f(z)` over ``draws`` latents
    :math:`z \sim \mathcal N(0, I)` (seeded). Under :math:`u \sim \mathcal N(0, I)`, :math:`w`
    then has :math:`f`'s first two moments: a Gaussian prior for :math:`w` (PULSE's Gaussianised
    :math:`w`), and :attr:`latent_dim` lets :func:`langevin_samples` treat :math:`u` as a latent.

    >>> import torch
    >>> from invgan.nets.generators import make_generator
    >>> G = make_generator("stylegan2", 8, (1, 16, 16), output="sigmoid", width=8).eval()
    >>> Gu = GaussianisedSpace(G, "w", draws=2000)
    >>> z = torch.randn(3, 8)
    >>> torch.allclose(Gu(Gu.from_z(z)), G(z), atol=1e-4)
    True
    """

    def __init__(self, generator: nn.Module, space: str = "w", draws: int = 20000, seed: int = 0) -> None:
        super().__init__()
        spec = generator.latent_spaces().get(space)
        if spec is None or len(spec.shape) != 1:
            raise ValueError(f"{type(generator).__name__} declares no vector space {space!r} to sample in "
                             f"(its spaces: {tuple(generator.latent_spaces())}); sample in 'z'")
        self.generator, self.space = generator, space
        param = next(generator.parameters(), None)
        device, dtype = (param.device, param.dtype) if param is not None else (torch.device("cpu"), torch.float32)
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                z = torch.randn(draws, generator.latent_dim, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)
                w = torch.cat([generator.to_space(space, chunk) for chunk in z.split(4096)])
        finally:
            generator.train(was_training)
        cov = torch.cov(w.double().T)
        cov = cov + 1e-6 * cov.diagonal().mean() * torch.eye(w.shape[1], dtype=cov.dtype, device=w.device)
        self.register_buffer("mu", w.mean(0))
        self.register_buffer("L", torch.linalg.cholesky(cov).to(w.dtype))
        self.latent_dim = w.shape[1]

    def forward(self, u: Tensor) -> Tensor:
        return self.generator.from_space(self.space, self.mu + u @ self.L.T)

    def from_z(self, z: Tensor) -> Tensor:
        r"""The :math:`u` of the point that latents ``z`` map to: :math:`L^{-1}(f(z) - \mu)`."""
        with torch.no_grad():
            w = self.generator.to_space(self.space, z)
            return torch.linalg.solve_triangular(self.L, (w - self.mu).T, upper=False).T


def chain_space(generator: nn.Module, space: str = "auto") -> str:
    """The space the chains run in: ``space``, or for ``"auto"`` ``"w"`` where ``generator``
    declares it (StyleGAN's mapping output; measured in docs/latent_search.md) and ``"z"`` elsewhere."""
    if space not in SAMPLING_SPACES:
        raise ValueError(f"unknown sampling space {space!r}: expected one of {SAMPLING_SPACES}")
    if space != "auto":
        return space
    spaces = generator.latent_spaces() if hasattr(generator, "latent_spaces") else {}
    return "w" if "w" in spaces else "z"


def latent_posterior(y: Tensor, physics, generator: nn.Module, z_hat: Tensor, sigma: Tensor | float, samples: int, *,
                     space: str = "auto", steps: int = 400, seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`langevin_samples` from the search's ``z_hat``, in :math:`z` or in the Gaussianised space
    that :func:`chain_space` picks (started at the point ``z_hat`` maps to); the same returns."""
    where = chain_space(generator, space)
    if where == "z":
        return langevin_samples(y, physics, generator, z_hat, sigma, samples, steps=steps, seed=seed)
    whitened = GaussianisedSpace(generator, where, seed=seed)
    return langevin_samples(y, physics, whitened, whitened.from_z(z_hat), sigma, samples, steps=steps, seed=seed)


@torch.enable_grad()
def langevin_samples(y: Tensor, physics, generator: nn.Module, z0: Tensor, sigma: Tensor | float, samples: int, *, steps: int = 400,
                     burn_in: int | None = None, step_size: float | None = None, seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""MALA chains on :math:`U(z) = \|A G(z) - y\|^2/(2\sigma^2) + \|z\|^2/2`, ``samples`` chains
    per measurement started at :math:`\hat z` (``z0``, ``(N, d)``), ``steps`` steps each; the step
    size of each chain starts at :math:`1/(2\kappa)`, :math:`\kappa` the curvature of :math:`U`
    along its gradient (or ``step_size``), and adapts during the burn-in (default: half the steps)
    towards an acceptance rate of 0.574. ``sigma`` is one std or one per measurement. Returns ``(samples (N, K, C, H, W),
    mean, std, acceptance rate per measurement)``; the mean and std are over every post-burn-in
    state of every chain."""
    N, K = y.shape[0], samples
    burn_in = steps // 2 if burn_in is None else burn_in
    sig = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).flatten()
    sig = (sig if sig.numel() == N else sig[:1].expand(N)).repeat(K)
    y_rep = y.repeat(K, *([1] * (y.dim() - 1)))  # index k*N + i
    g = torch.Generator(device="cpu").manual_seed(seed)

    def energy(zz: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        zz = zz.detach().requires_grad_(True)
        x = generator(zz)
        ax = torch.cat([physics.A(chunk) for chunk in x.chunk(K)])
        u = (ax - y_rep).flatten(1).pow(2).sum(1) / (2 * sig**2) + 0.5 * zz.pow(2).sum(1)
        (grad,) = torch.autograd.grad(u.sum(), zz)
        return u.detach(), grad, x.detach()

    z = z0.detach().repeat(K, 1)
    u, grad, x = energy(z)
    # first step size from the curvature along the gradient: eta = 1 / (2 lambda), lambda ~ |H v| for v = grad/|grad|
    v = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
    eps = 1e-3
    _, grad_v, _ = energy(z + eps * v)
    curvature = ((grad_v - grad).norm(dim=1) / eps).clamp_min(1.0)
    eta = (0.5 / curvature) if step_size is None else torch.full((N * K,), step_size, device=y.device)
    accepted = torch.zeros(N * K, device=y.device)
    kept: list[Tensor] = []
    with torch.enable_grad():
        for t in range(steps):
            noise = torch.randn(z.shape, generator=g).to(z.device)
            prop = z - eta[:, None] * grad + torch.sqrt(2 * eta)[:, None] * noise
            u_p, grad_p, x_p = energy(prop)
            fwd = (prop - z + eta[:, None] * grad).pow(2).sum(1) / (4 * eta)
            bwd = (z - prop + eta[:, None] * grad_p).pow(2).sum(1) / (4 * eta)
            log_alpha = (u - u_p) + fwd - bwd
            accept = torch.log(torch.rand(N * K, generator=g).to(z.device)) < log_alpha
            z = torch.where(accept[:, None], prop, z)
            u, grad = torch.where(accept, u_p, u), torch.where(accept[:, None], grad_p, grad)
            x = torch.where(accept.view(-1, *([1] * (x.dim() - 1))), x_p, x)
            if t < burn_in:
                eta = eta * torch.exp(0.2 * (accept.float() - 0.574))
            else:
                accepted += accept.float()
                kept.append(x)
    shape = x.shape[1:]
    final = x.view(K, N, *shape).transpose(0, 1)
    trail = torch.stack(kept).view(len(kept), K, N, *shape).transpose(0, 2).reshape(N, -1, *shape) if kept else final
    rate = (accepted.view(K, N).mean(0) / max(1, steps - burn_in))
    return final, trail.mean(1), trail.std(1), rate


def sampling_std(sigma: Tensor, rms: Tensor, rule: str = "residual") -> Tensor:
    r"""The likelihood's std :math:`s` of the posterior samples, per measurement: :math:`s = \max(\sigma, r)`, with
    :math:`r` the rms misfit the search leaves (``rule="residual"``: :math:`\|AG(\hat z) - y\|/\sqrt m`;
    ``rule="heldout"``: the misfit on entries held out of fits to the others, which also counts what the fit to
    every entry absorbed). It holds what :math:`G` cannot represent beside the noise :math:`\sigma` (the chains
    sample :math:`G`'s range, and with :math:`s = \sigma` alone their spread ignores the representation error).
    With ``rule="noise"``: :math:`s = \sigma`."""
    return sigma if rule == "noise" else torch.maximum(sigma, rms.to(sigma))
