"""A deepinv model trained by invgan's trainer, then tested by deepinv's own Trainer.test.

    python examples/deepinv_model_in_invgan.py [--steps 200] [--out runs/deepinv-unet]
"""

import argparse

import deepinv as dinv
import torch

from invgan.data import CropStream, fixed_crops, load_builtin
from invgan.nets import PatchGANDiscriminator
from invgan.physics import make_physics
from invgan.training import Trainer, conditional_gan

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--out", default="runs/deepinv-unet")
args = ap.parse_args()

op = make_physics("blur", (1, 64, 64), sigma=2.0, noise_sigma=0.01)
model = dinv.models.ArtifactRemoval(dinv.models.UNet(1, 1, scales=3, batch_norm=False), mode="adjoint")
D = PatchGANDiscriminator(1, width=32, n_layers=2, spectral_norm=True)
recipe = conditional_gan(model, op, D, objective="hinge", adv_weight=1e-3, reconstruction="mse")
opts = {"G": torch.optim.Adam(model.parameters(), 1e-3), "D": torch.optim.Adam(D.parameters(), 2e-4)}
Trainer(recipe, opts, steps=args.steps, out_dir=args.out).fit(CropStream(load_builtin("train"), 64, 8))

test = torch.utils.data.DataLoader(fixed_crops(load_builtin("test"), 64, 32), batch_size=8)
print(dinv.Trainer(model=model, physics=op.physics, optimizer=None, train_dataloader=test, online_measurements=True,
                   metrics=[dinv.metric.PSNR()], save_path=None, verbose=False, plot_images=False).test(test))
