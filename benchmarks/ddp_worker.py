"""Throughput of one training process, alone or as one of several under torchrun (the DDP row of
``python -m benchmarks``). Prints ``samples_per_s=<per-process samples per second>`` on rank 0.

    python benchmarks/ddp_worker.py STEPS BATCH                      # one process
    python -m torch.distributed.run --standalone --nproc_per_node=2 benchmarks/ddp_worker.py STEPS BATCH [DEVICE]
"""

from __future__ import annotations

import sys
import time
import warnings

import torch


def main(steps: int, batch: int, device: str = "cpu") -> None:
    warnings.filterwarnings("ignore")
    from invgan.config import resolve
    from invgan.data import CropStream, load_builtin
    from invgan.precision import select_device
    from invgan.training import Trainer, conditional_gan
    from invgan.training.distributed import init_from_env, shutdown
    from invgan.builders import build_measurement, build_reconstructor
    from invgan.optim import make_optimizers
    from invgan.nets import make_discriminator

    info = init_from_env(device)
    cfg = resolve("conditional", preset="demo", overrides=[f"train.device='{device}'"])
    dev = select_device(device)  # cuda:LOCAL_RANK under torchrun
    torch.manual_seed(0)
    G = build_reconstructor(cfg)
    D = make_discriminator("patchgan", 1, cfg.data.crop, width=cfg.model.d_width, spectral_norm=True, n_layers=cfg.model.d_layers)
    recipe = conditional_gan(G, build_measurement(cfg, dev), D, objective="lsgan", adv_weight=0.01)
    warm = 3
    trainer = Trainer(recipe, make_optimizers(recipe.networks, cfg.optim), warm + steps, device=dev, precision="fp32",
                      channels_last=True, progress=False, log_every=10**9)
    # per-process batch `batch`: the global batch grows with the number of processes (weak scaling)
    stream = CropStream(load_builtin("train", 1), cfg.data.crop, batch * info.world_size, seed=0)
    trainer.steps = warm
    trainer.fit(stream)
    if info.enabled:
        torch.distributed.barrier()
    trainer.steps = warm + steps
    t0 = time.perf_counter()
    trainer.fit(stream)
    seconds = time.perf_counter() - t0
    if info.is_main:
        print(f"samples_per_s={steps * batch / seconds:.3f} processes={info.world_size} threads={torch.get_num_threads()}")
    shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:4])
