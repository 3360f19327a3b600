r"""The held-out choice of latent search (:func:`~invgan.solvers.latent_search` with what is left to
choice): an operator restricted to some entries of each measurement, the one-standard-error rule
that decides whether a candidate beats the reference on the entries held out, and the layer spaces
the choice also tries. Nothing here reads the ground truth."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def auto_layers(generator: nn.Module) -> tuple[str, ...]:
    """The intermediate-layer spaces ``deviation="auto"`` also tries: the last two ``layer:l`` the
    generator declares before its output (none for a generator without layer spaces)."""
    spaces = generator.latent_spaces() if hasattr(generator, "latent_spaces") else {}
    layers = [k for k in spaces if k.startswith("layer:") and k != "layer:0"]
    return tuple(layers[-2:])


class Entries:
    r"""An operator restricted to some entries of each measurement, :math:`A'x = M \odot Ax`
    (``mask`` of ``y``'s shape): the fitting half of a held-out split. With ``groups`` :math:`K > 1`
    the batch holds :math:`K` stacked copies of the :math:`N` measurements (index :math:`kN + i`),
    one per fold, and :math:`A` is applied to each copy in turn (an operator drawn per sample keeps its
    batch of :math:`N`)."""

    def __init__(self, physics, mask: Tensor, groups: int = 1):
        self.physics, self.mask, self.groups = physics, mask, groups

    def A(self, x: Tensor) -> Tensor:
        return torch.cat([self.physics.A(chunk) for chunk in x.chunk(self.groups)]) * self.mask

    def compute_norm(self, x0: Tensor, *args, **kwargs) -> Tensor:  # an upper bound of the restricted operator's
        return self.physics.compute_norm(x0.chunk(self.groups)[0], *args, **kwargs)


def informative_entries(physics, shape: tuple[int, ...], n: int, device=None) -> Tensor:
    r"""Which entries of each of ``n`` measurements depend on the image at all (a nonzero row of
    :math:`A`, e.g. the kept pixels of an inpainting mask): :math:`(Ax)_j \ne 0` for a random
    :math:`x > 0` of per-sample ``shape``; boolean, shape of :math:`y`."""
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0)).add_(0.5).to(device)
    with torch.no_grad():
        return physics.A(x) != 0


def fold_count(informative: Tensor, share: float, fewest: int) -> Tensor:
    r"""Per measurement, the disjoint held-out splits (folds, each a ``share`` of the entries) that
    together hold out at least ``fewest`` of its ``informative`` entries: :math:`K_i = \lceil
    \text{fewest} / (\text{share}\cdot n_i)\rceil`, between 1 and :math:`\lfloor 1/\text{share}\rfloor`
    (every entry held out once: leave-some-out cross-validation).

    :Example:

    >>> import torch
    >>> from invgan.solvers.heldout import fold_count
    >>> fold_count(torch.tensor([10, 78, 100, 500]), 0.1, 30).tolist()  # CS m=10, 10 % of 784 pixels kept, m=100, m=500
    [10, 4, 3, 1]
    """
    n = informative.float().clamp_min(1)
    return torch.ceil(fewest / (share * n) - 1e-9).long().clamp(1, int(1 / share + 1e-9))


def wins_by_one_se(ref_sq: Tensor, cand_sq: Tensor, held: Tensor, se: float = 1.0) -> Tensor:
    r"""Per measurement: does the candidate's held-out error beat the reference's by more than
    ``se`` standard errors? With the paired differences :math:`d_j = e^\text{ref}_j - e^\text{cand}_j` over
    the :math:`n` held-out entries, :math:`\bar d > \text{se}\cdot s_d / \sqrt n` (the one-standard-error rule of
    cross-validation, Hastie, Tibshirani and Friedman, 2009, §7.10, at ``se = 1``).

    :Example:

    >>> import torch
    >>> from invgan.solvers.heldout import wins_by_one_se
    >>> held = torch.ones(2, 4)
    >>> ref = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    >>> cand = torch.tensor([[0.5, 0.5, 0.6, 0.4], [0.0, 2.0, 0.0, 1.9]])  # a steady gain; a noisy one
    >>> wins_by_one_se(ref, cand, held).tolist()
    [True, False]
    """
    n = held.sum(1).clamp_min(2)
    d = (ref_sq - cand_sq) * held
    mean = d.sum(1) / n
    var = ((d - mean[:, None]) ** 2 * held).sum(1) / (n - 1)
    return mean > se * (var / n).sqrt()


def standard_errors(challengers: int, level: float = 0.1587) -> float:
    r"""How many standard errors a candidate must win by when ``challengers`` candidates each try to
    replace the reference: :math:`\Phi^{-1}(1 - \alpha / C)` (Bonferroni), so that the chance that
    the reference is replaced when no candidate is better stays :math:`\alpha`, that of one comparison
    under the one-standard-error rule (:math:`\Phi(-1) = 0.1587`).

    :Example:

    >>> from invgan.solvers.heldout import standard_errors
    >>> [round(standard_errors(c), 2) for c in (1, 2, 4)]
    [1.0, 1.41, 1.75]
    """
    return float(torch.special.ndtri(torch.tensor(1 - level / max(challengers, 1), dtype=torch.float64)))


def pick_candidate(candidates: list[Tensor], ref: int | None, held: Tensor) -> Tensor:
    """Per measurement, the index of the candidate of lowest held-out error among those that beat
    ``candidates[ref]`` by :func:`standard_errors` of the others' number (one standard error for
    one challenger; :func:`wins_by_one_se`), else ``ref``; the lowest error outright when there is
    no reference."""
    totals = torch.stack([c.sum(1) for c in candidates])
    if ref is None:
        return totals.argmin(0)
    se = standard_errors(len(candidates) - 1)
    eligible = torch.stack([wins_by_one_se(candidates[ref], c, held, se) if k != ref else torch.ones_like(totals[0], dtype=torch.bool)
                            for k, c in enumerate(candidates)])
    return totals.masked_fill(~eligible, float("inf")).argmin(0)


def choice_rule(cfg, reference: float, latent_dim: int) -> str:
    """The rule of the default's choice in words, for ``result.choice["rule"]`` (``cfg``: a
    :class:`~invgan.solvers.latent.LatentSearchConfig`)."""
    auto = cfg.deviation == "auto" and not (cfg.finetune or cfg.samples)
    return (f"held-out measurements: {cfg.holdout:.0%} of each y's entries set aside (seed {cfg.seed + 7919}), every candidate fitted on "
            f"the rest and scored by its error there, through A only (no ground truth); where one split holds out fewer than "
            f"{cfg.heldout_entries} informative entries, disjoint splits (folds) are added and their errors pooled; a candidate "
            f"replaces the reference (prior_weight={reference:g}, then no refinement) only if it wins by more than "
            f"Phi^-1(1 - 0.1587 / C) standard errors of the paired differences, C the number of challengers (one standard error for one)"
            + (f"; where y has at most {cfg.mean_share:g} x {latent_dim} (the latent dimension) informative entries, z is far from "
               f"pinned down: the estimate is then the posterior mean of {cfg.mean_chains} MALA chains from the kept z (in "
               f"sampling_space={cfg.sampling_space!r}: z, or a Gaussianised w where the generator declares one), with likelihood "
               f"std max(sigma, heldout_rms) (posterior_mean)" if auto and cfg.mean_chains else "")
            + (f"; elsewhere, where the noise level is known, G fine-tuned from the kept point (z, the ILO layer's features, or z beside "
               f"the kept deviation nu) until ||A (G(v) + nu) - y||^2 <= m sigma^2, the discrepancy principle (at most "
               f"{cfg.discrepancy_finetune} steps; finetune_steps)" if cfg.discrepancy_finetune and cfg.deviation == "auto" else ""))


def withhold_pixels(informative: Tensor, share: float, gen: torch.Generator | None = None) -> Tensor:
    """A random ``share`` of the ``informative`` entries, drawn per pixel where the measurement is an
    image ``(N, C, H, W)``: every channel of a withheld pixel at once. Drawn per entry, a channel would
    be scored where the others are fitted at the same pixel, and predicting it from them is a
    different (easier) task than filling a missing pixel. A measurement with two or more informative
    pixels always has one withheld (a small image can draw none)."""
    image = informative.dim() == 4
    shape = (informative.shape[0], 1, *informative.shape[2:]) if image else tuple(informative.shape)
    picked = (torch.rand(shape, generator=gen) < share).to(informative.device)
    pixels = informative.any(1, keepdim=True) if image else informative
    for i in range(informative.shape[0]):
        if not bool((picked[i] & pixels[i]).any()) and int(pixels[i].sum()) >= 2:
            where = pixels[i].flatten().nonzero().flatten()
            picked[i].view(-1)[where[int(torch.randint(len(where), (), generator=gen))]] = True
    return informative & picked
