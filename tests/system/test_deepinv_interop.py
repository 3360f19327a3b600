"""deepinv models train in invgan's trainer; invgan reconstructors run through deepinv's Trainer.test."""

import deepinv as dinv
import torch
from torch.utils.data import DataLoader

from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
from invgan.physics import make_physics
from invgan.training import Trainer, conditional_gan


def test_deepinv_unet_trains_in_invgan_trainer():
    mm = make_physics("blur", (1, 16, 16), sigma=1.0)
    model = dinv.models.ArtifactRemoval(dinv.models.UNet(1, 1, scales=2, batch_norm=False), mode="adjoint")
    D = PatchGANDiscriminator(1, width=4, n_layers=1)
    recipe = conditional_gan(model, mm, D, objective="lsgan", adv_weight=0.01, reconstruction="mse")
    opts = {"G": torch.optim.Adam(model.parameters(), 1e-3), "D": torch.optim.Adam(D.parameters(), 1e-3)}
    trainer = Trainer(recipe, opts, steps=3, device="cpu", progress=False)
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.rand(3, 2, 1, 16, 16)
    trainer.fit(x)
    assert trainer.step == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_invgan_reconstructor_runs_through_deepinv_trainer_test(tmp_path):
    mm = make_physics("blur", (1, 16, 16), sigma=1.0)
    model = ConditionalReconstructor(1, width=4, depth=2, lift="tikhonov")
    x = torch.rand(4, 1, 16, 16)
    loader = DataLoader(x, batch_size=2)  # a dataset of images x (deepinv measures them online)
    trainer = dinv.Trainer(
        model=model, physics=mm.physics, optimizer=None, train_dataloader=loader, online_measurements=True,
        metrics=[dinv.metric.PSNR()], device="cpu", save_path=str(tmp_path), verbose=False, plot_images=False,
        compare_no_learning=True,
    )
    results = trainer.test(loader)
    assert "PSNR" in results and torch.isfinite(torch.tensor(results["PSNR"]))
    assert "PSNR no learning" in results
