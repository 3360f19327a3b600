"""The measurements of docs/self_supervised.md: supervised, self-supervised adversarial and
non-adversarial (deepinv's EI) runs of inpainting and deblurring with fresh operator draws, all at
the same number of steps, on the built-in photos' held-out crops, beside the classical baselines.
Runs one training at a time (in this process), evaluates every ``--eval-every`` steps, and writes a
JSON of every run's evaluations and the markdown table.

    OMP_NUM_THREADS=1 python scripts/self_supervised_table.py --steps 800 --json docs/figures/self_supervised.json

``--steps 20 --eval-every 10 --only inpainting-selfsupervised`` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan, whatever is installed

import torch  # noqa: E402

#: name: (preset, overrides, problem)
RUNS: dict[str, tuple[str, list[str], str]] = {
    "inpainting (supervised)": ("inpainting", [], "inpainting"),
    "inpainting (supervised), Tikhonov lift": ("inpainting", ["model.lift='tikhonov'"], "inpainting"),
    "inpainting-selfsupervised (adversarial, fresh masks, weight 0.1 + MC + splitting + EI)": ("inpainting-selfsupervised", [],
                                                                                               "inpainting"),
    "inpainting, adversarial (fresh masks, weight 0.1) + MC + splitting": ("inpainting-selfsupervised", [
        "loss.self_supervised='splitting'"], "inpainting"),
    "inpainting, adversarial (fresh masks, weight 0.1) + MC + EI (the preset until 2026-12-05)": ("inpainting-selfsupervised", [
        "loss.self_supervised='ei'"], "inpainting"),
    "inpainting, UAIR adversarial only (fresh masks, weight 1, cycle)": ("inpainting-selfsupervised", [
        "loss.adversarial='uair'", "loss.adv_weight=1.0", "loss.self_supervised='none'"], "inpainting"),
    "inpainting, MC + splitting (deepinv, no D)": ("inpainting-selfsupervised", [
        "loss.adv_weight=0", "loss.fresh_operator=false", "loss.self_supervised='splitting'"], "inpainting"),
    "inpainting, MC + EI (deepinv, no D)": ("inpainting-selfsupervised", [
        "loss.adv_weight=0", "loss.fresh_operator=false", "loss.self_supervised='ei'"], "inpainting"),
    "inpainting-selfsupervised, Tikhonov lift": ("inpainting-selfsupervised", ["model.lift='tikhonov'"], "inpainting"),
    "inpainting, adversarial + MC + splitting, Tikhonov lift": ("inpainting-selfsupervised", [
        "model.lift='tikhonov'", "loss.self_supervised='splitting'"], "inpainting"),
    "inpainting, adversarial + MC + EI, Tikhonov lift (the preset until 2026-12-05)": ("inpainting-selfsupervised", [
        "model.lift='tikhonov'", "loss.self_supervised='ei'"], "inpainting"),
    "deblur-selfsupervised (adversarial, fresh kernels, weight 0.1 + MC + EI)": ("deblur-selfsupervised", [], "deblurring"),
    "deblurring, UAIR adversarial only (fresh kernels, weight 1, cycle; the preset until 2026-12-05)": ("deblur-selfsupervised", [
        "loss.adversarial='uair'", "loss.adv_weight=1.0", "loss.self_supervised='none'"], "deblurring"),
    "deblurring, MC + EI (deepinv, no D)": ("deblur-selfsupervised", [
        "loss.adv_weight=0", "loss.fresh_operator=false", "loss.self_supervised='ei'"], "deblurring"),
    "deblurring, MC + MOEI (deepinv, no D, fresh kernels)": ("deblur-selfsupervised", [
        "loss.adv_weight=0", "loss.fresh_operator=false", "loss.self_supervised='moei'"], "deblurring"),
    "deblurring, adversarial (fresh kernels, weight 0.3) + MC + EI": ("deblur-selfsupervised", [
        "loss.adversarial='measurement'", "loss.adv_weight=0.3", "loss.self_supervised='ei'"], "deblurring"),
    "deblurring, adversarial (fresh kernels, weight 1) + MC + EI": ("deblur-selfsupervised", [
        "loss.adversarial='measurement'", "loss.adv_weight=1.0", "loss.self_supervised='ei'"], "deblurring"),
    "deblurring, cross-scale adversarial (y down-scaled by 2, weight 0.1) + MC + EI": ("deblur-selfsupervised", [
        "loss.adversarial='scale'", "loss.fresh_operator=false", "loss.scale_factor=2"], "deblurring"),
    "deblurring, cross-scale adversarial (y down-scaled by 4, weight 0.1) + MC + EI": ("deblur-selfsupervised", [
        "loss.adversarial='scale'", "loss.fresh_operator=false", "loss.scale_factor=4"], "deblurring"),
    "deblurring (supervised)": ("deblur-selfsupervised", [
        "loss.adversarial='supervised'", "loss.fresh_operator=false", "loss.reconstruction='mse'", "loss.adv_weight=0.01",
        "loss.mc_weight=0", "loss.self_supervised='none'"], "deblurring"),
}


def train(name: str, steps: int, eval_every: int, out: Path) -> dict:
    """One run; its evaluations, the best one, the one the no-ground-truth rule picks, and the measurement's own PSNR."""
    from invgan.config import resolve
    from invgan.metrics import evaluate_estimator
    from invgan.training import build_run

    preset, overrides, problem = RUNS[name]
    cfg = resolve(preset=preset, overrides=[*overrides, f"train.steps={steps}", f"train.eval_every={eval_every}",
                                            "train.checkpoint_every=0", "train.progress=false", "train.tensorboard=false",
                                            "train.device='cpu'", f"train.out_dir='{out}'", "train.log_every=1000000"])
    torch.manual_seed(cfg.train.seed)
    run = build_run(cfg)
    start = time.perf_counter()
    run.fit()
    seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [{"step": r["step"], **r["eval"]} for r in rows if "eval" in r]
    final, best = evals[-1], max(evals, key=lambda e: e["psnr"])
    out_row = {"name": name, "preset": preset, "overrides": overrides, "problem": problem, "steps": steps, "seconds": seconds,
               "evals": evals, "final": final, "best": best}
    if "heldout_psnr" in final:
        out_row["selected"] = max(evals, key=lambda e: e["heldout_psnr"])  # no ground truth in the choice
    if problem == "deblurring":  # the blurred measurement itself, beside A^T y
        data, physics = run.eval_data, run.trainer.recipe.evaluator.measurement.physics
        out_row["measurement"] = evaluate_estimator(lambda y, p: y, data, physics)
    return out_row


def table(rows: list[dict]) -> str:
    """Markdown: one line per run and per baseline of each problem, final / best / selected PSNR."""
    lines = ["| problem | method | final PSNR (dB) | final SSIM | best PSNR (step) | no-GT pick PSNR (step) | time (s) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    done: set[str] = set()
    for r in rows:
        f, b = r["final"], r["best"]
        if r["problem"] not in done:
            done.add(r["problem"])
            base = [("A^T y", "baseline"), ("Tikhonov (oracle gamma)", "classical"), ("biharmonic inpainting", "biharmonic"),
                    ("Wiener (oracle balance)", "wiener")]
            if "measurement" in r:
                lines.append(f"| {r['problem']} | blurred measurement y | {r['measurement']['psnr']:.2f} | {r['measurement']['ssim']:.3f} | | | |")
            for label, key in base:
                if f"{key}_psnr" in f:
                    lines.append(f"| {r['problem']} | {label} | {f[key + '_psnr']:.2f} | {f[key + '_ssim']:.3f} | | | |")
        sel = r.get("selected")
        pick = f"{sel['psnr']:.2f} ({sel['step']})" if sel else ""
        lines.append(f"| {r['problem']} | {r['name']} | {f['psnr']:.2f} | {f['ssim']:.3f} | {b['psnr']:.2f} ({b['step']}) | {pick} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--only", nargs="*", choices=list(RUNS), help="these runs only")
    p.add_argument("--json", type=Path, help="write the runs' evaluations here")
    p.add_argument("--merge", action="store_true", help="with --only and --json: keep the other runs of the existing JSON (same steps), "
                                                         "in the order of RUNS")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(args.only or RUNS):
            print(f"[{name}] {args.steps} steps ...", file=sys.stderr, flush=True)
            rows.append(train(name, args.steps, args.eval_every, Path(tmp) / f"run{i}"))
    if args.merge and args.json and args.json.is_file():
        old = json.loads(args.json.read_text())
        if old["steps"] != args.steps:
            p.error(f"--merge: {args.json} holds runs of {old['steps']} steps, not {args.steps}")
        fresh = {r["name"]: r for r in rows}
        kept = {r["name"]: r for r in old["runs"] if r["name"] in RUNS and r["name"] not in fresh}
        rows = [fresh.get(n) or kept[n] for n in RUNS if n in fresh or n in kept]
    text = table(rows)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = {"platform": platform.platform(), "processor": platform.processor(), "torch": torch.__version__,
                   "threads": torch.get_num_threads()}
        args.json.write_text(json.dumps({"machine": machine, "steps": args.steps, "runs": rows, "table": text}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
