"""The export code beside ``scripts/export_weights.py`` (``scripts/weights_export.py``): its check
crops are the run's held-out set at the training crop size, exactly the crops and measurements
the check figures of the shipped files were measured on, and the script still starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from invgan.config import config_record, resolve

#: the checkout's root, found from this file upwards wherever the tests are laid out
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "scripts" / "weights_export.py").is_file())


def test_check_crops_are_the_hand_drawn_ones_at_the_training_size(repo_module):
    """sr4 evaluates on 256-pixel crops; its check figure (2 crops) and output difference (4) use
    crops of the training size, 64, drawn and measured with seed 1234, as they were when the shipped
    figures were measured: ``fixed_crops(images, crop, n)`` then ``fixed_measurements(..., seed=1234)``."""
    from invgan.builders import build_measurement
    from invgan.data import fixed_crops, fixed_measurements, load_images

    config = config_record(resolve("conditional", preset="sr4", overrides=["data.eval_crop=256"]))  # as the shipped sr4 was trained
    cfg = resolve(data=config)
    d = cfg.data
    images = load_images(d.eval_source or d.source, "test", d.channels, min_size=d.crop)
    for n in (2, 4):
        want = fixed_measurements(build_measurement(cfg), fixed_crops(images, d.crop, n, seed=1234), seed=1234)
        _, got = repo_module("scripts/weights_export.py")._held_out_crops(config, n)
        assert got.x.shape == (n, d.channels, d.crop, d.crop)
        assert torch.equal(got.x, want.x) and torch.equal(got.y, want.y)


def test_export_script_help():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_weights.py"), "--help"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "run_dir" in done.stdout and "--metrics-json" in done.stdout
