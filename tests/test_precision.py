"""invgan.precision: bf16 only where the hardware runs it natively, with the capability query mocked both ways."""

from __future__ import annotations

import pytest
import torch

from invgan import precision


@pytest.mark.parametrize("caps,expected", [
    ({"architecture": "x86_64", "avx2": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False}, "fp32"),
    ({"architecture": "x86_64", "avx2": True, "avx512_f": True, "avx512_bf16": True}, "bf16"),
    ({"architecture": "x86_64", "avx2": True, "amx_bf16": True}, "bf16"),
    ({"architecture": "arm64", "neon": True, "bf16": True}, "bf16"),
    ({"architecture": "arm64", "neon": True}, "fp32"),
    ({}, "fp32"),  # a torch that exposes no capabilities: no bf16
])
def test_auto_follows_the_cpu_capability_query(monkeypatch, caps, expected):
    monkeypatch.setattr(precision, "cpu_capabilities", lambda: dict(caps))
    assert precision.native_bf16("cpu") == (expected == "bf16")
    assert precision.resolve_precision("auto", "cpu") == expected
    assert precision.describe_precision("auto", "cpu").startswith(expected)
    assert ("not found" in precision.describe_precision("auto", "cpu")) == (expected == "fp32")
    # explicit choices are kept whatever the hardware
    assert precision.resolve_precision("fp32", "cpu") == "fp32"
    assert precision.resolve_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize("supported", [True, False])
def test_auto_on_cuda_follows_is_bf16_supported(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: supported)
    assert precision.resolve_precision("auto", "cuda") == ("bf16" if supported else "fp32")
    assert precision.resolve_precision("fp16", "cuda") == "fp16"


def test_the_real_query_runs_and_bad_values_are_clear_errors():
    native = precision.native_bf16("cpu")
    assert isinstance(native, bool) and isinstance(precision.cpu_capabilities(), dict)
    # "auto" on this machine is the rule applied to the real query (the rule itself is tested mocked, above)
    assert precision.resolve_precision("auto") == ("bf16" if native else "fp32")
    with pytest.raises(ValueError, match="invalid precision='half'"):
        precision.resolve_precision("half")
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        precision.resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="resolved"):
        precision.autocast_dtype("auto")
    assert precision.autocast_dtype("fp32") is None and precision.autocast_dtype("bf16") is torch.bfloat16


@pytest.mark.parametrize("native", [True, False])
def test_dip_default_precision_is_resolved_from_the_hardware(monkeypatch, native):
    from invgan.physics import make_physics
    from invgan.solvers.dip import deep_image_prior

    monkeypatch.setattr(precision, "cpu_capabilities", lambda: {"avx512_bf16": native})
    model = make_physics("denoising", (1, 8, 8), noise_sigma=0.1)
    y = model.measure(torch.rand(1, 1, 8, 8))
    res = deep_image_prior(y, model.physics, net=None, max_steps=2, depth=2, channels=4, progress=False)
    assert res.config.precision == "auto"
    assert res.precision == ("bf16 (auto: native bf16 found on cpu)" if native else "fp32 (auto: native bf16 not found on cpu)")
