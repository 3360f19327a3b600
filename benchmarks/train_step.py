"""Train-step speed, measured side by side in one run.

Three runners do the same math on the same batches with identically initialised networks
(the demo's reconstructor and discriminator, LSGAN objective, supervised MSE + adversarial):

* ``invgan``: :class:`invgan.training.Trainer` running the conditional-GAN recipe;
* ``raw``: a hand-written PyTorch loop (one G forward, D step on the detached fake, G step with D frozen),
  in plain NCHW layout and in invgan's default layout (``train.channels_last``: NHWC convolutions
  are faster on CPU with oneDNN and on CUDA tensor cores);
* ``deepinv``: ``deepinv.training.AdversarialTrainer`` with the same networks and the equivalent losses.

The one deliberate difference: invgan evaluates D's spectral-normalised weights once per phase
(``torch.nn.utils.parametrize.cached``), so real and fake are judged by the same D and the
normalisation is differentiated once; the raw loop and deepinv re-normalise at every call of D.

Rounds are interleaved (raw, invgan, deepinv, raw, ...) and the median per-step time is reported,
so machine load affects all three alike. Usage::

    python benchmarks/train_step.py [--steps 30] [--rounds 3] [--batch-size 8] [--device auto]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time
import warnings

import torch
import torch.nn.functional as F

from invgan.data import CropStream, load_builtin
from invgan.losses.objectives import d_lsgan, g_lsgan
from invgan.config import resolve
from invgan.precision import select_device
from invgan.training import Trainer, conditional_gan
from invgan.builders import build_measurement, build_reconstructor
from invgan.nets import make_discriminator

LAMBDA = 0.01  # adversarial weight


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_parts(cfg, device):
    torch.manual_seed(0)
    G = build_reconstructor(cfg).to(device)
    D = make_discriminator(cfg.model.discriminator, cfg.data.channels, cfg.data.crop, width=cfg.model.d_width,
                           spectral_norm=cfg.model.spectral_norm, n_layers=cfg.model.d_layers).to(device)
    return G, D


def adam(params, lr):
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


def run_raw(G, D, op, batches, device, channels_last: bool = False, precision: str = "fp32") -> float:
    """The hand-written loop; ``precision`` "bf16" or "fp16" runs the forwards under autocast (fp16
    with a gradient scaler shared by both optimisers, as the trainer does)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    G, D = G.to(memory_format=fmt), D.to(memory_format=fmt)
    opt_g, opt_d = adam(G.parameters(), 1e-3), adam(D.parameters(), 2e-4)
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def autocast():
        return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    physics = op.physics
    sync(device)
    t0 = time.perf_counter()
    for x in batches:
        x = x.to(memory_format=fmt)
        with autocast():
            y = physics(x)
            x_hat = G(y, physics)
        for p in D.parameters():
            p.requires_grad_(True)
        with autocast():
            d_loss = d_lsgan(D(x), D(x_hat.detach()))
        scaler.scale(d_loss).backward()
        scaler.step(opt_d)
        opt_d.zero_grad(set_to_none=True)
        scaler.update()
        for p in D.parameters():
            p.requires_grad_(False)
        with autocast():
            g_loss = F.mse_loss(x_hat, x) + LAMBDA * g_lsgan(D(x_hat))
        scaler.scale(g_loss).backward()
        scaler.step(opt_g)
        opt_g.zero_grad(set_to_none=True)
        scaler.update()
    sync(device)
    return (time.perf_counter() - t0) / len(batches)


def run_invgan(G, D, op, batches, device, channels_last: bool = True, precision: str = "fp32") -> float:
    recipe = conditional_gan(G, op, D, objective="lsgan", adv_weight=LAMBDA, reconstruction="mse")
    opts = {"G": adam(G.parameters(), 1e-3), "D": adam(D.parameters(), 2e-4)}
    trainer = Trainer(recipe, opts, steps=len(batches), device=device, progress=False, log_every=25, channels_last=channels_last,
                      precision=precision)  # the raw loop runs fp32
    sync(device)
    t0 = time.perf_counter()
    trainer.fit(batches)
    sync(device)
    return (time.perf_counter() - t0) / len(batches)


def deepinv_trainer(G, D, op, images: torch.Tensor, batch_size: int, device, train_metrics: bool = True):
    """deepinv's ``AdversarialTrainer`` on ``G``/``D`` for one epoch over ``images``, with the math of the
    other runners: deepinv's LSGAN terms are MSE(D(.), 1 or 0) times ``weight_adv`` for both networks,
    so ``weight_adv = 0.5`` for D and ``LAMBDA / 2`` for G. No checkpoints, plots or progress bars;
    ``train_metrics`` is deepinv's default per-step training PSNR."""
    import deepinv as dinv
    from deepinv.loss.adversarial import SupAdversarialDiscriminatorLoss, SupAdversarialGeneratorLoss
    from deepinv.training import AdversarialOptimizer, AdversarialTrainer

    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=False)
    return AdversarialTrainer(
        model=G, D=D, physics=op.physics, train_dataloader=loader, epochs=1, online_measurements=True,
        losses=[dinv.loss.SupLoss(), SupAdversarialGeneratorLoss(weight_adv=LAMBDA / 2, device=device)],
        losses_d=SupAdversarialDiscriminatorLoss(weight_adv=0.5, device=device),
        optimizer=AdversarialOptimizer(adam(G.parameters(), 1e-3), adam(D.parameters(), 2e-4)),
        device=device, save_path=None, verbose=False, show_progress_bar=False, compute_train_metrics=train_metrics,
        plot_images=False, optimizer_step_multi_dataset=False,
    )


def run_deepinv(G, D, op, batches, device, train_metrics: bool = True) -> float:
    """Per-step time of deepinv's trainer: (time of N steps - time of 1 step) / (N - 1), which
    removes its set-up."""
    images = torch.cat(batches)
    bs = batches[0].shape[0]

    def timed(n_batches: int) -> float:
        trainer = deepinv_trainer(copy.deepcopy(G), copy.deepcopy(D), op, images[: n_batches * bs], bs, device, train_metrics)
        sync(device)
        t0 = time.perf_counter()
        trainer.train()
        sync(device)
        return time.perf_counter() - t0

    n = len(batches)
    return (timed(n) - timed(1)) / (n - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--skip-deepinv", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    device = select_device(args.device)
    overrides = [f"train.device='{device}'"] + ([f"data.batch_size={args.batch_size}"] if args.batch_size else [])
    cfg = resolve("conditional", preset="demo", overrides=overrides)
    op = build_measurement(cfg, device)
    stream = CropStream(load_builtin("train", cfg.data.channels), cfg.data.crop, cfg.data.batch_size, seed=0)
    batches = [stream[t].to(device) for t in range(args.steps)]
    G0, D0 = make_parts(cfg, device)
    cl = resolve("conditional").train.channels_last  # invgan's default memory format
    runners = {"raw": run_raw, "raw-same-layout": lambda *a: run_raw(*a, channels_last=cl), "invgan": lambda *a: run_invgan(*a, channels_last=cl)}
    if not args.skip_deepinv:
        runners["deepinv"] = run_deepinv
        runners["deepinv-lean"] = lambda *a: run_deepinv(*a, train_metrics=False)
    # warm-up (allocator, kernels)
    for run in runners.values():
        run(copy.deepcopy(G0), copy.deepcopy(D0), op, batches[:3], device)
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            times[name].append(run(copy.deepcopy(G0), copy.deepcopy(D0), op, batches, device))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}); "
          f"batch {cfg.data.batch_size}x{cfg.data.channels}x{cfg.data.crop}x{cfg.data.crop}; {args.steps} steps x {args.rounds} rounds")
    for k, v in med.items():
        print(f"  {k:<13} {1000 * v:8.1f} ms/step   (rounds: {', '.join(f'{1000 * t:.1f}' for t in times[k])})")
    print(f"invgan channels_last default: {cl}")
    print(f"invgan / raw loop, same memory layout : {med['invgan'] / med['raw-same-layout']:.3f}  (target <= 1.05)")
    print(f"invgan / raw loop, plain NCHW         : {med['invgan'] / med['raw']:.3f}")
    if "deepinv" in med:
        print(f"deepinv / raw loop     : {med['deepinv'] / med['raw']:.3f}")
        print(f"deepinv / invgan       : {med['deepinv'] / med['invgan']:.3f}  (target >= 1.25: invgan faster; deepinv defaults)")
        print(f"deepinv-lean / invgan  : {med['deepinv-lean'] / med['invgan']:.3f}  (deepinv without its per-step training metrics)")


if __name__ == "__main__":
    main()
