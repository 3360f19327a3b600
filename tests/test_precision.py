"""invgan.precision: bf16 only where the hardware runs it natively, with the capability query mocked both ways."""

from __future__ import annotations

import pytest
import torch

from invgan import precision
from torch import nn
from invgan.precision import choose_precision, describe_precision, resolve_precision, select_device


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


RULE = [
    ("dip", "cpu", True, "bf16"), ("dip", "cpu", False, "fp32"),
    ("dip", "cuda", True, "bf16"), ("dip", "cuda", False, "fp32"),
    ("dip", "mps", True, "fp32"),
    ("training", "cpu", True, "fp32"), ("training", "cpu", False, "fp32"),
    ("training", "cuda", True, "fp32"), ("training", "cuda", False, "fp32"),  # bf16 never faster on an H200
    ("training", "mps", True, "fp32"),
]


@pytest.mark.parametrize("workload,device,native,expected", RULE)
def test_auto_follows_the_table(monkeypatch, workload, device, native, expected):
    monkeypatch.setattr(precision, "native_bf16", lambda d: native)
    assert choose_precision("auto", device, workload) == expected
    assert describe_precision("auto", device, workload).startswith(expected + " (auto: ")
    for asked in ("fp32", "bf16"):  # explicit choices are kept whatever the hardware
        assert choose_precision(asked, device, workload) == asked
        assert describe_precision(asked, device, workload) == f"{asked} (asked for)"


@pytest.mark.parametrize("native", [True, False])
def test_dip_keeps_its_rule_and_the_trainer_runs_fp32_on_a_cpu_with_native_bf16(monkeypatch, native):
    monkeypatch.setattr(precision, "cpu_capabilities", lambda: {"amx_bf16": native})
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")
    assert describe_precision("auto", "cpu") == ("bf16 (auto: native bf16 found on cpu)" if native else "fp32 (auto: native bf16 not found on cpu)")
    assert choose_precision("auto", "cpu", "training") == "fp32"
    assert describe_precision("auto", "cpu", "training") == "fp32 (auto: training runs fp32 on cpu)"
    assert describe_precision("auto", "mps") == "fp32 (auto: native bf16 not found on mps)"


def small_trainer(**kw):
    from invgan.training import Phase, Recipe, Trainer

    class R(Recipe):
        def __init__(self):
            super().__init__()
            self.networks["G"] = nn.Linear(2, 1)

        def phases(self):
            return [Phase("G", ("G",), lambda ctx: (ctx.sum(), {}))]

    recipe = R()
    return Trainer(recipe, {"G": torch.optim.SGD(recipe.networks["G"].parameters(), 0.1)}, steps=1, device="cpu", progress=False, **kw)


def test_the_trainer_takes_its_precision_from_the_training_rule(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda d: True)
    assert small_trainer().precision == "fp32"
    assert small_trainer(precision="bf16").precision == "bf16"
    # the trainer reads the rule from invgan.precision: were CPUs listed for training, auto would be bf16
    monkeypatch.setitem(precision.AUTO_BF16, "training", ("cuda", "cpu"))
    tr = small_trainer()
    assert tr.precision == "bf16" and tr.amp_dtype is torch.bfloat16


def test_bad_precisions_and_workloads_are_clear_errors():
    with pytest.raises(ValueError, match="invalid workload='gan'"):
        choose_precision("auto", "cpu", "gan")
    with pytest.raises(ValueError, match="invalid precision='half'"):
        choose_precision("half", "cpu", "training")
    for workload in ("dip", "training"):
        with pytest.raises(ValueError, match="fp16.*CUDA"):
            choose_precision("fp16", "cpu", workload)
        assert choose_precision("fp16", "cuda", workload) == "fp16"
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        small_trainer(precision="fp16")


# ---------------------------------------------------------------- select_device
@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "_mps_available", lambda: False)


def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, no_accelerator):
    assert select_device("auto") == torch.device("cpu")
    monkeypatch.setattr(precision, "_mps_available", lambda: True)
    assert select_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert select_device("auto") == torch.device("cuda")


def test_named_devices_must_exist(monkeypatch, no_accelerator):
    assert select_device("cpu") == torch.device("cpu") and select_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU is usable here"):
        select_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        select_device("mps")
    for bad in ("gpu", "meta"):
        with pytest.raises(ValueError, match=f"invalid device='{bad}'"):
            select_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match="has 2 CUDA GPU"):
        select_device("cuda:2")
    assert select_device("cuda:1") == torch.device("cuda", 1)


def test_under_torchrun_cuda_is_the_local_rank(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert select_device("cuda") == torch.device("cuda", 1)
    assert select_device("auto") == torch.device("cuda", 1)
    assert select_device("cuda:0") == torch.device("cuda", 0)  # an index asked for is kept
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert select_device("cuda") == torch.device("cuda")


def test_select_device_is_still_importable_from_training():
    import invgan.training
    import invgan.training.trainer

    assert invgan.training.select_device is select_device is invgan.training.trainer.select_device
