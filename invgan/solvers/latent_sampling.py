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
SAMPLING_STARTS = ("map", "restarts")  # where the chains start: the search's z_hat, or the restarts' ends (weighted)


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


def chain_starts(z_hat: Tensor, samples: int, how: str = "map", restart_z: Tensor | None = None,
                 restart_objectives: Tensor | None = None) -> Tensor:
    r"""Where each of ``samples`` chains per measurement starts, ``(N, K, d)``: at ``z_hat`` (``how="map"``), or
    (``"restarts"``) chain :math:`k` at the end of the :math:`(k \bmod R)`-th best of the ``R`` restarts
    (``restart_z`` ``(N, R, d)``, ordered by ``restart_objectives`` ``(N, R)``), so that chains that do not
    cross between modes still cover every mode the restarts found.

    >>> import torch
    >>> ends = torch.tensor([[[0.0], [1.0], [2.0]]])
    >>> chain_starts(ends[:, 0], 4, "restarts", ends, torch.tensor([[3.0, 1.0, 2.0]]))[0, :, 0].tolist()
    [1.0, 2.0, 0.0, 1.0]
    """
    if how not in SAMPLING_STARTS:
        raise ValueError(f"unknown sampling start {how!r}: expected one of {SAMPLING_STARTS}")
    if how == "map" or restart_z is None:
        return z_hat.unsqueeze(1).expand(-1, samples, -1)
    order = restart_objectives.argsort(dim=1) if restart_objectives is not None else torch.arange(restart_z.shape[1]).expand(restart_z.shape[:2])
    pick = order[:, torch.arange(samples) % restart_z.shape[1]]  # (N, K)
    return torch.gather(restart_z, 1, pick.to(restart_z.device)[..., None].expand(-1, -1, restart_z.shape[2]))


def latent_posterior(y: Tensor, physics, generator: nn.Module, z_hat: Tensor, sigma: Tensor | float, samples: int, *,
                     space: str = "auto", steps: int = 400, seed: int = 0,
                     temperature: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`langevin_samples` from the search's ``z_hat`` (``(N, d)``, or one start per chain ``(N, K, d)``, see
    :func:`chain_starts`), in :math:`z` or in the Gaussianised space that :func:`chain_space` picks (started at
    the points the starts map to); ``temperature`` weights the chains (:func:`langevin_samples`); the same returns."""
    where = chain_space(generator, space)
    if where == "z":
        return langevin_samples(y, physics, generator, z_hat, sigma, samples, steps=steps, seed=seed, temperature=temperature)
    whitened = GaussianisedSpace(generator, where, seed=seed)
    start = whitened.from_z(z_hat.flatten(0, -2)).view(*z_hat.shape[:-1], -1)
    return langevin_samples(y, physics, whitened, start, sigma, samples, steps=steps, seed=seed, temperature=temperature)


@torch.enable_grad()
def langevin_samples(y: Tensor, physics, generator: nn.Module, z0: Tensor, sigma: Tensor | float, samples: int, *, steps: int = 400,
                     burn_in: int | None = None, step_size: float | None = None, seed: int = 0,
                     temperature: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""MALA chains on :math:`U(z) = \|A G(z) - y\|^2/(2\sigma^2) + \|z\|^2/2`, ``samples`` chains
    per measurement started at :math:`\hat z` (``z0``, ``(N, d)``; or chain :math:`k` at ``z0[:, k]``, ``(N, K, d)``), ``steps`` steps each; the step
    size of each chain starts at :math:`1/(2\kappa)`, :math:`\kappa` the curvature of :math:`U`
    along its gradient (or ``step_size``), and adapts during the burn-in (default: half the steps)
    towards an acceptance rate of 0.574. ``sigma`` is one std or one per measurement. Returns ``(samples (N, K, C, H, W),
    mean, std, acceptance rate per measurement)``; the mean and std are over every post-burn-in
    state of every chain.

    With a ``temperature`` :math:`T` (one, or one per measurement), for chains that start in different
    modes and do not cross between them, the chains are weighted (:func:`mix_chains`): the mean and std are
    those of the weighted mixture of the chains, and the returned samples are the chains' last states drawn
    with replacement by the weights."""
    chains = mala_chains(y, physics, generator, z0, sigma, samples, steps=steps, burn_in=burn_in, step_size=step_size, seed=seed)
    if temperature is None or chains.trail is None:
        trail = chains.final if chains.trail is None else chains.trail.flatten(1, 2)
        return chains.final, trail.mean(1), trail.std(1), chains.rate
    return (*mix_chains(chains, temperature), chains.rate)


class Chains:
    """What :func:`mala_chains` ran: ``final`` (N, K, C, H, W), the chains' last states; ``trail``
    (N, K, T, C, H, W), chain k's T post-burn-in states (None without any); ``energy`` (N, K), each chain's
    mean energy after the burn-in; ``rate`` (N,), the acceptance rate; ``generator``, the random stream that
    ran them (it draws the resampled samples of :func:`mix_chains`)."""

    def __init__(self, final: Tensor, trail: Tensor | None, energy: Tensor | None, rate: Tensor, generator: torch.Generator) -> None:
        self.final, self.trail, self.energy, self.rate, self.generator = final, trail, energy, rate, generator


@torch.enable_grad()
def mala_chains(y: Tensor, physics, generator: nn.Module, z0: Tensor, sigma: Tensor | float, samples: int, *, steps: int = 400,
                burn_in: int | None = None, step_size: float | None = None, seed: int = 0) -> Chains:
    """The MALA chains of :func:`langevin_samples`, unweighted: every chain's states and mean energy."""
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

    z = z0.detach().repeat(K, 1) if z0.dim() == 2 else z0.detach().transpose(0, 1).reshape(K * N, -1)
    u, grad, x = energy(z)
    # first step size from the curvature along the gradient: eta = 1 / (2 lambda), lambda ~ |H v| for v = grad/|grad|
    v = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
    eps = 1e-3
    _, grad_v, _ = energy(z + eps * v)
    curvature = ((grad_v - grad).norm(dim=1) / eps).clamp_min(1.0)
    eta = (0.5 / curvature) if step_size is None else torch.full((N * K,), step_size, device=y.device)
    accepted = torch.zeros(N * K, device=y.device)
    kept: list[Tensor] = []
    energies: list[Tensor] = []
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
            energies.append(u)
    shape = x.shape[1:]
    final = x.view(K, N, *shape).transpose(0, 1)
    rate = (accepted.view(K, N).mean(0) / max(1, steps - burn_in))
    if not kept:
        return Chains(final, None, None, rate, g)
    trail = torch.stack(kept).view(len(kept), K, N, *shape).permute(2, 1, 0, *range(3, 3 + len(shape)))  # (N, K, T, ...)
    energy_k = torch.stack(energies).mean(0).view(K, N).T  # (N, K)
    return Chains(final, trail, energy_k, rate, g)


def chain_weights(energy: Tensor, temperature: Tensor | float) -> Tensor:
    r"""The weight of each chain (``energy``, (N, K), the chains' mean energies after the burn-in):
    :math:`w_k \propto \exp(-\bar U_k / T)`, normalised per measurement (``temperature``: one, or one per measurement).
    :math:`T = 1` weights each mode by its density alone; a larger :math:`T` lets modes that fit worse in
    (:func:`chain_temperature`, the default's).

    >>> chain_weights(torch.tensor([[0.0, 2.0]]), 2.0).tolist()  # doctest: +ELLIPSIS
    [[0.731..., 0.268...]]
    """
    temp = torch.as_tensor(temperature, dtype=torch.float64, device=energy.device).flatten().expand(energy.shape[0])[:, None]
    return torch.softmax(-energy.double() / temp, dim=1)


def chain_temperature(m: Tensor, sigma: Tensor, s: Tensor, d: int = 0) -> Tensor:
    r"""The temperature of :func:`chain_weights` for chains started in the search's different modes, per measurement:

    .. math:: T = \max\left(\frac d2,\ \min\left(m,\ \sqrt{2m}\,(s/\sigma)^2\right)\right),

    :math:`m` the informative entries of :math:`y`, :math:`\sigma` the noise std, :math:`s \ge \sigma` the
    likelihood's std (:func:`sampling_std`) and :math:`d` the dimension of the space the chains run in.
    Where :math:`G` fits :math:`y` to the noise (:math:`s = \sigma`), :math:`T = \sqrt{2m}`, the spread of a
    :math:`\chi^2_m` energy: a mode whose fit is worse than the noise's own fluctuation loses its weight.
    Where :math:`G` misfits every mode (:math:`s > \sigma`, its representation error), the differences in fit
    are not evidence at full power and :math:`T` grows with :math:`(s/\sigma)^2`, up to :math:`m`, where a
    chain weighs by its mean energy per informative entry. Never below :math:`d/2`: at equilibrium a chain's
    energy exceeds its mode's minimum by about :math:`d/2` (each latent dimension holds 1/2), so with few
    entries smaller differences say little (chosen and checked in docs/latent_search.md).

    >>> chain_temperature(torch.tensor([800.0, 800.0, 80.0, 10.0]), torch.tensor([0.1, 0.1, 0.01, 0.1]),
    ...                   torch.tensor([0.1, 0.2, 0.05, 0.1]), d=64).tolist()
    [40.0, 160.0, 80.0, 32.0]
    """
    m = torch.as_tensor(m, dtype=torch.float64).clamp_min(1)
    ratio = torch.as_tensor(s, dtype=torch.float64) / torch.as_tensor(sigma, dtype=torch.float64)
    return torch.minimum(m, (2 * m).sqrt() * ratio.clamp_min(1).pow(2)).clamp_min(d / 2)


def chain_dim(generator: nn.Module, space: str = "auto") -> int:
    """The dimension of the space the chains run in (:func:`chain_space`): ``z``'s, or the declared ``w``'s."""
    where = chain_space(generator, space)
    return int(generator.latent_dim) if where == "z" else int(generator.latent_spaces()[where].shape[0])


def mix_chains(chains: Chains, temperature: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
    r"""Chains that start in different modes and do not cross between them, mixed by
    :func:`chain_weights`: ``(samples, mean, std)``, the mean and std of the weighted mixture of the chains'
    post-burn-in states, and the chains' last states drawn with replacement by the weights."""
    final, trail = chains.final, chains.trail
    N, K, shape = final.shape[0], final.shape[1], final.shape[2:]
    w = chain_weights(chains.energy, temperature).to(final.dtype)  # (N, K)
    m_k, sq_k = trail.mean(2), trail.pow(2).mean(2)  # (N, K, ...)
    wv = w.view(N, K, *([1] * len(shape)))
    mean = (wv * m_k).sum(1)
    std = ((wv * sq_k).sum(1) - mean.pow(2)).clamp_min(0).sqrt()
    pick = torch.multinomial(w.cpu().double(), K, replacement=True, generator=chains.generator).to(final.device)  # resampled draws
    samples = torch.gather(final, 1, pick.view(N, K, *([1] * len(shape))).expand_as(final))
    return samples, mean, std


def sampling_std(sigma: Tensor, rms: Tensor, rule: str = "residual") -> Tensor:
    r"""The likelihood's std :math:`s` of the posterior samples, per measurement: :math:`s = \max(\sigma, r)`, with
    :math:`r` the rms misfit the search leaves (``rule="residual"``: :math:`\|AG(\hat z) - y\|/\sqrt m`;
    ``rule="heldout"``: the misfit on entries held out of fits to the others, which also counts what the fit to
    every entry absorbed). It holds what :math:`G` cannot represent beside the noise :math:`\sigma` (the chains
    sample :math:`G`'s range, and with :math:`s = \sigma` alone their spread ignores the representation error).
    With ``rule="noise"``: :math:`s = \sigma`."""
    return sigma if rule == "noise" else torch.maximum(sigma, rms.to(sigma))
