"""``invgan interpolate``: a network between the warm-up and the adversarial weights, read back by ``invgan reconstruct``."""

from __future__ import annotations

import torch

from invgan.config import resolve
from invgan.training import build_run


def _tiny(preset: str, tmp_path, *extra: str):
    return resolve(preset=preset, overrides=[
        "data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8", "model.blocks=1",
        "model.d_width=8", "train.steps=4", "train.eval_every=4", "train.checkpoint_every=4", "train.progress=false",
        "train.tensorboard=false", f"train.out_dir={tmp_path / preset}", *extra])


def test_cli_interpolate_writes_a_network_reconstruct_reads(tmp_path):
    from invgan.cli import main
    from invgan.training.checkpoint import export_network

    cfg = _tiny("srgan-x4", tmp_path, "loss.adv_start=2")
    build_run(cfg).fit()
    run_dir = tmp_path / "srgan-x4"
    for alpha, ref in (("0", "pretrained.pt"), ("1", "last.pt")):
        out = tmp_path / f"interp{alpha}.pt"
        assert main(["interpolate", str(run_dir), "--alpha", alpha, "--out", str(out)]) == 0
        got, _ = export_network(out)
        want, _ = export_network(run_dir / ref, "G", ema=True)
        assert all(torch.equal(got[k], want[k]) for k in want if want[k].is_floating_point())
    from torchvision.utils import save_image

    save_image(torch.rand(1, 32, 32), tmp_path / "img.png")
    assert main(["reconstruct", str(tmp_path / "img.png"), "--checkpoint", str(tmp_path / "interp1.pt"), "--out", str(tmp_path / "rec")]) == 0
    assert (tmp_path / "rec" / "img_reconstruction.png").exists()
    assert main(["interpolate", str(tmp_path), "--alpha", "0.5", "--out", str(tmp_path / "x.pt")]) == 2  # no pretrained.pt there
    assert main(["interpolate", str(run_dir), "--alpha", "1.5", "--out", str(tmp_path / "x.pt")]) == 2
    assert not (tmp_path / "x.pt").exists()


def test_cli_interpolate_refuses_two_unrelated_runs(tmp_path, capsys):
    """pretrained.pt of one run and last.pt of another (another seed, same shapes) are not blended."""
    from invgan.cli import main

    for name, seed in (("a", 0), ("b", 1)):
        cfg = _tiny("srgan-x4", tmp_path, "loss.adv_start=1", "train.steps=2", "train.eval_every=0", "train.checkpoint_every=2",
                    f"train.seed={seed}", f"train.out_dir={tmp_path / name}")
        build_run(cfg).fit()
    out = tmp_path / "x.pt"
    rc = main(["interpolate", "--psnr", str(tmp_path / "a" / "pretrained.pt"), "--gan", str(tmp_path / "b" / "last.pt"), "--alpha", "0.5",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "come from different runs" in err and "train.seed = 0 there, 1 here" in err and not out.exists()
    # the two ends of one run still blend
    assert main(["interpolate", str(tmp_path / "a"), "--alpha", "0.5", "--out", str(out)]) == 0 and out.exists()
