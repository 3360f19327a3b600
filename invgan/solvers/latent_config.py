r"""The options and the result of latent search (:func:`~invgan.solvers.latent_search`): what a
search may be told, checked on construction (unknown keys and out-of-range values are an error
naming them), and everything it returns."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..nets.posterior import PosteriorSamples
from ..options import _check, _opt
from .bases import BASES
from .latent_sampling import SAMPLING_NOISE, SAMPLING_SPACES, SAMPLING_STARTS

#: the step size each optimiser uses when ``lr`` is left to ``None``
DEFAULT_LR = {"adam": 0.05, "lbfgs": 1.0}
#: the prior weights :math:`\lambda` a search chooses from when ``prior_weight`` is ``None``
PRIOR_WEIGHTS = (0.01, 0.1, 1.0)
#: the prior weight the choice keeps unless another wins on the held-out entries by enough standard errors
REFERENCE_PRIOR_WEIGHT = 0.1
#: the deviations ``deviation="auto"`` chooses from
AUTO_DEVIATIONS = ("none", "pixels", "dct")


@dataclass
class LatentSearchConfig:
    r"""Options of :func:`invgan.solvers.latent_search`. The defaults choose from the measurements
    alone, never from ground truth: the prior weight :math:`\lambda` (from :data:`PRIOR_WEIGHTS`)
    and the sparse deviation (from :data:`AUTO_DEVIATIONS`) are picked per measurement by the error
    on a held-out ``holdout`` share of its entries, scored through :math:`A` (see
    :func:`latent_search`); where the noise level :math:`\sigma` is known, a copy of :math:`G` is
    then fine-tuned from the kept point :math:`v` (:math:`\hat z`, an ILO layer's features, or
    :math:`\hat z` beside the kept deviation :math:`\nu`) until
    :math:`\|A(G(v) + \nu) - y\|^2 \le m\sigma^2` (``discrepancy_finetune``). A number for ``prior_weight`` and a basis or
    ``"none"`` for ``deviation`` fix them (``prior_weight=0, deviation="none"`` is plain CSGM). ``max_steps``, ``tolerance``
    and ``patience`` are named as in :class:`~invgan.solvers.dip.DIPConfig`; ``lr=None`` is the optimiser's default."""

    restarts: int = _opt(10, "random starts per measurement; the best is kept")
    max_steps: int = _opt(500, "step limit per search")
    optimizer: str = _opt("adam", "adam or lbfgs")
    lr: float | None = _opt(None, "step size (default: the optimiser's, 0.05 for Adam, 1 for L-BFGS)")
    prior_weight: float | None = _opt(None, "lambda of the ||z||^2 prior (0 is plain CSGM); none: chosen per measurement from "
                                            f"{PRIOR_WEIGHTS} on held-out measurements")
    tolerance: float = _opt(1e-4, "relative improvement of the objective that counts as progress")
    patience: int = _opt(25, "a search stops after this many steps without progress")
    seed: int = _opt(0, "seed of the random starts (restart r starts from seed + r)")
    space: str = _opt("z", "where the search ends: z, or any space the generator declares (G.latent_spaces(): layer:L for "
                            "convolutional generators, w and w+ for StyleGAN2), continued there from the z search's result")
    space_steps: int = _opt(300, "steps of the search in that space")
    space_radius: float = _opt(0.2, "layer:L: radius of the l1 ball around the z search's features, relative to their l1 norm")
    deviation: str = _opt("auto", "a sparse deviation x = G(z) + nu, nu sparse in a basis: none, pixels, dct or haar (Sparse-Gen); "
                                  "auto: none, pixels, dct or the search continued in the generator's last two layer spaces "
                                  "(ILO), chosen per measurement on held-out measurements")
    holdout: float = _opt(0.1, "share of each y's entries held out to choose what is left to 'auto' (scored through A only)")
    heldout_entries: int = _opt(30, "the fewest informative entries of each y held out: where one split holds out fewer, disjoint "
                                    "splits (folds) are added, up to 1/holdout of them (every entry held out once)")
    deviation_weight: float | None = _opt(None, "mu of mu ||B nu||_1 (default: 2 sigma sqrt(2 log n), sigma the noise level)")
    deviation_steps: int = _opt(300, "steps of the joint (z, nu) refinement after the search")
    finetune: int = _opt(0, "steps fine-tuning a copy of G per measurement after the search (Deep Generative Prior; 0: off)")
    finetune_lr: float = _opt(1e-4, "step size of G's weights while fine-tuning")
    discrepancy_finetune: int = _opt(200, "deviation=auto's last step: where the noise level is known, G is fine-tuned from the "
                                          "point the held-out choice kept (z, an ILO layer, or z beside its sparse deviation nu; at "
                                          "most this many steps) until ||A (G(v) + nu) - y||^2 <= m sigma^2, the discrepancy principle (0: off)")
    mean_chains: int = _opt(32, "deviation=auto where a y has at most mean_share * latent_dim informative entries (z is then far "
                                "from pinned down, and the MAP is one of many points that fit y): the estimate is the posterior mean "
                                "of this many MALA chains (in sampling_space), s from the held-out misfit, instead of the refinements "
                                "and the fine-tuning (0: off)")
    mean_share: float = _opt(0.5, "the share of latent_dim below which (informative entries <= mean_share * latent_dim) the default "
                                  "returns the posterior mean (mean_chains); 0.5 from docs/latent_search.md: on both shipped generators "
                                  "(d = 64) such a mean beat the MAP choice at m <= 25 in all 8 CS settings and lost at m = 50 in 3 of 4")
    samples: int = _opt(0, "posterior samples by Langevin (MALA) after the search, in sampling_space; 0: none, else at least 2")
    sampling_steps: int = _opt(400, "MALA steps per chain (the first half adapts the step size)")
    sampling_space: str = _opt("auto", "where the MALA chains run (the samples and the default's posterior mean): 'z', or 'w', "
                                       "StyleGAN's mapping output whitened by its mean and covariance (a Gaussianised w); 'auto': w "
                                       "where the generator declares it, else z")
    sampling_start: str = _opt("restarts", "where the MALA chains start: 'map', every chain at the search's z_hat; 'restarts', chain k at "
                                      "the end of restart k mod R (restarts ordered by objective), so that the chains cover the modes "
                                      "the restarts found, each chain weighted by exp(-its mean energy / T), T = max(d/2, min(m, sqrt(2m) (s/sigma)^2)) "
                                      "(latent_sampling.chain_temperature)")
    sampling_noise: str = _opt("residual", "the samples' likelihood std s = max(sigma, r), r the rms misfit (latent_sampling.sampling_std): "
                                           "'residual', the search's; 'heldout', on entries held out of fits to the rest; 'noise': s = sigma")
    noise_level: float | None = _opt(None, "noise std of y for the deviation weight, the fine-tuning stop and the samples "
                                           "(default: the physics' Gaussian noise, else estimated from the search's residual)")
    progress: bool = _opt(False, "show a progress bar")

    def __post_init__(self) -> None:
        _check(self, [
            ("deviation", self.deviation in ("none", "auto", *BASES) and (self.space == "z" or self.deviation in ("none", "auto")),
             f"one of {('none', 'auto', *BASES)} (none or auto with a space other than z)"),
            ("space_steps", self.space_steps >= 0, "an integer >= 0"),
            ("space_radius", self.space_radius > 0, "a value > 0"),
            ("deviation_weight", self.deviation_weight is None or self.deviation_weight >= 0, "a value >= 0, or None"),
            ("deviation_steps", self.deviation_steps >= 0, "an integer >= 0"),
            ("finetune", self.finetune >= 0 and (self.finetune == 0 or (self.deviation in ("none", "auto") and self.space == "z")),
             "an integer >= 0 (and 0 with a deviation or another space: the refinements are alternatives)"),
            ("finetune_lr", self.finetune_lr > 0, "a value > 0"),
            ("discrepancy_finetune", self.discrepancy_finetune >= 0, "an integer >= 0"),
            ("mean_chains", self.mean_chains == 0 or self.mean_chains >= 2, "0, or at least 2"),
            ("mean_share", 0 <= self.mean_share <= 1, "a fraction in [0, 1]"),
            ("samples", self.samples == 0 or (self.samples >= 2 and self.deviation in ("none", "auto") and self.finetune == 0 and self.space == "z"),
             "0, or at least 2 (samples of z: with deviation none or auto, finetune = 0 and space z)"),
            ("sampling_steps", self.sampling_steps >= 2, "an integer >= 2"),
            ("sampling_noise", self.sampling_noise in SAMPLING_NOISE, f"one of {SAMPLING_NOISE}"),
            ("sampling_space", self.sampling_space in SAMPLING_SPACES, f"one of {SAMPLING_SPACES}"),
            ("sampling_start", self.sampling_start in SAMPLING_STARTS, f"one of {SAMPLING_STARTS}"),
            ("noise_level", self.noise_level is None or self.noise_level >= 0, "a value >= 0, or None"),
            ("restarts", self.restarts >= 1, "an integer >= 1"),
            ("max_steps", self.max_steps >= 0, "an integer >= 0"),
            ("optimizer", self.optimizer in ("adam", "lbfgs"), "'adam' or 'lbfgs'"),
            ("lr", self.lr is None or self.lr > 0, "a value > 0, or None"),
            ("prior_weight", self.prior_weight is None or self.prior_weight >= 0, "a value >= 0, or None (chosen)"),
            ("holdout", 0 < self.holdout < 0.5, "a fraction in (0, 0.5)"),
            ("heldout_entries", self.heldout_entries >= 1, "an integer >= 1"),
            ("tolerance", self.tolerance >= 0, "a value >= 0"),
            ("patience", self.patience >= 1, "an integer >= 1"),
        ])


@dataclass
class LatentSearchResult:
    r"""``x_hat`` (N, C, H, W), ``z_hat`` (N, d), ``objective`` (N,) of the kept restart,
    ``restart_objectives`` (N, R) of every restart, and ``steps`` (N, R) each search ran. With
    ``samples``: ``samples`` (N, K, C, H, W), their ``mean`` and per-pixel ``std`` (then
    ``x_hat`` is the mean), and ``acceptance`` (N,) of the chains; ``x_map`` is :math:`G(\hat z)`
    of the search (before a deviation, fine-tuning or sampling); ``sigma`` the noise level used;
    ``sampling_std`` the likelihood's std of the samples (see ``sampling_noise``);
    ``choice`` what was chosen from the measurements, and why (``prior_weight=None`` or
    ``deviation="auto"``; ``restart_objectives`` and ``steps`` are then those of the final fit,
    one warm start from the chosen latent); ``restart_z`` (N, R, d): where each restart ended."""

    x_hat: Tensor
    z_hat: Tensor
    objective: Tensor
    restart_objectives: Tensor
    steps: Tensor
    x_map: Tensor | None = None
    samples: Tensor | None = None
    mean: Tensor | None = None
    std: Tensor | None = None
    acceptance: Tensor | None = None
    sigma: Tensor | None = None
    sampling_std: Tensor | None = None
    choice: dict | None = None
    restart_z: Tensor | None = None

    @property
    def posterior(self) -> PosteriorSamples | None:
        """The samples in the one convention of every sampler (:class:`~invgan.nets.PosteriorSamples`,
        scored by :func:`invgan.metrics.evaluate_posterior`): the ``K`` chains' last states (with
        ``sampling_start="restarts"`` drawn by the chains' weights), and the mean and std over every post-burn-in
        state (of the weighted mixture of the chains); ``None`` without samples."""
        if self.samples is None:
            return None
        return PosteriorSamples(self.samples, self.mean, self.std)
