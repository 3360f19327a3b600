r"""DIP and TV on a suite of images and problems (issue #9).

Images (``skimage.data``, centre-cropped to a square and resized with
anti-aliasing to ``--size``): camera, coins, text, brick in grayscale; coffee,
chelsea, rocket, astronaut in RGB; and three of dense texture: grass, gravel (grayscale),
immunohistochemistry (RGB).  Problems, each image with its own mask/noise
seed: inpainting with 50 % and 20 % of the pixels kept (noiseless),
denoising at :math:`\sigma = 25/255`, and x4 super-resolution (bicubic, noiseless).

For every pair, DIP runs **once** with ``stop="none"`` to ``max_steps`` and its
per-step statistics are saved (``--out``/traces/*.npz).  The automatic stop is
then replayed on them with :func:`invgan.solvers.dip.replay_stop`: the exact step
the online rule chooses, so one run gives both

* the PSNR at the automatic stop, the step it returns, the step at which it
  decides and the seconds up to that step (what ``stop="auto"`` costs), and
* the oracle: the best PSNR of the averaged estimate along the whole run (it
  needs the reference; reported only, never used).

TV: FISTA (deepinv) on :math:`\tfrac12\|Ax-y\|^2 + \lambda\,\mathrm{TV}(x)`,
:math:`\lambda` tuned per problem on one image (``--tv-tune-image``) over a grid
and then fixed for every image.

    PYTHONPATH=. python benchmarks/dip_suite.py [--size 128] [--threads 1] [--out runs/dip_suite]
    PYTHONPATH=. python benchmarks/dip_suite.py --replay --config '{"tolerance": 2e-4}'   # re-evaluate saved traces
    PYTHONPATH=. python benchmarks/dip_suite.py --quick                                   # tiny smoke run

Prints one markdown table and a summary per problem.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from invgan.classical import choose_denoiser, classical_estimate
from invgan.physics import enforce_consistency, make_physics
from invgan.solvers.dip import DIPConfig, DIPResult, deep_image_prior, replay_stop, resolve_consistency

IMAGES: dict[str, int] = {
    "camera": 1, "coins": 1, "text": 1, "brick": 1,
    "coffee": 3, "chelsea": 3, "rocket": 3, "astronaut": 3,
    # dense texture (issue #23): foliage-like grass, gravel, and a stained tissue section full of cells
    "grass": 1, "gravel": 1, "immunohistochemistry": 3,
}
PROBLEMS: dict[str, tuple[str, dict[str, Any], float]] = {
    "inpainting 50%": ("inpainting", {"keep": 0.5}, 0.0),
    "inpainting 20%": ("inpainting", {"keep": 0.2}, 0.0),
    "denoising 25/255": ("denoising", {}, 25.0 / 255.0),
    "SR x4": ("downsampling", {"factor": 4}, 0.0),
}
TV_LAMBDAS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
RULE_FIELDS = ("stop", "noise_sigma", "discrepancy", "tolerance", "drift_tolerance", "settle_fallback", "window", "patience", "wmv_tolerance", "min_steps",
               "heldout_gate")
QUICK = dict(size=32, images=["camera", "coffee"], max_steps=60, tv_iters=20, tv_lambdas=(0.01, 0.05))


def load_image(name: str, size: int) -> Tensor:
    """``skimage.data.<name>`` centre-cropped to a square, anti-aliased to ``size x size``, ``(C, size, size)``."""
    from skimage.transform import resize

    from invgan.data.images import load_builtin

    if name not in IMAGES:
        raise ValueError(f"unknown suite image {name!r}: expected one of {tuple(IMAGES)}")
    img = load_builtin(names=[name], channels=IMAGES[name])[0].numpy()
    h, w = img.shape[-2:]
    s = min(h, w)
    img = img[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    small = resize(img, (img.shape[0], size, size), anti_aliasing=True, preserve_range=True)
    return torch.from_numpy(np.clip(small, 0, 1).astype(np.float32))


def make_problem(problem: str, x: Tensor, seed: int) -> tuple[Tensor, Any]:
    """The measurement and physics of ``problem`` for the image ``x`` ``(C, H, W)``; ``seed`` draws its mask and noise."""
    name, kwargs, sigma = PROBLEMS[problem]
    model = make_physics(name, tuple(x.shape), noise="gaussian" if sigma > 0 else "none", noise_sigma=sigma, seed=seed, **kwargs)
    torch.manual_seed(seed)
    return model.measure(x[None]), model.physics


def psnr(a: Tensor, b: Tensor) -> float:
    return float(10 * torch.log10(1.0 / (a.clamp(0, 1) - b).pow(2).mean()))


def suite_classical(y: Tensor, physics, problem: str) -> Tensor:
    """The classical estimate a row reports: the operator's (:func:`~invgan.classical.classical_estimate`),
    and for denoising the TV or non-local-means denoiser of least SURE (:func:`~invgan.classical.choose_denoiser`)."""
    sigma = PROBLEMS[problem][2]
    if PROBLEMS[problem][0] == "denoising" and sigma > 0:
        return choose_denoiser(y, torch.tensor([sigma]))[0]
    return classical_estimate(y, physics)


def tv_fista(y: Tensor, physics, lam: float, iters: int = 300) -> Tensor:
    r"""FISTA on :math:`\tfrac12\|Ax-y\|^2 + \lambda\,\mathrm{TV}(x)` (deepinv's solver and TV prox)."""
    from deepinv.optim import FISTA
    from deepinv.optim.data_fidelity import L2
    from deepinv.optim.prior import TVPrior

    solver = FISTA(data_fidelity=L2(), prior=TVPrior(n_it_max=30), lambda_reg=lam, stepsize=1.0, max_iter=iters)
    with torch.no_grad():
        return solver(y, physics).clamp(0, 1)


def tune_tv(problem: str, x: Tensor, seed: int, lambdas=TV_LAMBDAS, iters: int = 300) -> float:
    """The :math:`\\lambda` of the grid with the best PSNR on one image (then fixed for the suite)."""
    y, physics = make_problem(problem, x, seed)
    scores = {lam: psnr(tv_fista(y, physics, lam, iters), x[None]) for lam in lambdas}
    return max(scores, key=scores.get)


def save_trace(path: Path, res: DIPResult, returned_psnr: float = float("nan")) -> None:
    """The per-step statistics of a ``stop="none"`` run (sample 0), and the PSNR of the image it returned
    (after its consistency step)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        loss=res.loss_history[:, 0].numpy(), residual=res.residual_history[:, 0].numpy(),
        change=res.change_history[:, 0].numpy(), drift=res.drift_history[:, 0].numpy(),
        variance=res.variance_history[:, 0].numpy() if res.variance_history is not None else np.full(res.steps, np.nan),
        stopped=np.array([res.stopped_at[0], res.decided_at[0]]), rule=np.array(res.rules[:1]),
        psnr=res.psnr_history[:, 0].numpy(), time=res.time_history.numpy(),
        noise_sigma=np.array(res.noise_sigma[:1]), config=json.dumps(dataclasses.asdict(res.config)), precision=res.precision,
        returned=np.array(returned_psnr), consistency=res.consistency,
        network=res.network[0] if res.network else res.config.net, network_scores=json.dumps({k: v[0] for k, v in res.network_scores.items()}),
        blend_weight=np.array(res.blend_weight[:1]), classical=np.array(res.classical[:1]),
        heldout=res.heldout_history[:, 0].numpy() if res.heldout_history is not None else np.full(res.steps, np.nan),
    )


def load_trace(path: Path) -> DIPResult:
    """A saved trace as a :class:`DIPResult` (no image) that :func:`replay_stop` accepts."""
    d = np.load(path)
    col = lambda k: torch.from_numpy(d[k]).float()[:, None]  # noqa: E731
    cfg = DIPConfig.from_dict(json.loads(str(d["config"])))
    return DIPResult(
        x_hat=torch.empty(0), steps=len(d["loss"]), loss_history=col("loss"), psnr_history=col("psnr"),
        seconds=float(d["time"][-1]), time_history=torch.from_numpy(d["time"]).float(), variance_history=col("variance"),
        residual_history=col("residual"), change_history=col("change"), drift_history=col("drift") if "drift" in d else None, noise_sigma=[float(d["noise_sigma"][0])],
        precision=str(d["precision"]), config=cfg,
        stopped_at=[int(d["stopped"][0])] if "stopped" in d else [], decided_at=[int(d["stopped"][1])] if "stopped" in d else [],
        rules=[str(d["rule"][0])] if "rule" in d else [], consistency=str(d["consistency"]) if "consistency" in d else "none",
        network=[str(d["network"])] if "network" in d else [cfg.net],
        network_scores={k: [v] for k, v in json.loads(str(d["network_scores"])).items()} if "network_scores" in d else {},
        blend_weight=[float(w) for w in d["blend_weight"]] if "blend_weight" in d else [],
        heldout_history=col("heldout") if "heldout" in d and bool(np.isfinite(d["heldout"]).any()) else None,
        classical=[str(c) for c in d["classical"]] if "classical" in d else [],
    )


def evaluate(res: DIPResult, rule: dict[str, Any] | None = None, online: bool = False, returned_psnr: float = float("nan")) -> dict[str, Any]:
    """Automatic stop (replayed, or as the online run took it) and oracle (best along the run) of one run.

    ``online``: ``auto_psnr`` is that of the image the run returned (``returned_psnr``, after its
    consistency step) and ``estimate_psnr`` that of the averaged estimate before it; a replayed stop
    has only the latter (the trace holds no image)."""
    if online:
        stopped, decided, rules = res.stopped_at, res.decided_at, res.rules
    else:
        stopped, decided, rules = replay_stop(res, rule or {})
    curve = res.psnr_history[:, 0]
    curve = curve[: int(torch.isfinite(curve).nonzero().max()) + 1]  # net="auto": the chosen run's steps (NaN after)
    best = int(curve.argmax())
    estimate = float(curve[stopped[0] - 1])
    returned = returned_psnr if online and returned_psnr == returned_psnr else estimate  # NaN: no image saved
    return dict(
        rule=rules[0], auto_psnr=returned, estimate_psnr=estimate, consistency=res.consistency if online else "none",
        auto_step=stopped[0], decided=decided[0],
        seconds=float(res.time_history[decided[0] - 1]), oracle_psnr=float(curve[best]), oracle_step=best + 1,
        last_psnr=float(curve[-1]), steps=res.steps, run_seconds=float(res.time_history[-1]),
        network=res.network[0] if res.network else res.config.net,
        **({"network_heldout_mse": {k: v[0] for k, v in res.network_scores.items()}} if res.network_scores else {}),
        **({"blend_weight": res.blend_weight[0]} if res.blend_weight else {}),
        **({"classical": res.classical[0]} if res.classical else {}),
        **({"tile_decided": [t["decided_at"] for t in res.tiles[0]]} if res.tiles else {}),  # tile > 0: each tile's stop
    )


def rule_of(cfg: DIPConfig, rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stopping-rule fields of ``cfg`` updated by ``rule`` (``stop="none"`` becomes ``"auto"``)."""
    out = {**{f: getattr(cfg, f) for f in RULE_FIELDS}, **(rule or {})}
    if out["stop"] == "none":
        out["stop"] = "auto"
    return out


def run_suite(images, problems, size: int, cfg: DIPConfig, out: Path, tv_tune_image: str, tv_iters: int,
              tv_lambdas=TV_LAMBDAS, replay: bool = False, rule: dict[str, Any] | None = None, log=print,
              online: bool = False) -> list[dict[str, Any]]:
    """Every (image, problem) pair: DIP traced once (or its saved trace when ``replay``), TV with the tuned lambda.

    The stopping rule replayed on the traces is that of ``cfg`` (``stop="auto"`` unless
    ``cfg`` names a rule; the run itself is traced with ``stop="none"``), updated by ``rule``:
    a saved trace is always judged by the current rule, not by the one it was recorded with.
    ``online``: each run stops by its own rule instead (far cheaper where runs stop early, as at
    256²); its row is the run's own stop, and its oracle the best PSNR up to that stop.
    """
    rule = rule_of(cfg, rule)
    rows = []
    for problem in problems:
        slug = problem.replace(" ", "_").replace("/", "-").replace("%", "pct")
        tv_file = out / f"tv_{slug}.json"  # one cache per problem: problems can run in parallel processes
        tv_cache: dict[str, Any] = json.loads(tv_file.read_text()) if tv_file.is_file() else {}
        key = f"{problem}|{size}|{tv_iters}"
        if key not in tv_cache.get("lambda", {}):
            lam = tune_tv(problem, load_image(tv_tune_image, size), seed=1 + list(IMAGES).index(tv_tune_image), lambdas=tv_lambdas, iters=tv_iters)
            tv_cache.setdefault("lambda", {})[key] = lam
        lam = tv_cache["lambda"][key]
        for name in images:
            seed = 1 + list(IMAGES).index(name)
            x = load_image(name, size)
            y, physics = make_problem(problem, x, seed)
            trace = out / "traces" / f"{slug}_{name}_{size}{'_online' if online else ''}.npz"
            returned = float("nan")
            if replay or trace.is_file():
                res = load_trace(trace)
                with np.load(trace) as saved:
                    returned = float(saved["returned"]) if "returned" in saved else float("nan")
            else:
                run_cfg = dataclasses.replace(cfg, **{k: v for k, v in rule.items() if k != "stop"}) if online else cfg
                res = deep_image_prior(y, physics, config=run_cfg, reference=x[None], progress=False,
                                       **({"stop": rule["stop"]} if online else {"stop": "none"}))
                returned = psnr(res.x_hat, x[None])
                save_trace(trace, res, returned)
            tv_key = f"{key}|{name}"
            if len(tv_cache.setdefault("psnr", {}).get(tv_key, ())) < 3:
                t = time.perf_counter()
                x_tv = tv_fista(y, physics, lam, tv_iters)
                seconds = time.perf_counter() - t
                # TV's estimate through the same consistency step as DIP's (where the operator allows it)
                mode = resolve_consistency("auto", physics)
                tv_cache["psnr"][tv_key] = [psnr(x_tv, x[None]), seconds, psnr(enforce_consistency(physics, x_tv, y, mode), x[None])]
            tv_psnr, tv_seconds, tv_consistent = tv_cache["psnr"][tv_key]
            if tv_key not in tv_cache.setdefault("classical", {}):  # biharmonic inpainting, bicubic; the SURE-chosen denoiser
                tv_cache["classical"][tv_key] = psnr(suite_classical(y, physics, problem), x[None])
            row = dict(image=name, channels=x.shape[0], problem=problem, **evaluate(res, rule, online, returned), tv_psnr=tv_psnr,
                       tv_consistent_psnr=tv_consistent, tv_lambda=lam, tv_seconds=tv_seconds, classical_psnr=tv_cache["classical"][tv_key])
            rows.append(row)
            out.mkdir(parents=True, exist_ok=True)
            tv_file.write_text(json.dumps(tv_cache))
            log(json.dumps(row))
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """One markdown table of every pair (online runs: also the averaged estimate before the consistency
    step, and TV's estimate through the same step)."""
    lines = ["| problem | image | rule | DIP auto (dB) | before consistency | oracle (dB) | gap | TV (dB) | TV + consistency | classical (dB) | auto − TV | returned / decided step | seconds to stop |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['image']}{' (RGB)' if r['channels'] == 3 else ''} | {r['rule']} | {r['auto_psnr']:.2f} | "
            f"{r.get('estimate_psnr', r['auto_psnr']):.2f} | "
            f"{r['oracle_psnr']:.2f} (step {r['oracle_step']}) | {r['oracle_psnr'] - r['auto_psnr']:.2f} | {r['tv_psnr']:.2f} | "
            f"{r.get('tv_consistent_psnr', r['tv_psnr']):.2f} | {r.get('classical_psnr', float('nan')):.2f} | "
            f"{r['auto_psnr'] - r['tv_psnr']:+.2f} | {r['auto_step']} / {r['decided']} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """Per problem: mean auto, oracle, TV and classical PSNR, mean and worst gap to the oracle, DIP wins over TV
    and over the classical estimate (biharmonic inpainting, bicubic interpolation; for denoising the SURE-chosen denoiser)."""
    lines = ["| problem | DIP auto | oracle | TV | classical | mean gap to oracle | worst gap (image) | auto − TV | DIP > TV | auto − classical | DIP > classical | mean steps to decide | mean seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for problem in dict.fromkeys(r["problem"] for r in rows):
        rs = [r for r in rows if r["problem"] == problem]
        mean = lambda k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
        worst = max(rs, key=lambda r: r["oracle_psnr"] - r["auto_psnr"])
        wins = sum(r["auto_psnr"] > r["tv_psnr"] for r in rs)
        classical = [r.get("classical_psnr", math.nan) for r in rs]
        lines.append(
            f"| {problem} | {mean('auto_psnr'):.2f} | {mean('oracle_psnr'):.2f} | {mean('tv_psnr'):.2f} | {sum(classical) / len(rs):.2f} | "
            f"{mean('oracle_psnr') - mean('auto_psnr'):.2f} | {worst['oracle_psnr'] - worst['auto_psnr']:.2f} ({worst['image']}) | "
            f"{mean('auto_psnr') - mean('tv_psnr'):+.2f} | {wins}/{len(rs)} | {mean('auto_psnr') - sum(classical) / len(rs):+.2f} | "
            f"{sum(r['auto_psnr'] > c for r, c in zip(rs, classical))}/{len(rs)} | {mean('decided'):.0f} | {mean('seconds'):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=None, help="image side, a multiple of 4 (default 128)")
    parser.add_argument("--images", nargs="+", default=None, choices=list(IMAGES), help="default: all")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--max-steps", type=int, default=None, help="length of each traced DIP run (default: DIPConfig)")
    parser.add_argument("--config", default="{}", help="JSON DIPConfig fields of the traced runs")
    parser.add_argument("--rule", default="{}", help="JSON DIPConfig fields of the replayed stopping rule (e.g. tolerance)")
    parser.add_argument("--precision", default="fp32", help="precision of the traced runs (fp32: the same on any CPU)")
    parser.add_argument("--tv-tune-image", default="camera", choices=list(IMAGES))
    parser.add_argument("--tv-iters", type=int, default=None, help="FISTA iterations (default 300)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="runs/dip_suite", help="folder of the traces and TV cache")
    parser.add_argument("--replay", action="store_true", help="only re-evaluate saved traces")
    parser.add_argument("--online", action="store_true", help="each run stops by its rule (no full trace: cheaper; oracle up to the stop)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK}")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    defaults = dict(QUICK) if args.quick else dict(size=128, images=list(IMAGES), max_steps=None, tv_iters=300, tv_lambdas=TV_LAMBDAS)
    for key in ("size", "images", "max_steps", "tv_iters"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    lambdas = defaults["tv_lambdas"]
    if args.quick and args.out == "runs/dip_suite":
        args.out = "runs/dip_suite_quick"
    if args.size % 4:
        raise ValueError(f"invalid --size={args.size}: expected a multiple of 4 (x4 super-resolution)")
    values = {"precision": args.precision, **json.loads(args.config)}
    if args.max_steps:
        values["max_steps"] = args.max_steps
    cfg = DIPConfig.from_dict(values)
    rows = run_suite(args.images, args.problems, args.size, cfg, Path(args.out), args.tv_tune_image, args.tv_iters,
                     tv_lambdas=lambdas, replay=args.replay, rule=json.loads(args.rule), online=args.online)
    print(f"\n{args.size}x{args.size}, DIP {cfg.net} {cfg.channels} ch, depth {cfg.depth}, lr {cfg.lr}, {cfg.precision}, "
          f"traced to {', '.join(f'{p}: {n}' for p, n in {r['problem']: r['steps'] for r in rows}.items())} steps; "
          f"rule {'; '.join(f'{k}={v}' for k, v in rule_of(cfg, json.loads(args.rule)).items())}; "
          f"TV FISTA {args.tv_iters} it., lambda tuned on {args.tv_tune_image}\n")
    print(table(rows))
    print()
    print(summary(rows))
    return rows


if __name__ == "__main__":
    main()
