"""``invgan sample``: grids and code traversals from the checkpoints of labelled and InfoGAN runs."""

from __future__ import annotations

import torch

from invgan.cli import main
from invgan.config import resolve
from invgan.training import build_run


# ---------------------------------------------------------------- DiffAugment


TINY = ["train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.progress=false", "classifier_metrics=false",
        "data.batch_size=8", "model.width=8", "model.d_width=8", "data.dataset=mnist"]


def test_conditional_and_infogan_runs_sample_from_the_cli(tmp_path):
    from invgan.training.checkpoint import load_generator

    for name in ("cgan-mnist", "infogan-mnist"):
        cfg = resolve("unconditional", None, name, TINY + ["train.steps=1", "train.checkpoint_every=1"], None)
        run = build_run(cfg, out_dir=str(tmp_path / name), progress=False)
        run.fit()
        G = load_generator(tmp_path / name / "last.pt")
        if name == "infogan-mnist":
            z = G.sample_latent(50, torch.Generator().manual_seed(0))
            cats, cont = G.codes.split(z)
            assert z.shape[1] == G.latent_dim == G.codes.noise + 10 + 2 and cont.abs().max() <= 1  # the codes' prior, not N(0, I)
            assert main(["sample", str(tmp_path / name / "last.pt"), "--traverse", "continuous:1", "-n", "30", "--out", str(tmp_path / "t.png")]) == 0
        else:
            assert G.n_classes == 10
        assert main(["sample", str(tmp_path / name / "last.pt"), "-n", "20", "--out", str(tmp_path / f"{name}.png")]) == 0


def test_sample_without_checkpoint_uses_the_shipped_generator(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", "-n", "2", "--out", str(out)]) == 0
    assert out.exists() and "shipped model 'dcgan-mnist'" in capsys.readouterr().out
    assert main(["sample", "ambientgan-mnist", "-n", "2", "--out", str(tmp_path / "a.png")]) == 0


def test_an_empty_checkpoint_is_refused_not_the_shipped_default(tmp_path, capsys):
    """``invgan sample "$CKPT"`` with CKPT unset: one line, no grid of the shipped dcgan-mnist."""
    for empty in ("", "  "):
        assert main(["sample", empty, "-n", "2", "--out", str(tmp_path / "s.png")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "CHECKPOINT is empty" in err[0] and "leave CHECKPOINT out" in err[0]
    assert not (tmp_path / "s.png").exists()
