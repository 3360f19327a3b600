r"""Numeric precision chosen from the hardware.

bfloat16 autocast halves the memory traffic of a network, but only hardware with
native bf16 arithmetic turns that into speed: CUDA GPUs that report bf16 support,
x86 CPUs with AVX-512-BF16 or AMX-BF16, and ARM CPUs with the BF16 extension.
Elsewhere torch emulates bf16 in software; on an AVX2-only CPU that made the deep
image prior about 40x slower than fp32 (issue #9).  :func:`resolve_precision`
therefore maps ``"auto"`` to ``"bf16"`` only where :func:`native_bf16` finds it,
and to ``"fp32"`` otherwise.

The CPU answer comes from torch's own capability query
(:func:`torch.cpu.get_capabilities`, a cached cpuinfo probe), the CUDA answer
from :func:`torch.cuda.is_bf16_supported`.  This module imports nothing else
from invgan so that any part of the package can use it.
"""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# CPU features that give native bf16 arithmetic, as torch.cpu.get_capabilities() names them
CPU_BF16_FEATURES = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


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


def resolve_precision(requested: str, device: torch.device | str = "cpu") -> str:
    r"""The precision to run: ``"auto"`` becomes ``"bf16"`` where :func:`native_bf16` holds, else ``"fp32"``.

    ``"fp32"`` and ``"bf16"`` are returned as asked (bf16 also works, slowly, without
    native support); ``"fp16"`` only on CUDA.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"invalid precision={requested!r}: expected one of {PRECISIONS}")
    device = torch.device(device)
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise ValueError(f"precision='fp16' needs a CUDA device, got {device.type!r}: use 'auto', 'fp32' or 'bf16'")
    return requested


def describe_precision(requested: str, device: torch.device | str = "cpu") -> str:
    """One line saying what ``requested`` resolves to on ``device`` and why, e.g.
    ``"bf16 (auto: native bf16 found on cpu)"``."""
    resolved = resolve_precision(requested, device)
    device = torch.device(device)
    if requested != "auto":
        return f"{resolved} (asked for)"
    found = "found" if resolved == "bf16" else "not found"
    return f"{resolved} (auto: native bf16 {found} on {device.type})"


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a *resolved* precision (``None`` for fp32)."""
    if precision == "auto":
        raise ValueError("autocast_dtype takes a resolved precision: call resolve_precision first")
    if precision not in PRECISIONS:
        raise ValueError(f"invalid precision={precision!r}: expected one of {PRECISIONS}")
    return AUTOCAST_DTYPES.get(precision)


__all__ = ["PRECISIONS", "CPU_BF16_FEATURES", "native_bf16", "resolve_precision", "describe_precision", "autocast_dtype", "cpu_capabilities"]
