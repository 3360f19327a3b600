"""ProGAN end to end at tiny width: the preset grows through ``invgan train`` (a sample grid at the end
of each resolution), ``invgan sample`` and
``invgan invert`` use its generator, and a run stopped in the middle of a fade-in resumes
bit-identically (networks, EMA copy, the growth state)."""

from __future__ import annotations

import torch

from invgan.cli import main
from invgan.config import resolve
from invgan.training import build_run

TINY = ["train.eval_every=0", "train.progress=false", "classifier_metrics=false", "data.batch_size=8", "model.width=4",
        "model.d_width=4", "model.latent_dim=8", "data.eval_samples=16", "model.phase_images=16"]  # phases of 2 steps


def test_progan_preset_grows_samples_and_inverts_from_the_cli(tmp_path):
    out = tmp_path / "run"
    sets = [a for o in TINY for a in ("--set", o)]
    assert main(["train", "--preset", "progan-mnist", *sets, "--set", "train.steps=10", "--out", str(out)]) == 0
    grids = sorted(p.name for p in (out / "samples").glob("*x*.png"))
    assert grids == ["16x16.png", "4x4.png", "8x8.png"]  # a grid at the end of each resolution (32x32 is the last)
    assert main(["sample", str(out / "last.pt"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["invert", "--generator", str(out / "last.pt"), "-n", "2", "--physics", "inpainting", "--max-steps", "3",
                 "--restarts", "1", "--out", str(tmp_path / "inv"), "--no-progress"]) == 0
    assert any((tmp_path / "inv").iterdir())


def _params(module):
    return [t.detach().clone() for t in (*module.parameters(), *module.buffers())]


def test_progan_resumes_exactly_in_the_middle_of_a_fade_in(tmp_path):
    def build(name, steps):
        cfg = resolve("unconditional", None, "progan-mnist", TINY + [f"train.steps={steps}", "train.checkpoint_every=0", "train.log_every=1",
                                                                   f"train.out_dir='{tmp_path / name}'"], None)
        return build_run(cfg, out_dir=str(tmp_path / name), progress=False)

    full = build("a", 10)
    full.fit()
    half = build("b", 10)
    half.trainer.steps = 7  # steps 6, 7 fade stage 2 in: stopped after step 6, at alpha 0
    half.fit()
    assert half.trainer.networks["G"].stage_alpha == (2, 0.0)
    half.trainer.save(tmp_path / "b" / "mid.pt")
    torch.manual_seed(123)
    resumed = build("c", 10)
    resumed.trainer.resume(tmp_path / "b" / "mid.pt")
    assert resumed.trainer.networks["G"].stage_alpha == resumed.trainer.networks["D"].stage_alpha == (2, 0.0)
    resumed.fit()
    rows = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h if "D" in r and r["step"] > 7]  # noqa: E731
    assert rows(resumed.trainer.history) == rows(full.trainer.history) and rows(full.trainer.history)
    for key in ("G", "D"):
        for a, b in zip(_params(full.trainer.networks[key]), _params(resumed.trainer.networks[key])):
            assert torch.equal(a, b)
    for a, b in zip(_params(full.trainer.emas["G"]), _params(resumed.trainer.emas["G"])):
        assert torch.equal(a, b)
    ema = full.trainer.emas["G"].module
    assert int(ema.progress) == 9 and ema.stage_alpha == full.trainer.networks["G"].stage_alpha  # copied, not averaged
    assert any("D/drift" in r for r in full.trainer.history)  # WGAN-GP with the drift term
