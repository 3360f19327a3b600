r"""Device and numeric precision chosen from the hardware.

:func:`select_device` picks the device a run uses (``"auto"``: CUDA, else MPS, else the CPU).

bfloat16 autocast halves the memory traffic of a network, but only hardware with
native bf16 arithmetic turns that into speed: CUDA GPUs that report bf16 support,
x86 CPUs with AVX-512-BF16 or AMX-BF16, and ARM CPUs with the BF16 extension.
Elsewhere torch emulates bf16 in software; on an AVX2-only CPU that made the deep
image prior about 40x slower than fp32 (issue #9).  :func:`choose_precision`, the
one rule for ``"auto"``, therefore maps it to ``"bf16"`` only where :func:`native_bf16`
finds it *and* the workload was measured faster in bf16 on that kind of device
(:data:`AUTO_BF16`), and to ``"fp32"`` otherwise: the deep image prior
(``workload="dip"``, :func:`resolve_precision`) takes native bf16 on CUDA and on
CPUs; GAN training (``workload="training"``, the :class:`~invgan.training.Trainer`)
stays in fp32 everywhere: on a CPU even native bf16 (AMX) made the demo's small
convolutions slower, and on an H200 bf16 took 1.22x, 1.37x and 1.01x the time of fp32
with TF32 (PyTorch runs fp32 convolutions in TF32 by default) for the demo networks on
64², 128² and 256² crops (docs/benchmarks.md).

The CPU answer comes from torch's own capability query
(:func:`torch.cpu.get_capabilities`, a cached cpuinfo probe), the CUDA answer
from :func:`torch.cuda.is_bf16_supported`.  This module imports nothing else
from invgan so that any part of the package can use it.
"""

from __future__ import annotations

import os

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# CPU features that give native bf16 arithmetic, as torch.cpu.get_capabilities() names them
CPU_BF16_FEATURES = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

#: per workload, the device types on which ``"auto"`` chooses bf16 where it is native
#: (``"dip"``: the deep image prior; ``"training"``: the trainer's GAN runs)
AUTO_BF16 = {"dip": ("cuda", "cpu"), "training": ()}


def cpu_capabilities() -> dict:
    """torch's cpuinfo probe of this CPU (``{}`` when this torch build does not expose it)."""
    query = getattr(getattr(torch, "cpu", None), "get_capabilities", None)
    if query is None:
        return {}
    try:
        return dict(query())
    except RuntimeError:
        return {}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` where there is one, else what :mod:`platform` says)."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bf16(device: torch.device | str = "cpu") -> bool:
    r"""Whether ``device`` runs bfloat16 arithmetic natively.

    CUDA: :func:`torch.cuda.is_bf16_supported` (emulated bf16 not counted).
    CPU: one of :data:`CPU_BF16_FEATURES` (AVX-512-BF16, AMX-BF16, ARM BF16/SVE-BF16)
    in :func:`torch.cpu.get_capabilities`.  Other device types: ``False``.
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # older torch without the keyword
            return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        caps = cpu_capabilities()
        return any(bool(caps.get(name, False)) for name in CPU_BF16_FEATURES)
    return False


def choose_precision(requested: str, device: torch.device | str, workload: str) -> str:
    r"""The precision to run ``workload`` in on ``device``: the one rule behind every ``"auto"``.

    ``"auto"`` becomes ``"bf16"`` when :func:`native_bf16` holds for ``device`` and its type is in
    ``AUTO_BF16[workload]`` (where bf16 was measured faster for that workload), else ``"fp32"``:

    ============  ====================  ====================  ======
    workload      CUDA                  CPU                   other
    ============  ====================  ====================  ======
    ``dip``       bf16 if native        bf16 if native        fp32
    ``training``  fp32                  fp32                  fp32
    ============  ====================  ====================  ======

    ``"fp32"`` and ``"bf16"`` are returned as asked (bf16 also works, slowly, without native
    support); ``"fp16"`` only on CUDA.

    >>> choose_precision("fp32", "cpu", "training")
    'fp32'
    >>> choose_precision("auto", "cpu", "training")  # a CPU trains in fp32 whatever it supports
    'fp32'
    """
    if requested not in PRECISIONS:
        raise ValueError(f"invalid precision={requested!r}: expected one of {PRECISIONS}")
    if workload not in AUTO_BF16:
        raise ValueError(f"invalid workload={workload!r}: expected one of {tuple(AUTO_BF16)}")
    device = torch.device(device)
    if requested == "auto":
        return "bf16" if device.type in AUTO_BF16[workload] and native_bf16(device) else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise ValueError(f"precision='fp16' needs a CUDA device, got {device.type!r}: use 'auto', 'fp32' or 'bf16'")
    return requested


def resolve_precision(requested: str, device: torch.device | str = "cpu") -> str:
    r"""The deep image prior's precision: :func:`choose_precision` with ``workload="dip"``, so
    ``"auto"`` is ``"bf16"`` wherever :func:`native_bf16` holds (CUDA or CPU), else ``"fp32"``."""
    return choose_precision(requested, device, "dip")


def describe_precision(requested: str, device: torch.device | str = "cpu", workload: str = "dip") -> str:
    """One line saying what ``requested`` resolves to on ``device`` for ``workload`` and why, e.g.
    ``"bf16 (auto: native bf16 found on cpu)"``."""
    resolved = choose_precision(requested, device, workload)
    device = torch.device(device)
    if requested != "auto":
        return f"{resolved} (asked for)"
    if device.type in ("cuda", "cpu") and device.type not in AUTO_BF16[workload]:
        return f"{resolved} (auto: {workload} runs fp32 on {device.type})"
    found = "found" if resolved == "bf16" else "not found"
    return f"{resolved} (auto: native bf16 {found} on {device.type})"


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a *resolved* precision (``None`` for fp32)."""
    if precision == "auto":
        raise ValueError("autocast_dtype takes a resolved precision: call choose_precision first")
    if precision not in PRECISIONS:
        raise ValueError(f"invalid precision={precision!r}: expected one of {PRECISIONS}")
    return AUTOCAST_DTYPES.get(precision)


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA, else MPS, else the CPU; a named device must exist on this machine (a
    clear error, not CUDA's own, when ``"cuda"`` is asked for without a GPU). Under ``torchrun``
    with several processes (``WORLD_SIZE`` > 1), a CUDA device without an index is the process's
    ``LOCAL_RANK``.

    >>> select_device("cpu")
    device(type='cpu')
    """
    if str(device) == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif _mps_available():
            return torch.device("mps")
        else:
            return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"invalid device={str(device)!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} was asked for, but no CUDA GPU is usable here: use 'auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={str(device)!r} was asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        if dev.index is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: the process's own GPU
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    elif dev.type == "mps" and not _mps_available():
        raise ValueError(f"device={str(device)!r} was asked for, but MPS is not available here: use 'auto' or 'cpu'")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"invalid device={str(device)!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return dev


__all__ = ["AUTO_BF16", "PRECISIONS", "CPU_BF16_FEATURES", "autocast_dtype", "choose_precision", "cpu_capabilities", "describe_precision",
           "native_bf16", "resolve_precision", "select_device"]
