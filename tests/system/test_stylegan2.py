"""StyleGAN2 end to end at tiny width: the preset trains through ``invgan train``, then ``invgan sample``
(with truncation) and ``invgan invert`` use its generator; a run stopped before a lazy R1 and
path-length step resumes bit-identically (networks, EMA copy, w_avg, the path length's running mean)."""

from __future__ import annotations

import torch

from invgan.cli import main
from invgan.config import resolve
from invgan.training import build_run

TINY = ["train.eval_every=0", "train.progress=false", "classifier_metrics=false", "data.batch_size=8", "model.width=4",
        "model.d_width=4", "model.latent_dim=8", "data.eval_samples=16",
        "gan.path_length_weight=2.0", "model.style_mixing=0.9"]  # the paper's, which the preset turns off


def test_stylegan2_preset_trains_samples_and_inverts_from_the_cli(tmp_path):
    out = tmp_path / "run"
    sets = [a for o in TINY for a in ("--set", o)]
    assert main(["train", "--preset", "stylegan2-mnist", *sets, "--set", "train.steps=3", "--out", str(out)]) == 0
    ckpt = out / "last.pt"
    assert ckpt.exists()
    for psi in ("1.0", "0.5"):
        assert main(["sample", str(ckpt), "-n", "4", "--truncation", psi, "--out", str(tmp_path / f"s{psi}.png")]) == 0
    assert main(["invert", "--generator", str(ckpt), "-n", "2", "--physics", "inpainting", "--max-steps", "3", "--restarts", "1",
                 "--out", str(tmp_path / "inv"), "--no-progress"]) == 0
    assert any((tmp_path / "inv").iterdir())


def _params(module):
    return [t.detach().clone() for t in (*module.parameters(), *module.buffers())]


def test_stylegan2_resumes_exactly_across_lazy_regulariser_steps(tmp_path):
    extra = TINY + ["gan.reg_every=4", "gan.path_length_every=2", "train.checkpoint_every=0", "train.log_every=1"]

    def build(name, steps):
        cfg = resolve("unconditional", None, "stylegan2-mnist", extra + [f"train.steps={steps}", f"train.out_dir='{tmp_path / name}'"], None)
        return build_run(cfg, out_dir=str(tmp_path / name), progress=False)

    full = build("a", 6)
    full.fit()
    half = build("b", 6)
    half.trainer.steps = 3  # stopped after step 2: the lazy step 4 (R1 and PL) comes after the resume
    half.fit()
    half.trainer.save(tmp_path / "b" / "mid.pt")
    torch.manual_seed(123)  # a resumed process starts from other global random state
    resumed = build("c", 6)
    resumed.trainer.resume(tmp_path / "b" / "mid.pt")
    assert resumed.trainer.step == 3
    resumed.fit()
    rows = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h if "D" in r and r["step"] > 3]  # noqa: E731
    ref = rows(full.trainer.history)
    assert ref and any("r1" in r for r in ref) and any("PL" in r for r in ref)
    assert rows(resumed.trainer.history) == ref
    for key in ("G", "D"):
        for a, b in zip(_params(full.trainer.networks[key]), _params(resumed.trainer.networks[key])):
            assert torch.equal(a, b)
    for a, b in zip(_params(full.trainer.emas["G"]), _params(resumed.trainer.emas["G"])):
        assert torch.equal(a, b)
    pl = lambda run: next(r.fn for r in run.trainer.recipe.regularizers if r.name == "PL")  # noqa: E731
    assert float(pl(full).mean) > 0 and torch.equal(pl(full).mean, pl(resumed).mean)


def test_stylegan2_trains_in_bf16_on_cpu(tmp_path):
    cfg = resolve("unconditional", None, "stylegan2-mnist", TINY + ["train.steps=2", "train.checkpoint_every=0", "train.precision='bf16'"], None)
    run = build_run(cfg, out_dir=str(tmp_path), progress=False)
    run.fit()
    row = run.trainer.history[0]
    assert {"D", "G", "r1", "PL"} <= set(row) and all(v == v for v in row.values())  # lazy R1 and path length at step 0, finite


def test_style_mixing_grid_of_the_figures_script(repo_module):
    from invgan.nets.generators import make_generator

    torch.manual_seed(0)
    G = make_generator("stylegan2", 8, (1, 28, 28), output="sigmoid", width=4, mapping_layers=2).eval()
    grid = repo_module("scripts/stylegan2_figures.py").mixing_grid(G, n=3, cut=2, seed=1)
    assert grid.shape == (16, 1, 28, 28) and torch.equal(grid[0], torch.ones_like(grid[0]))
    top, left = grid[1:4], grid[4::4]
    gen = torch.Generator().manual_seed(1)
    z_rows, z_cols = G.sample_latent(3, gen), G.sample_latent(3, gen)
    assert torch.allclose(top, G(z_cols)) and torch.allclose(left, G(z_rows))
    assert torch.allclose(grid[5 + 4 * 1 + 2], G.mix(z_rows[1:2], z_cols[2:3], 2)[0], atol=1e-6)  # row 1, column 2
