"""Latent search beyond z-CSGM on held-out MNIST digits: every method and the default, against the
best Lasso, per setting; per-pixel MSE (mean over the test digits) and seconds per image.

    python benchmarks/latent_methods.py                                   # every setting (hours on 2 CPU cores)
    python benchmarks/latent_methods.py --settings cs:100:0.1 cs:750:0.01 inpainting:0.2:0.01 --n-test 8
    python benchmarks/latent_methods.py --generator stylegan2-mnist --methods z default w w+ lasso

Settings are ``cs:M:SIGMA`` (Gaussian A with m rows, one matrix per setting) and
``inpainting:KEEP:SIGMA`` (one mask per digit). Methods (the shipped ``dcgan-mnist`` generator,
``--restarts`` x ``--max-steps`` Adam steps each):

* ``z``: plain z-CSGM with lambda = 0.1 (the former default);
* ``default``: ``LatentSearch()``'s defaults, lambda and the deviation chosen per digit on 10 % of the
  measurements held out (no ground truth);
* ``default-map`` (only when named in ``--methods``): the default without its posterior mean at
  few measurements (``mean_chains=0``): the refinements' MAP choice everywhere;
* ``dev-pixels``, ``dev-dct``: z-CSGM (lambda 0.1) plus a sparse deviation in that basis;
* ``finetune``: z-CSGM then ``--finetune`` steps of fine-tuning a copy of G per digit;
* ``ilo-layer1``, ``ilo-layer2``: z-CSGM then the search continued in the input of that layer (ILO,
  the l1 ball of radius 0.2 around the z search's features);
* ``w``, ``w+`` (StyleGAN2 generators): z-CSGM then the search continued in ``w`` or ``w+``
  (``--space``);
* ``samples``: z-CSGM (lambda 0.1) then ``--samples`` MALA draws in z: the posterior mean's MSE
  (against the search's MAP estimate, ``map_mse``), the Spearman correlation of the per-pixel std
  with the mean's absolute error and the coverage of the draws' central 90 % intervals
  (:func:`invgan.metrics.evaluate_posterior`);
* ``samples-map`` (only when named): the same chains all started at the search's estimate
  (``sampling_start="map"``, the rule until 2026-12-05; ``samples`` starts them at the restarts' ends);
* ``lasso``: the best of Lasso on pixels, DCT and Haar wavelets (scikit-learn), its alpha chosen
  on ``--n-val`` validation digits per setting (examples/csgm_mnist.py's solver).

Writes a Markdown table (stdout) and ``--json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
CS_M = (10, 25, 50, 100, 250, 500, 750)
SETTINGS = [f"cs:{m}:{s}" for s in (0.01, 0.1) for m in CS_M] + [f"inpainting:{k}:0.01" for k in (0.1, 0.2, 0.5)]
ALPHAS = tuple(float(a) for a in np.logspace(-6, -1, 11))


def _csgm_example():
    spec = importlib.util.spec_from_file_location("csgm_mnist", ROOT / "examples" / "csgm_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _operator(setting: str):
    from invgan.physics import make_physics

    kind, value, sigma = setting.split(":")
    if kind == "cs":
        return make_physics("cs", (1, 28, 28), m=int(value), noise_sigma=float(sigma), seed=int(value))
    if kind == "inpainting":
        return make_physics("inpainting", (1, 28, 28), keep=float(value), noise_sigma=float(sigma), fresh_per_sample=True, seed=0)
    raise ValueError(f"unknown setting {setting!r}: expected cs:M:SIGMA or inpainting:KEEP:SIGMA")


def _matrix(physics, n: int = 784) -> np.ndarray:
    """The operator of one sample as a dense matrix (its columns are A e_j)."""
    with torch.no_grad():
        eye = torch.eye(n).view(n, 1, 28, 28)
        return torch.cat([physics.A(chunk).flatten(1) for chunk in eye.split(196)]).T.numpy().astype(np.float64)


def method_table(G, finetune: int, samples: int = 32, sampling_noise: str = "residual") -> dict[str, dict]:
    """The methods of the table for generator ``G``: those of every generator, ILO in the spaces it
    declares (``layer:1``, ``layer:2``) and, for StyleGAN2, the search in ``w`` and ``w+``."""
    spaces = G.latent_spaces() if hasattr(G, "latent_spaces") else {}
    methods = {
        "z": dict(prior_weight=0.1, deviation="none"),
        "default": dict(),
        "default-map": dict(mean_chains=0),
        "dev-pixels": dict(prior_weight=0.1, deviation="pixels"),
        "dev-dct": dict(prior_weight=0.1, deviation="dct"),
        "finetune": dict(prior_weight=0.1, deviation="none", finetune=finetune),
        "samples": dict(prior_weight=0.1, deviation="none", samples=samples, sampling_noise=sampling_noise),
        "samples-map": dict(prior_weight=0.1, deviation="none", samples=samples, sampling_noise=sampling_noise, sampling_start="map"),
    }
    for space, name in (("layer:1", "ilo-layer1"), ("layer:2", "ilo-layer2"), ("w", "w"), ("w+", "w+")):
        if space in spaces:
            methods[name] = dict(prior_weight=0.1, deviation="none", space=space)
    return methods


OPT_IN = ("default-map", "samples-map")  # run only when named in --methods


def stroke_mask(x: torch.Tensor, mean: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """The pixels of the strokes: truth or posterior mean above ``threshold``. On a digit's black
    background the truth is exactly 0, which a sigmoid output never reaches (no interval covers
    it), and std and error are both near 0, so scores over every pixel mostly say where the digit is."""
    return (x > threshold) | (mean > threshold)


def run_setting(setting: str, G, x_val, x_test, args, example) -> dict[str, dict[str, float]]:
    from invgan.data import fixed_measurements
    from invgan.metrics.images import set_operator
    from invgan.solvers import latent_search

    model = _operator(setting)
    out: dict[str, dict[str, float]] = {}
    common = dict(restarts=args.restarts, max_steps=args.max_steps, seed=0)
    methods = {name: kw for name, kw in method_table(G, args.finetune, args.samples, args.sampling_noise).items() if name in args.methods}
    data = fixed_measurements(model, x_test, seed=1)
    for name, kw in methods.items():
        set_operator(model.physics, data.operator_params)
        t0 = time.perf_counter()
        result = latent_search(data.y, model.physics, G, **common, **kw)
        out[name] = {"mse": float((result.x_hat - x_test).pow(2).mean()), "seconds_per_image": (time.perf_counter() - t0) / len(x_test)}
        if getattr(result, "choice", None) and "refinement" in result.choice:  # what the default chose, per digit
            kept = result.choice["refinement"]
            out[name]["refinements"] = {d: kept.count(d) for d in dict.fromkeys(kept)}
            out[name]["finetuned"] = sum(1 for v in result.choice.get("finetune_steps", []) if v > 0)
            out[name]["posterior_mean"] = sum(result.choice.get("posterior_mean", []))
        if result.samples is not None:
            from invgan.metrics import evaluate_posterior

            scores = evaluate_posterior(result.posterior, x_test)
            strokes = stroke_mask(x_test, result.mean)
            on_strokes = evaluate_posterior(result.posterior, x_test, where=strokes)
            out[name].update(map_mse=float((result.x_map - x_test).pow(2).mean()), spearman=scores["spearman"], coverage=scores["coverage"],
                             spearman_strokes=on_strokes["spearman"], coverage_strokes=on_strokes["coverage"], strokes=float(strokes.float().mean()))
    if "lasso" not in args.methods:
        return out
    # Lasso: alpha and basis on the validation digits, then on the test digits, per digit's own operator
    val = fixed_measurements(model, x_val, seed=2)
    bases = {"pixels": None, "dct": example.dct_basis(28, 28), "wavelet": example.wavelet_basis(28, 28, "db1")}

    def lasso_all(d, basis, alpha) -> np.ndarray:
        est = []
        for i in range(len(d.y)):
            set_operator(model.physics, {k: v[i : i + 1] for k, v in d.operator_params.items()})
            est.append(example.lasso(_matrix(model.physics), d.y[i : i + 1].flatten(1).numpy().astype(np.float64), alpha, basis)[0])
        return np.stack(est)

    best = (math.inf, None, None)
    for bname, basis in bases.items():
        for alpha in ALPHAS:
            err = float(((lasso_all(val, basis, alpha) - x_val.flatten(1).numpy()) ** 2).mean())
            if err < best[0]:
                best = (err, bname, alpha)
    t0 = time.perf_counter()
    est = lasso_all(data, bases[best[1]], best[2])
    out["lasso"] = {"mse": float(((est - x_test.flatten(1).numpy()) ** 2).mean()), "seconds_per_image": (time.perf_counter() - t0) / len(x_test),
                    "basis": best[1], "alpha": best[2]}
    return out


def table(results: dict[str, dict[str, dict]], order: list[str]) -> str:
    """The Markdown table of ``results`` (setting -> method -> scores): per-pixel MSE (seconds per
    image), the lowest of each row in bold, then the posterior samples' calibration where measured."""
    settings = [s for s in order if s in results] + [s for s in results if s not in order]
    names = list(dict.fromkeys(n for s in settings for n in results[s]))
    lines = ["| setting | " + " | ".join(names) + " | Lasso's basis, alpha |", "|---|" + "---:|" * len(names) + "---|"]
    for setting in settings:
        r = results[setting]
        best = min(v["mse"] for v in r.values())
        cells = [("" if n not in r else (f"**{r[n]['mse']:.5f}**" if r[n]["mse"] == best else f"{r[n]['mse']:.5f}")
                  + f" ({r[n]['seconds_per_image']:.1f} s)") for n in names]
        lasso = f"{r['lasso']['basis']}, {r['lasso']['alpha']:.1e}" if "lasso" in r else ""
        lines.append(f"| {setting} | " + " | ".join(cells) + f" | {lasso} |")
    sampled = [s for s in settings if "samples" in results[s]]
    if sampled:
        lines += ["", "| setting | posterior mean MSE | MAP (z-CSGM) MSE | Spearman std vs error: every pixel, strokes | "
                  "coverage of 90 % intervals: every pixel, strokes |", "|---|---:|---:|---:|---:|"]
        for setting in sampled:
            v = results[setting]["samples"]
            strokes = ("", "") if "spearman_strokes" not in v else (f", {v['spearman_strokes']:.2f}", f", {100 * v['coverage_strokes']:.1f} %")
            lines.append(f"| {setting} | {v['mse']:.5f} | {v['map_mse']:.5f} | {v['spearman']:.2f}{strokes[0]} | "
                         f"{100 * v['coverage']:.1f} %{strokes[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", nargs="+", default=SETTINGS)
    ap.add_argument("--n-test", type=int, default=24)
    ap.add_argument("--n-val", type=int, default=8)
    ap.add_argument("--first-test", type=int, default=None,
                    help="index of the first test digit in the held-out set (default: right after the validation digits); "
                         "another value checks a figure on digits it was not tuned on")
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--max-steps", type=int, default=500)
    ap.add_argument("--finetune", type=int, default=200)
    ap.add_argument("--samples", type=int, default=32, help="MALA draws of the samples method")
    ap.add_argument("--sampling-noise", default="residual", help="the samples method's likelihood std rule (search.sampling_noise)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--generator", default="dcgan-mnist", help="a shipped generator's name or a run's checkpoint (28x28 digits)")
    ap.add_argument("--methods", nargs="+", default=None, help="these methods only (default: every one the generator allows, and lasso)")
    ap.add_argument("--table-from", nargs="+", default=None, metavar="JSON",
                    help="print the table of these --json files (runs split by settings or by methods) and exit")
    args = ap.parse_args(argv)
    if args.table_from:
        missing = [f for f in args.table_from if not Path(f).is_file()]
        if missing:
            ap.error(f"--table-from: no such file {missing[0]}")
        merged: dict[str, dict] = {}
        for f in args.table_from:  # a later file's method replaces an earlier one's in the same setting
            for setting, methods in json.loads(Path(f).read_text())["settings"].items():
                merged.setdefault(setting, {}).update(methods)
        print(table(merged, args.settings))
        return 0
    warnings.filterwarnings("ignore")
    from invgan.solvers.latent_sampling import SAMPLING_NOISE

    if args.sampling_noise not in SAMPLING_NOISE:
        ap.error(f"--sampling-noise {args.sampling_noise!r}: expected one of {SAMPLING_NOISE}")
    from invgan.data.small_sets import load_small_set
    from invgan.loading import load_generator
    from invgan.pretrained import load_checkpoint_or_weights

    torch.manual_seed(0)
    state, where, _ = load_checkpoint_or_weights(args.generator)
    G = load_generator(state, name=where).eval()
    available = [*method_table(G, args.finetune, args.samples), "lasso"]
    unknown = sorted(set(args.methods or ()) - set(available))
    if unknown:
        ap.error(f"--methods {unknown}: not available for this generator (available: {available})")
    args.methods = args.methods or [m for m in available if m not in OPT_IN]
    held = load_small_set("mnist", "heldout").x
    first = args.n_val if args.first_test is None else args.first_test
    if first < args.n_val or first + args.n_test > len(held):
        ap.error(f"--first-test {first}: the test digits must lie in [{args.n_val}, {len(held)}) (after the validation digits)")
    x_val, x_test = held[: args.n_val], held[first : first + args.n_test]
    example = _csgm_example()
    results = {}
    for setting in args.settings:
        results[setting] = run_setting(setting, G, x_val, x_test, args, example)
        print(f"{setting}: " + ", ".join(f"{n} {v['mse']:.5f}" for n, v in results[setting].items()), flush=True)
        if args.json:  # after every setting: a long run stopped early keeps what it measured
            Path(args.json).write_text(json.dumps({"settings": results, "args": vars(args), "generator": where}, indent=2))
    print(table(results, args.settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
