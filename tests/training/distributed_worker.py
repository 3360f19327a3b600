"""Runs of tests/training/test_distributed.py, executed by ``torchrun --nproc_per_node=2`` (gloo, CPU).

``python -m torch.distributed.run --standalone --nproc_per_node=2 tests/training/distributed_worker.py OUT``
writes, per rank, ``OUT/<run>_rank<r>.pt``: the networks' state after each run:

* ``full``: 6 steps of a conditional GAN with noisy measurements and an R1 phase every 2 steps;
* ``first``, then ``resumed``: the same run stopped after 3 steps (``first/last.pt``) and
  resumed from that checkpoint to step 6 in fresh trainers;
* ``clean``: 6 steps without measurement noise, to compare with one process on the global batch;
* ``std_scale``: rcGAN's adapted std reward fed other draws on each rank (:func:`rank_draws`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from invgan.data import CropStream
from invgan.losses import r1_penalty
from invgan.nets import ConditionalReconstructor, PatchGANDiscriminator
from invgan.physics import make_physics
from invgan.training import Trainer, conditional_gan
from invgan.training.distributed import init_from_env, shutdown
from invgan.training.gan import Regularizer

STEPS, GLOBAL_BATCH, SIZE = 6, 4, 16


def images() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return [torch.rand(1, 40, 40, generator=g) for _ in range(3)]


def make_trainer(steps: int, noise: bool, out_dir=None) -> Trainer:
    """Identical weights on every rank (seed 0); fp32, no BatchNorm (spectral-norm D, no norm in R)."""
    torch.manual_seed(0)
    op = make_physics("blur", (1, SIZE, SIZE), sigma=1.0, noise_sigma=0.05 if noise else 0.0, noise="gaussian" if noise else "none")
    R = ConditionalReconstructor(channels=1, width=4, depth=2, lift="adjoint")
    D = PatchGANDiscriminator(1, width=4, n_layers=1, spectral_norm=True)
    regs = (Regularizer("R1", r1_penalty, 1.0, every=2),) if noise else ()
    recipe = conditional_gan(R, op, D, objective="lsgan", adv_weight=0.05, regularizers=regs)
    opts = {"G": torch.optim.Adam(R.parameters(), 1e-2), "D": torch.optim.Adam(D.parameters(), 1e-2)}
    return Trainer(recipe, opts, steps, device="cpu", precision="fp32", progress=False, log_every=2, out_dir=out_dir,
                   checkpoint_every=steps if out_dir is not None else 0)


def stream() -> CropStream:
    return CropStream(images(), SIZE, GLOBAL_BATCH, seed=3)


def rank_draws(rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, P, C, H, W)`` draws and their truth, other values on each rank."""
    g = torch.Generator().manual_seed(11 + rank)
    x = torch.rand(2, 1, 4, 4, generator=g)
    return x.unsqueeze(1) + (0.05 + 0.1 * rank) * torch.randn(2, 2, 1, 4, 4, generator=g), x


def main(out: Path) -> None:
    info = init_from_env("cpu")
    assert info.world_size == 2, info

    def dump(name: str, trainer: Trainer) -> None:
        torch.save({k: v.state_dict() for k, v in trainer.networks.items()}, out / f"{name}_rank{info.rank}.pt")

    t = make_trainer(STEPS, noise=True)
    t.fit(stream())
    dump("full", t)

    t = make_trainer(3, noise=True, out_dir=out / "first")
    t.fit(stream())
    dump("first", t)
    t = make_trainer(STEPS, noise=True)
    t.resume(out / "first" / "last.pt")
    t.fit(stream())
    dump("resumed", t)

    t = make_trainer(STEPS, noise=False)
    t.fit(stream())
    dump("clean", t)

    from invgan.losses import GANStep, StdReward

    reward = StdReward(adapt=0.5)
    samples, x = rank_draws(info.rank)
    reward(GANStep(x_hat=samples.flatten(0, 1), batch={"x": x}, extras={"samples": samples}, step=1))
    torch.save(reward.scale, out / f"std_scale_rank{info.rank}.pt")
    shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
