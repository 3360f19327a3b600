r"""The settings of the deep image prior (:func:`~invgan.solvers.dip.deep_image_prior`): the network,
the fit, the averaged estimate, the stopping rules and the optional TV term and held-out entries;
unknown keys and out-of-range values are an error naming them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invgan.nets.dip import NET_NAMES, UPSAMPLING_MODES
from invgan.options import _check, _opt, with_overrides
from invgan.physics import CONSISTENCIES
from invgan.precision import PRECISIONS

from .stopping import STOP_RULES


DIP_CONSISTENCIES = ("auto", *CONSISTENCIES)
DIP_BLENDS = ("auto", "none", "classical")


@dataclass
class DIPConfig:
    r"""Settings of :func:`~invgan.solvers.deep_image_prior`: the network, Adam on
    :math:`\|A f_\theta(z + \sigma_z\epsilon) - y\|^2` (plus :math:`\kappa\sigma^2\,\mathrm{TV}` where noisy), the averaged estimate, the stopping rules
    (``stop="auto"``: discrepancy if noisy, convergence if noiseless, WMV if the noise is unknown) and
    the blend with the classical estimate (inpainting, super-resolution, denoising) and the consistency step on the returned estimate."""

    net: str = _opt("skip", "network: convdecoder, skip, or auto (fit both on all but a held-out share of the measured entries "
                            "and keep the one with the least error on them; see choose_network) (used when no network is passed)")
    channels: int = _opt(24, "hidden width of the network")
    depth: int = _opt(5, "upsampling blocks (ConvDecoder) or levels (skip net)")
    upsampling: str = _opt("bilinear", "upsampling: nearest, bilinear or bicubic")
    in_size: int = _opt(8, "spatial size of the ConvDecoder input z")
    tile: int | None = _opt(None, "side T of square tiles, each fitted by its own network with its own stop and put back with a ramp "
                                  "over the overlap (denoising and inpainting; see invgan.solvers.dip_tiles); 0: the whole image at "
                                  "once; none: 96 for denoising an image with a side over 128, else 0 (see default_tile; 0 when a network is "
                                  "passed in, built for the whole image)")
    tile_overlap: int = _opt(16, "pixels by which neighbouring tiles overlap (tile > 0)")
    lr: float = _opt(0.01, "Adam step size")
    max_steps: int = _opt(3000, "hard limit on the number of steps")
    input_noise: float | None = _opt(None, "std sigma_z of the noise added to z every step; none: 0.03 for super-resolution, "
                                           "0.033 for denoising, else 0 (see default_input_noise)")
    ema: float = _opt(0.99, "averaging weight beta of the returned estimate (0: no averaging)")
    stop: str = _opt("auto", "auto (discrepancy if noisy, convergence if noiseless, wmv if the noise is unknown), "
                             "discrepancy, convergence, wmv or none (run max_steps)")
    noise_sigma: float | None = _opt(None, "noise std of the measurement; none: read from the physics' noise model, else "
                                           "estimated from y when image-shaped, else unknown")
    discrepancy: float = _opt(0.95, "factor tau of the discrepancy principle")
    tolerance: float = _opt(1.5e-4, "convergence test: threshold on the mean relative change")
    holdout: float = _opt(0.0, "share of the informative measured entries withheld from the fit and scored every step "
                               "(stop='heldout' returns the estimate with the least error on them); 0: none")
    heldout_check: float = _opt(3.0, "noisy runs with withheld entries (blend, holdout): return the averaged estimate of least "
                                     "error on them instead of the stop's where that error is lower by more than this many "
                                     "standard deviations of the noise's share (heldout_beats_stop); 0: off")
    settle_fallback: bool = _opt(False, "discrepancy rule: also stop where the convergence test fires (a residual that settles "
                                        "above the noise level never reaches it)")
    tv: float = _opt(3.0, "TV-regularised DIP: the loss adds lambda TV(x) with lambda = tv * sigma^2, sigma the noise level "
                          "(so no TV where noiseless or unknown); 0: off")
    blend: str = _opt("auto", "classical: return w DIP + (1 - w) the operator's classical estimate (biharmonic inpainting; bicubic "
                              "interpolation for super-resolution; for denoising the TV or non-local-means denoiser of least SURE), "
                              "w in [0, 1] per image fitted on withheld measured entries (holdout, or a share of 0.05 when 0; see "
                              "blend_with_classical); none: DIP alone; auto: classical for inpainting, super-resolution and "
                              "denoising, else none")
    consistency: str = _opt("auto", "what is done to the returned estimate with y (invgan.physics.enforce_consistency): "
                                    "project (x + A^dagger (y - A x)), wiener (part of the way, by the noise level), none; "
                                    "auto: wiener where the operator allows it (inpainting, downsampling, compressed sensing), else none")
    drift_tolerance: float = _opt(4e-5, "convergence test: threshold on the drift |x_t - x_(t-window)| / (window |x_t|) "
                                       "(the test fires on either threshold; 0: off)")
    window: int = _opt(100, "window of the convergence test and of the windowed variance")
    patience: int = _opt(200, "wmv and heldout: stop after this many steps without progress")
    wmv_tolerance: float = _opt(0.05, "wmv: relative drop of the variance that counts as progress")
    min_steps: int = _opt(200, "never stop before this step")
    heldout_gate: float = _opt(0.0, "runs with withheld entries (blend, holdout): the convergence test (and settle_fallback) "
                                    "fires only once the least error on them fell by less than this share over the last "
                                    "patience steps; 0: off")
    backtrack_factor: float = _opt(5.0, "restore the last good weights (and halve that sample's step size) when the loss exceeds "
                                        "this factor times the loss at the last checkpoint, or is not finite; 0: off")
    checkpoint_every: int = _opt(50, "steps between checkpoints of good weights")
    precision: str = _opt("auto", "auto (bf16 where the device runs it natively, else fp32; see invgan.precision), fp32, bf16 "
                                  "or fp16 (CUDA)")
    channels_last: bool = _opt(True, "channels-last (NHWC) memory format of the network and its input: the same math, "
                                     "1.3-1.8x faster per step on CPU (docs/experiments/dip.md)")
    seed: int | None = _opt(0, "seed of the weights and of z (none: not seeded)")
    threads: int | None = _opt(None, "torch.set_num_threads for the run (none: leave as is)")
    progress: bool = _opt(True, "show a progress bar with the loss (and PSNR)")

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("net", self.net in (*NET_NAMES, "auto"), f"one of {(*NET_NAMES, 'auto')}"),
            ("upsampling", self.upsampling in UPSAMPLING_MODES, f"one of {UPSAMPLING_MODES}"),
            ("stop", self.stop in STOP_RULES, f"one of {STOP_RULES}"),
            ("precision", self.precision in PRECISIONS, f"one of {PRECISIONS}"),
            ("channels", self.channels >= 1, "an integer >= 1"),
            ("depth", self.depth >= 1, "an integer >= 1"),
            ("in_size", self.in_size >= 1, "an integer >= 1"),
            ("tile", self.tile is None or self.tile == 0 or self.tile >= 16, "None, 0 (off) or an integer >= 16"),
            ("tile_overlap", self.tile_overlap >= 0 and (not self.tile or 2 * self.tile_overlap < self.tile), "an integer >= 0, under half the tile"),
            ("lr", self.lr > 0, "a value > 0"),
            ("max_steps", self.max_steps >= 1, "an integer >= 1"),
            ("input_noise", self.input_noise is None or self.input_noise >= 0, "None or a value >= 0"),
            ("ema", 0 <= self.ema < 1, "a value in [0, 1)"),
            ("noise_sigma", self.noise_sigma is None or self.noise_sigma >= 0, "None or a value >= 0"),
            ("discrepancy", self.discrepancy > 0, "a value > 0"),
            ("tolerance", self.tolerance >= 0, "a value >= 0"),
            ("drift_tolerance", self.drift_tolerance >= 0, "a value >= 0"),
            ("tv", self.tv >= 0, "a value >= 0"),
            ("heldout_check", self.heldout_check >= 0, "a value >= 0"),
            ("consistency", self.consistency in DIP_CONSISTENCIES, f"one of {DIP_CONSISTENCIES}"),
            ("blend", self.blend in DIP_BLENDS, f"one of {DIP_BLENDS}"),
            ("holdout", 0 <= self.holdout < 1, "a value in [0, 1)"),
            ("stop", self.stop != "heldout" or self.holdout > 0, "'heldout' only with holdout > 0 (entries to score)"),
            ("window", self.window >= 2, "an integer >= 2"),
            ("patience", self.patience >= 1, "an integer >= 1"),
            ("wmv_tolerance", 0 <= self.wmv_tolerance < 1, "a value in [0, 1)"),
            ("heldout_gate", 0 <= self.heldout_gate < 1, "a value in [0, 1)"),
            ("min_steps", self.min_steps >= 0, "an integer >= 0"),
            ("backtrack_factor", self.backtrack_factor == 0 or self.backtrack_factor > 1, "0 (off) or a value > 1"),
            ("checkpoint_every", self.checkpoint_every >= 1, "an integer >= 1"),
        ]
        _check(self, checks)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DIPConfig":
        """Build from a mapping; unknown keys are an error naming them."""
        return with_overrides(cls(), **values)
