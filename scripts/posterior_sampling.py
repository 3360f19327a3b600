r"""Posterior sampling with the conditional GAN (rcGAN presets) against the deterministic cGAN presets,
at equal steps, on held-out photos: the figures of docs/posterior_sampling.md.

For each problem (deblurring: ``demo`` vs ``rcgan-deblur``; inpainting, half the pixels kept:
``inpainting`` vs ``rcgan-inpainting``) both presets are trained for ``--steps`` steps
(``invgan train``, one thread each, or reused with ``--reuse`` when ``RUNS/NAME/last.pt`` is there),
then their ``last.pt`` (not ``best.pt``, chosen on held-out crops) is scored on ``--crops`` fixed
crops of the held-out photos (``held_out_set``, seed 1234):

* the deterministic cGAN: PSNR/SSIM and patch KID of its estimate;
* rcGAN: ``--k`` draws of z per measurement (seeded); the mean of the first 8 and one draw:
  PSNR/SSIM, patch KID (and that of the mean with noise of the draws' std: the trivial sampler a
  draw must beat); the std of the draws vs the absolute error of their mean (Spearman) and the
  coverage of the per-pixel 90 % intervals, both from the first 8 draws and from all ``--k``
  (:func:`invgan.metrics.evaluate_posterior`), and the Spearman a calibrated Gaussian sampler with the same
  std map would reach (``spearman_ceiling``); and the coverage of *calibrated* 90 % intervals,
  mean ± c (std + 0.01), c fitted by split conformal prediction on ``--crops`` crops of the
  *training* photos (:func:`invgan.metrics.calibrate_intervals`; the held-out photos are not looked at).

Writes ``table.json`` (and prints the markdown table of the docs) and, per problem, ``NAME_samples.png`` (held-out crops;
columns: measurement y, 4 draws, mean of 8, std map and absolute error of the mean, both divided by
the 99th percentile of that error over the figure, truth; the crops of most contrast among the first 48) into ``--out``.

    python scripts/posterior_sampling.py --steps 1500 --runs runs/posterior --out docs/figures/posterior_sampling

``--select-beta B...`` instead chooses the std reward's weight: the rcGAN preset of each problem
is trained with ``loss.std_weight`` = each B and scored on crops of the *training* photos
(``held_out_set(..., split="train")``: the held-out photos are not looked at); written to
``selection.json`` (its markdown table printed). The rule of the rcGAN paper picks B: for samples of the true posterior the
mean of :math:`P` draws has the squared error :math:`(P+1)/(2P)` times that of one draw, so the
mean of 8 should be :math:`10\log_{10}(16/9) = 2.50` dB above one draw; the B closest to that is kept.

    python scripts/posterior_sampling.py --select-beta 0.5 1 2 4 --steps 600 --runs runs/select --out docs/figures/posterior_sampling
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan, whatever is installed

#: rcGAN's rule for beta_SD: for true posterior samples, E|x - mean of P|^2 / E|x - one draw|^2 = (P + 1) / (2P),
#: so the mean of 8 draws is 10 log10(16 / 9) = 2.50 dB above one draw
TARGET_GAP_DB = 10 * math.log10(2 * 8 / 9)

#: (problem, deterministic preset, posterior-sampling preset)
PROBLEMS = (("deblurring", "demo", "rcgan-deblur"), ("inpainting", "inpainting", "rcgan-inpainting"))


def run_seconds(folder: Path) -> float | None:
    """The training time the run's ``log.jsonl`` records (the trainer's own clock, start-up excluded)."""
    seconds = None
    for line in (folder / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("done"):
            seconds = rec.get("seconds")
    return seconds


def train(preset: str, steps: int, folder: Path, reuse: bool, extra: list[str]) -> float | None:
    """Train ``preset`` into ``folder`` with one thread, or reuse a finished run of ``steps`` steps; its
    training seconds (:func:`run_seconds`)."""
    if reuse and (folder / "last.pt").is_file():
        cfg = json.loads((folder / "config.json").read_text())
        if cfg["train"]["steps"] == steps:
            print(f"reusing {folder}", flush=True)
            return run_seconds(folder)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "invgan", "train", "--preset", preset, "--set", f"train.steps={steps}", "--set", "train.progress=false",
           "--out", str(folder), *(["--overwrite"] if (folder / "config.json").is_file() else [])]
    cmd += [a for o in extra for a in ("--set", o)]
    print(" ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return run_seconds(folder)


def crops_figure(columns: list[torch.Tensor], path: Path) -> None:
    from torchvision.utils import save_image

    tiles = torch.stack(columns, 1).flatten(0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(tiles.clamp(0, 1), path, nrow=len(columns), padding=2, pad_value=1.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500, help="training steps of every run (equal steps)")
    p.add_argument("--runs", default="runs/posterior", help="folder of the run folders")
    p.add_argument("--out", default="docs/figures/posterior_sampling", help="folder of the table and figures")
    p.add_argument("--crops", type=int, default=192, help="held-out crops")
    p.add_argument("--k", type=int, default=32, help="draws of z per measurement (>= 8)")
    p.add_argument("--show", type=int, default=3, help="crops in each figure")
    p.add_argument("--patch", type=int, default=64, help="patch size of patch KID")
    p.add_argument("--reuse", action="store_true", help="reuse finished runs of --steps steps")
    p.add_argument("--no-kid", action="store_true", help="no Inception features (PSNR, SSIM and calibration only)")
    p.add_argument("--problems", nargs="+", default=[q for q, _, _ in PROBLEMS], choices=[q for q, _, _ in PROBLEMS])
    p.add_argument("--select-beta", nargs="+", type=float, default=None, metavar="B",
                   help="choose loss.std_weight among these on training-photo crops (writes selection.json only)")
    p.add_argument("--set", dest="extra", action="append", default=[], help="an override of every run (tests: tiny runs)")
    p.add_argument("--det-set", dest="det_extra", action="append", default=[],
                   help="an override of the deterministic cGAN runs only (their folder is named after it)")
    p.add_argument("--rc-set", dest="rc_extra", action="append", default=[],
                   help="an override of the rcGAN runs only (their folders get it as a suffix), e.g. loss.std_weight=0.5")
    p.add_argument("--std-pool", type=int, default=1, metavar="k",
                   help="score (and draw) the std map pooled over k x k neighbourhoods (PosteriorSamples.pooled; k odd)")
    p.add_argument("--table", default="table", help="name of the table files (NAME.json, NAME.md) and prefix of the figures")
    args = p.parse_args(argv)
    if args.k < 8:
        p.error(f"--k must be >= 8 (the mean of 8 draws is reported), got {args.k}")
    if args.std_pool < 1 or args.std_pool % 2 == 0:  # refused before any training, not after it
        p.error(f"--std-pool must be an odd integer >= 1 (a neighbourhood centred on the pixel), got {args.std_pool}")
    from invgan.cli.common import load_reconstructor
    from invgan.metrics import calibrate_intervals, evaluate_estimator, evaluate_posterior, patch_kid, sample_set
    from invgan.nets import PosteriorSamples
    from invgan.training.conditional import held_out_set

    features = None
    if not args.no_kid:
        from invgan.metrics import InceptionFeatures

        features = InceptionFeatures()
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table: dict = {"steps": args.steps, "crops": args.crops, "k": args.k, "machine": platform.processor() or platform.machine(),
                   "torch": torch.__version__, "threads": 1, "problems": {}}
    if args.select_beta:
        return select_beta(args, runs, out)
    for problem, det_name, rc_name in PROBLEMS:
        if problem not in args.problems:
            continue
        rc_folder = runs / "-".join([rc_name, *(o.replace("=", "") for o in args.rc_extra)])
        det_folder = runs / "-".join([det_name, *(o.replace("=", "") for o in args.det_extra)])
        seconds = {det_name: train(det_name, args.steps, det_folder, args.reuse, [*args.extra, *args.det_extra]),
                   rc_name: train(rc_name, args.steps, rc_folder, args.reuse, [*args.extra, *args.rc_extra])}
        det, cfg = load_reconstructor(det_folder / "last.pt", torch.device("cpu"))
        rc, rc_cfg = load_reconstructor(rc_folder / "last.pt", torch.device("cpu"))
        det.eval(), rc.eval()
        measurement, data = held_out_set(rc_cfg, "cpu", n=args.crops)
        physics = measurement.physics
        outs: list[torch.Tensor] = []
        det_scores = evaluate_estimator(det, data, physics, outputs=outs)
        det_est = torch.cat(outs)
        torch.manual_seed(0)
        t0 = time.perf_counter()
        post = sample_set(rc.sample, data, physics, args.k)
        sample_seconds = time.perf_counter() - t0
        x = data.x.float().cpu()
        # the interval scale from crops of the training photos (never the held-out ones)
        cal_measurement, cal_data = held_out_set(rc_cfg, "cpu", n=args.crops, split="train")
        torch.manual_seed(1)
        cal = sample_set(rc.sample, cal_data, cal_measurement.physics, args.k)
        xc = cal_data.x.float().cpu()
        pool = args.std_pool
        scale8 = calibrate_intervals(PosteriorSamples.from_samples(cal.samples[:, :8]).pooled(pool), xc)
        scale_all = calibrate_intervals(cal.pooled(pool), xc)
        post8 = PosteriorSamples.from_samples(post.samples[:, :8]).pooled(pool)
        rc8 = evaluate_posterior(post8, x, features=features, patch=args.patch, interval_scale=scale8)
        rc_all = evaluate_posterior(post.pooled(pool), x, interval_scale=scale_all)
        row = {
            "deterministic": {"preset": det_name, "overrides": args.det_extra, **det_scores, "train_seconds": seconds[det_name]},
            "rcgan": {"preset": rc_name, "overrides": args.rc_extra, "std_pool": args.std_pool, "std_weight": rc_cfg.loss.std_weight, "train_seconds": seconds[rc_name], "sample_seconds": sample_seconds,
                      "mean8": rc8, f"all{args.k}": rc_all},
            "gap_db": rc8["psnr_mean"] - det_scores["psnr"],
        }
        if features is not None:
            row["deterministic"].update({k.replace("kid_det", "kid"): v for k, v in patch_kid(features, x, {"kid_det": det_est}, args.patch).items()})
        table["problems"][problem] = row
        print(json.dumps({problem: row}), flush=True)

        # the figure: measurement, 4 draws, mean of 8, std, |error of the mean|, truth; the crops of most
        # contrast among the first 48, the std and the error on one scale (the 99th percentile of the error)
        idx = x[:48].flatten(1).std(1).topk(min(args.show, len(x[:48]))).indices.sort().values
        xs, ys = x[idx], data.y[idx].float().cpu()
        shown = PosteriorSamples.from_samples(post.samples[idx, :8]).pooled(args.std_pool)
        err = (shown.mean - xs).abs()
        scale = float(torch.quantile(err.flatten(), 0.99)) or 1.0
        columns = [ys.clamp(0, 1), *[shown.samples[:, j] for j in range(4)], shown.mean, shown.std / scale, err / scale, xs]
        crops_figure(columns, out / f"{args.table}_{problem}_samples.png")
        table["problems"][problem]["figure_scale"] = scale

    (out / f"{args.table}.json").write_text(json.dumps(table, indent=1) + "\n")
    lines = ["| problem | method | PSNR (dB) | SSIM | patch KID (x1000) | Spearman std/error | coverage of 90 % intervals: "
             "quantiles of the draws | calibrated, mean ± c (std + 0.01) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    k = args.k
    for problem, row in table["problems"].items():
        d, r8, ra = row["deterministic"], row["rcgan"]["mean8"], row["rcgan"][f"all{k}"]
        kid = (lambda v, s: f"{1000 * v:.1f} ± {1000 * s:.1f}") if features is not None else (lambda v, s: "")
        lines.append(f"| {problem} | cGAN (`{d['preset']}`) | {d['psnr']:.2f} | {d['ssim']:.3f} | "
                     f"{kid(d['kid'], d['kid_std']) if features is not None else ''} | | | |")
        lines.append(f"| {problem} | rcGAN (`{row['rcgan']['preset']}`, beta_SD {row['rcgan']['std_weight']:g}), mean of 8 | {r8['psnr_mean']:.2f} | {r8['ssim_mean']:.3f} | "
                     f"{kid(r8['kid_mean'], r8['kid_mean_std']) if features is not None else ''} | "
                     f"{r8['spearman']:.2f} (8 draws), {ra['spearman']:.2f} ({k}); a calibrated sampler with this std: {r8['spearman_ceiling']:.2f} | {100 * r8['coverage']:.1f} % (8), {100 * ra['coverage']:.1f} % ({k}) | "
                     f"{100 * r8['coverage_calibrated']:.1f} % (8, c = {r8['interval_scale']:.2f}), "
                     f"{100 * ra['coverage_calibrated']:.1f} % ({k}, c = {ra['interval_scale']:.2f}) |")
        lines.append(f"| {problem} | rcGAN, one draw | {r8['psnr_sample']:.2f} | {r8['ssim_sample']:.3f} | "
                     f"{kid(r8['kid_sample'], r8['kid_sample_std']) if features is not None else ''} | | | |")
        if features is not None:  # the trivial sampler a draw must beat: the mean with noise of the draws' own std
            lines.append(f"| {problem} | baseline: mean of 8 + noise of its std | | | {kid(r8['kid_mean_noise'], r8['kid_mean_noise_std'])} | | | |")
    print("\n".join(lines))  # the markdown table (not written under docs/: Sphinx would take a .md file for a page)
    return 0


def select_beta(args: argparse.Namespace, runs: Path, out: Path) -> int:
    """Train each problem's rcGAN preset with every ``loss.std_weight`` of ``--select-beta`` and score it
    on crops of the training photos; the weight of coverage closest to 90 % is the choice."""
    from invgan.cli.common import load_reconstructor
    from invgan.metrics import evaluate_posterior, sample_set
    from invgan.nets import PosteriorSamples
    from invgan.training.conditional import held_out_set

    result: dict = {"steps": args.steps, "crops": args.crops, "k": args.k, "split": "train", "problems": {}}
    for problem, _, rc_name in PROBLEMS:
        if problem not in args.problems:
            continue
        rows = {}
        for beta in args.select_beta:
            folder = runs / f"{rc_name}-beta{beta:g}"
            seconds = train(rc_name, args.steps, folder, args.reuse, [*args.extra, f"loss.std_weight={beta}"])
            rc, cfg = load_reconstructor(folder / "last.pt", torch.device("cpu"))
            measurement, data = held_out_set(cfg, "cpu", n=args.crops, split="train")
            torch.manual_seed(0)
            post = sample_set(rc.eval().sample, data, measurement.physics, args.k)
            x = data.x.float().cpu()
            rows[beta] = {"train_seconds": seconds, "mean8": evaluate_posterior(PosteriorSamples.from_samples(post.samples[:, :8]), x),
                          f"all{args.k}": evaluate_posterior(post, x)}
            print(json.dumps({problem: {beta: rows[beta]}}), flush=True)
        gap = {b: r["mean8"]["psnr_mean"] - r["mean8"]["psnr_sample"] for b, r in rows.items()}
        best = min(rows, key=lambda b: abs(gap[b] - TARGET_GAP_DB))
        result["problems"][problem] = {"rows": {f"{b:g}": {**r, "gap_db": gap[b]} for b, r in rows.items()}, "chosen": best}
        print(f"{problem}: " + ", ".join(f"beta {b:g}: mean-of-8 minus one-draw PSNR {gap[b]:.2f} dB (target {TARGET_GAP_DB:.2f}), "
                                         f"mean-of-8 PSNR {r['mean8']['psnr_mean']:.2f}, coverage {100 * r[f'all{args.k}']['coverage']:.1f} %, "
                                         f"Spearman {r[f'all{args.k}']['spearman']:.2f}" for b, r in rows.items()) + f"; chosen {best:g}", flush=True)
    (out / "selection.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"| problem | beta_SD | mean of 8 (dB) | one draw (dB) | gap (dB; rule: {TARGET_GAP_DB:.2f}) | Spearman ({args.k} draws) | "
             f"coverage of 90 % intervals ({args.k} draws) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for problem, res in result["problems"].items():
        for b, r in res["rows"].items():
            chosen = " (chosen)" if float(b) == res["chosen"] else ""
            lines.append(f"| {problem} | {b}{chosen} | {r['mean8']['psnr_mean']:.2f} | {r['mean8']['psnr_sample']:.2f} | {r['gap_db']:.2f} | "
                         f"{r[f'all{args.k}']['spearman']:.2f} | {100 * r[f'all{args.k}']['coverage']:.1f} % |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)  # the evaluation on one thread, as the runs
    raise SystemExit(main())
