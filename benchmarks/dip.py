r"""DIP speed against deepinv, printed from one run (CPU).

1. Iterations per second of :func:`invgan.solvers.deep_image_prior` against
   :class:`deepinv.models.DeepImagePrior` with the *same network* on the same
   problem (cameraman 256x256, 50 % inpainting): invgan in fp32 (like for like, in deepinv's NCHW
   layout and in invgan's default channels-last), in bf16 and with its defaults (``precision="auto"``: bf16 where the CPU has
   native bf16, fp32 otherwise).
2. Time to reach 22.5 dB on that problem: invgan's defaults against deepinv's
   ``ConvDecoder`` with 128 channels run as ``DeepImagePrior`` does (Adam,
   lr 1e-2, :math:`\|A R_\theta(z) - y\|^2`); the PSNR check is outside the timing.
   Runs longer than ``--cap`` seconds are reported as "> cap".

    PYTHONPATH=. python benchmarks/dip.py [--threads 2] [--cap 900]
"""

from __future__ import annotations

import argparse
import time

import torch

from invgan.data.images import load_cameraman
from invgan.physics import make_physics
from invgan.precision import describe_precision
from invgan.solvers.dip import DIPConfig, build_net, deep_image_prior

TARGET_DB = 22.5


def problem():
    x = load_cameraman()[None]
    model = make_physics("inpainting", (1, 256, 256), keep=0.5, noise="none", seed=0)
    torch.manual_seed(0)
    return x, model.measure(x), model.physics


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    from deepinv.loss.metric import PSNR

    return float(PSNR(max_pixel=1.0)(a.clamp(0, 1), b))


def iterations_per_second(y, physics, steps: int) -> dict[str, float]:
    from deepinv.models import DeepImagePrior

    cfg = DIPConfig()
    net = build_net(cfg, (1, 256, 256))
    rates = {}
    for label, n in (("deepinv DeepImagePrior", steps), ):
        dip = DeepImagePrior(net, img_size=net.input_shape(), iterations=2, learning_rate=cfg.lr)
        dip(y, physics)  # warm-up
        dip.max_iter = n
        t = time.perf_counter()
        dip(y, physics)
        rates[label] = n / (time.perf_counter() - t)
    for label, overrides in (("invgan fp32, NCHW layout (channels_last=False)", dict(precision="fp32", channels_last=False)),
                             ("invgan fp32", dict(precision="fp32")), ("invgan bf16", dict(precision="bf16")),
                             (f"invgan defaults ({describe_precision('auto')})", {})):
        # the network's steps only, as deepinv's DIP runs them (no blend with the biharmonic estimate)
        c = DIPConfig.from_dict(dict(overrides, max_steps=steps, stop="none", progress=False, blend="none"))
        deep_image_prior(y, physics, net=net, config=c, max_steps=2)  # warm-up
        res = deep_image_prior(y, physics, net=net, config=c)
        rates[label] = steps / res.seconds
    return rates


def deepinv_time_to(x, y, physics, target: float, cap: float) -> tuple[float | None, int]:
    """deepinv's ConvDecoder(128 ch) trained exactly as ``DeepImagePrior.forward`` does."""
    from deepinv.loss.mc import MCLoss
    from deepinv.models import ConvDecoder

    torch.manual_seed(0)
    net = ConvDecoder(img_size=(1, 256, 256), in_size=(4, 4), layers=7, channels=128)
    z = torch.randn((128, 4, 4)).unsqueeze(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = MCLoss()
    elapsed, step = 0.0, 0
    while elapsed < cap:
        t = time.perf_counter()
        out = net(z)
        loss = loss_fn(y=y, x_net=out, physics=physics)
        opt.zero_grad()
        loss.backward()
        opt.step()
        elapsed += time.perf_counter() - t
        step += 1
        if psnr(out.detach(), x) >= target:
            return elapsed, step
    return None, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--steps", type=int, default=20, help="steps timed for iterations per second")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds allowed to deepinv's ConvDecoder")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, auto precision here: {describe_precision('auto')}")
    x, y, physics = problem()

    rates = iterations_per_second(y, physics, args.steps)
    base = rates["deepinv DeepImagePrior"]
    print("\n## iterations per second, same network (invgan default SkipNet), cameraman inpainting")
    for label, r in rates.items():
        print(f"{label:60s} {r:6.2f} it/s   x{r / base:.2f}")

    # invgan's defaults but DIP alone (the network fits every kept pixel, as deepinv's does); the run is cut
    # at 400 steps, which leaves the trajectory up to 22.5 dB unchanged
    res = deep_image_prior(y, physics, config=DIPConfig(max_steps=400, stop="none", progress=False, blend="none"), reference=x)
    reached = torch.nonzero(res.psnr_history[:, 0] >= TARGET_DB).flatten()
    ours = float(res.time_history[reached[0]]) if len(reached) else None
    ours_steps = int(reached[0]) + 1 if len(reached) else None
    theirs, their_steps = deepinv_time_to(x, y, physics, TARGET_DB, args.cap)
    print(f"\n## time to {TARGET_DB} dB, cameraman 256x256, 50 % inpainting")
    print(f"invgan defaults               {ours:.1f} s ({ours_steps} steps)" if ours else "invgan defaults: not reached")
    print(f"deepinv ConvDecoder(128 ch)   {theirs:.1f} s ({their_steps} steps)" if theirs
          else f"deepinv ConvDecoder(128 ch)   > {args.cap:.0f} s ({their_steps} steps, not reached)")
    if ours:
        ratio = (theirs if theirs else args.cap) / ours
        print(f"speed-up                      {'' if theirs else '>= '}x{ratio:.1f}")
    print(f"(invgan run cut at {res.steps} steps: {psnr(res.x_hat, x):.2f} dB, {res.seconds:.0f} s)")


if __name__ == "__main__":
    main()
