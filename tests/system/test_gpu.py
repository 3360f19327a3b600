"""The CUDA path: fp16 with a GradScaler, bf16, channels-last, pinned batches, torch.compile.
Skipped without a CUDA device (no GPU has been lent to this project's test machines yet)."""

from __future__ import annotations

import pytest
import torch

from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
from invgan.physics import make_physics
from invgan.training import Trainer, conditional_gan

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def trainer(steps: int = 3, **kw) -> Trainer:
    torch.manual_seed(0)
    op = make_physics("blur", (1, 16, 16), sigma=1.0, noise_sigma=0.01, device="cuda")
    R = ConditionalReconstructor(channels=1, width=4, depth=2, lift="adjoint")
    D = PatchGANDiscriminator(1, width=4, n_layers=1, spectral_norm=True)
    recipe = conditional_gan(R, op, D, objective="lsgan")
    opts = {"G": torch.optim.Adam(R.parameters(), 1e-3), "D": torch.optim.Adam(D.parameters(), 1e-3)}
    return Trainer(recipe, opts, steps, device="cuda", progress=False, log_every=1, **kw)


def crops():
    from invgan.data import CropStream

    return CropStream([torch.rand(1, 32, 32) for _ in range(2)], 16, 4, seed=0)


@cuda
def test_fp16_grad_scaler_steps_and_clips():
    t = trainer(precision="fp16", grad_clip=1.0)
    assert t.scaler.is_enabled()
    before = [p.detach().clone() for p in t.networks.parameters()]
    t.fit(crops())
    assert t.step == 3 and all(v == v for row in t.history for k, v in row.items() if k != "step")
    assert any(not torch.equal(a, b) for a, b in zip(before, t.networks.parameters()))
    assert t.scaler.get_scale() > 0


@cuda
def test_bf16_channels_last_pinned_batches():
    t = trainer(precision="bf16", channels_last=True)
    assert t.amp_dtype == torch.bfloat16
    loader = crops().loader(0, 1, pin_memory=True)
    assert next(iter(loader)).is_pinned()
    t.fit(crops())
    w = next(p for p in t.networks["D"].parameters() if p.dim() == 4)
    assert w.is_contiguous(memory_format=torch.channels_last)


@cuda
def test_compiled_networks_train_and_keep_their_state_dict_keys():
    t = trainer(compile=True, precision="fp32")
    keys = {k: set(net.state_dict()) for k, net in t.networks.items()}
    t.fit(crops())
    assert t.step == 3
    assert {k: set(net.state_dict()) for k, net in t.networks.items()} == keys


@cuda
@pytest.mark.parametrize("preset", ["stylegan2-mnist", "sagan-mnist"])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_stylegan2_and_sagan_train_on_cuda(preset, precision, tmp_path):
    """The plain-PyTorch StyleGAN2 (lazy R1 and path length at step 0) and SAGAN under autocast on CUDA."""
    from invgan.config import resolve
    from invgan.training import build_run

    overrides = ["train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.progress=false", "classifier_metrics=false",
                 "data.batch_size=8", "model.width=4", "model.d_width=4", "model.latent_dim=8", "train.device='cuda'",
                 f"train.precision='{precision}'"]
    run = build_run(resolve("unconditional", None, preset, overrides, None), out_dir=str(tmp_path), progress=False)
    run.fit()
    assert run.trainer.step == 2
    assert all(v == v for row in run.trainer.history for k, v in row.items() if isinstance(v, float))
    G = run.trainer.networks["G"].eval()
    z = torch.randn(3, 8, device="cuda")
    with torch.no_grad():
        x = G(z)
        for name in G.latent_spaces():
            if name == "noise" or name.startswith("layer:") and preset == "stylegan2-mnist":
                continue
            assert torch.allclose(G.from_space(name, G.to_space(name, z)), x, atol=1e-5), name
