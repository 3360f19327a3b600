"""The held-out comparison of docs/cyclegan.md: a CycleGAN run and a self-supervised cGAN run
(both `invgan train` folders) on the held-out crops of their (shared) config, beside the
measurement itself, the back-projection and the best Tikhonov solution; writes a JSON of the
metrics and a figure of held-out crops (blurred | CycleGAN | self-supervised cGAN | truth).

    python scripts/cyclegan_compare.py RUN_CYCLEGAN RUN_CGAN --json docs/figures/cyclegan_deblur.json \
        --figure docs/figures/cyclegan_deblur.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan, whatever is installed

import torch  # noqa: E402

from invgan.cli.common import load_reconstructor  # noqa: E402
from invgan.data import fixed_crops, fixed_measurements, load_images  # noqa: E402
from invgan.metrics import baselines, evaluate_estimator  # noqa: E402
from invgan.builders import build_measurement  # noqa: E402


def seconds(run: Path) -> float:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return sum(r["seconds"] for r in rows if r.get("done"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cyclegan", type=Path)
    p.add_argument("cgan", type=Path)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--figure", type=Path)
    p.add_argument("--crops", type=int, default=3, help="held-out crops in the figure (the first ones: one per held-out photo)")
    args = p.parse_args()
    torch.set_num_threads(1)
    models, cfgs = {}, {}
    for name, run in (("cyclegan", args.cyclegan), ("cgan", args.cgan)):
        models[name], cfgs[name] = load_reconstructor(run / "last.pt", torch.device("cpu"))
    cfg = cfgs["cyclegan"]
    if (cfg.physics, cfg.data.crop, cfg.data.eval_crops) != (cfgs["cgan"].physics, cfgs["cgan"].data.crop, cfgs["cgan"].data.eval_crops):
        raise SystemExit("the two runs have other operators or held-out crops: they cannot be compared")
    d = cfg.data
    measurement = build_measurement(cfg)
    test = load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop)
    data = fixed_measurements(measurement, fixed_crops(test, d.crop, d.eval_crops), seed=1234)  # the runs' own evaluation set
    physics = measurement.physics
    with torch.no_grad():
        rows = {"measurement y (identity map)": evaluate_estimator(lambda y, physics: y, data, physics)}
        base = baselines(data, physics)
        rows["back-projection A^T y"] = {"psnr": base["baseline_psnr"], "ssim": base["baseline_ssim"]}
        rows[f"best Tikhonov (gamma {base['classical_gamma']:.3g}, oracle)"] = {"psnr": base["classical_psnr"], "ssim": base["classical_ssim"]}
        for name, label, run in (("cgan", "self-supervised cGAN", args.cgan), ("cyclegan", "CycleGAN", args.cyclegan)):
            rows[label] = {**evaluate_estimator(models[name], data, physics), "steps": cfgs[name].train.steps, "seconds": seconds(run)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"crops": d.eval_crops, "crop": d.crop, "rows": rows}, indent=2) + "\n")
    for label, r in rows.items():
        print(f"{label:45s} PSNR {r['psnr']:.2f}  SSIM {r['ssim']:.3f}" + (f"  {r['steps']} steps  {r['seconds']:.0f} s" if "steps" in r else ""))
    if args.figure is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        x, y, params = next(data.batches(len(data.x)))
        pick = torch.arange(min(args.crops, len(x)))  # crops j of the fixed set come from held-out photo j mod (number of photos)
        x, y = x[pick], y[pick]
        with torch.no_grad():
            columns = {"blurred y": y, "CycleGAN": models["cyclegan"](y, physics), "self-supervised cGAN": models["cgan"](y, physics), "truth": x}
        fig, axes = plt.subplots(len(x), len(columns), figsize=(2.2 * len(columns), 2.2 * len(x)), squeeze=False)
        for j, (title, images) in enumerate(columns.items()):
            for i in range(len(x)):
                ax = axes[i, j]
                ax.imshow(images[i, 0].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([]), ax.set_yticks([])
                if i == 0:
                    ax.set_title(title, fontsize=10)
        fig.tight_layout()
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=100)


if __name__ == "__main__":
    main()
