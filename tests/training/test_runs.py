"""Building runs from configurations: the kinds' dispatch, presets at tiny size, the held-out set and refusals."""


import pytest
import torch

from invgan.config import resolve
from invgan.training import build_run, build_unconditional
from invgan.training.checkpoint import load_generator


def resolve_unconditional(preset, overrides):
    return resolve("unconditional", preset=preset, overrides=overrides)


def test_build_unconditional_from_preset_runs(tmp_path):
    cfg = resolve_unconditional("dcgan-digits8", overrides=["train.steps=3", "train.eval_every=0", "train.checkpoint_every=3",
                                                            "classifier_metrics=false", "data.batch_size=8", "optim.ema=0.5"])
    run = build_unconditional(cfg, out_dir=str(tmp_path), progress=False)
    run.fit()
    assert run.trainer.step == 3 and run.trainer.config["generator"]["out_shape"] == (1, 8, 8)
    z = torch.randn(4, 64)
    for use_ema, net in ((True, run.trainer.eval_model), (False, run.trainer.generator)):
        G = load_generator(tmp_path / "last.pt", use_ema=use_ema)
        with torch.no_grad():
            assert torch.allclose(G(z), net.eval()(z))


def _tiny(preset: str, tmp_path, *extra: str):
    return resolve(preset=preset, overrides=[
        "data.crop=32", "data.eval_crop=32", "data.eval_crops=2", "data.batch_size=2", "model.width=8", "model.blocks=1",
        "model.d_width=8", "train.steps=4", "train.eval_every=4", "train.checkpoint_every=4", "train.progress=false",
        "train.tensorboard=false", f"train.out_dir={tmp_path / preset}", *extra])


def test_build_run_dispatches_on_the_kind_of_the_config(monkeypatch, tiny_overrides):
    from invgan.training import runs

    class Built(Exception):
        pass

    def fake(kind):
        def build(cfg, device):
            raise Built(kind, type(cfg).__name__, str(device))
        return build

    assert set(runs.RUN_KINDS) == {"conditional", "unconditional"}
    for kind in runs.RUN_KINDS:
        monkeypatch.setitem(runs.RUN_KINDS, kind, fake(kind))
    with pytest.raises(Built) as e:
        runs.build_run(resolve(overrides=tiny_overrides))
    assert e.value.args == ("conditional", "ConditionalConfig", "cpu")
    with pytest.raises(Built) as e:
        runs.build_unconditional(resolve_unconditional("dcgan-digits8", ["train.device='cpu'"]))
    assert e.value.args == ("unconditional", "UnconditionalConfig", "cpu")
    with pytest.raises(TypeError, match="expected a ConditionalConfig"):
        runs.build_conditional(resolve_unconditional("dcgan-digits8", []))


def test_a_tiny_conditional_run_builds_and_trains(tiny_overrides):
    run = build_run(resolve(overrides=tiny_overrides))
    assert set(run.trainer.networks) == {"G", "D"} and run.trainer.step == 0
    run.fit()
    assert run.trainer.step == 4


