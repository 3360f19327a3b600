"""Tests of invgan.config.presets."""

import dataclasses

import pytest
from invgan.config import KINDS, PRESETS, PRESET_DIR, load_preset, resolve
from invgan.config.presets import load_presets
from pathlib import Path


def resolve_config(file=None, preset=None, overrides=None):
    return resolve("conditional", file, preset, overrides)


ROOT = Path(__file__).resolve().parents[2]


#: the presets for your own images: valid once ``data.source`` names them
FOLDER_PRESETS = sorted(n for n, p in PRESETS.items() if p.values.get("data", {}).get("resolution"))


def test_presets_are_valid_and_know_their_kind():
    for name, preset in PRESETS.items():
        sets = ["data.source=photos"] if name in FOLDER_PRESETS else []
        assert isinstance(resolve(None, preset=name, overrides=sets), KINDS[preset.kind])
        assert preset.about
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_config(preset="nope")
    with pytest.raises(ValueError, match="is for unconditional runs, but a conditional run"):
        resolve("conditional", preset="dcgan-mnist")


def test_preset_files_load_with_kind_about_paper_and_docs():
    files = sorted(PRESET_DIR.glob("*.toml"))
    assert sorted(f.stem for f in files) == sorted(PRESETS)
    assert len({f.stem.lower() for f in files}) == len(files)  # unique names
    for f in files:
        p = load_preset(f)
        assert p.kind in KINDS, f
        assert p.about and "\n" not in p.about and len(p.about) <= 140, f
        assert "dB" not in p.about and "KID" not in p.about, f"{f}: results belong on the docs page"
        assert isinstance(p.paper, str)
        assert p.docs and (ROOT / p.docs).is_file(), f"{f}: docs link {p.docs!r}"
        sets = ["data.source=photos"] if f.stem in FOLDER_PRESETS else []
        assert isinstance(resolve(preset=f.stem, overrides=sets), KINDS[p.kind])


def test_a_bad_preset_file_is_named(tmp_path):
    (tmp_path / "x.toml").write_text('kind = "conditional"\nabout = "x"\nsteps = 3\n')
    with pytest.raises(ValueError, match="x.toml"):
        load_preset(tmp_path / "x.toml")


def test_the_folder_presets_are_the_mnist_ones_on_64x64_rgb_and_ask_for_a_folder():
    assert FOLDER_PRESETS == ["dcgan-folder64", "progan-folder64", "sagan-folder64", "stylegan2-folder64"]
    for name in FOLDER_PRESETS:
        base = resolve(None, preset=PRESETS[name].base)
        cfg = resolve(None, preset=name, overrides=["data.source=photos"])
        assert (cfg.data.resolution, cfg.data.channels, cfg.data.source) == (64, 3, "photos")
        assert cfg.gan == base.gan and cfg.optim == base.optim and cfg.loss == base.loss
        # the same networks, except StyleGAN2's base widths: halved at 64x64, so that each resolution
        # keeps the MNIST preset's channels (and a step costs about one DCGAN step; docs/gallery.md)
        halved = {"width": base.model.width // 2, "d_width": base.model.d_width // 2} if name == "stylegan2-folder64" else {}
        assert cfg.model == dataclasses.replace(base.model, **halved)
        with pytest.raises(ValueError, match="set data.source to your images"):
            resolve(None, preset=name)


def _write(folder, name, text):
    (folder / f"{name}.toml").write_text(text)


def test_a_base_is_merged_table_by_table_and_bad_bases_are_named(tmp_path):
    _write(tmp_path, "a", 'kind = "unconditional"\nabout = "a"\npaper = "P"\n[values.train]\nsteps = 5\nseed = 1\n[values.model]\nwidth = 8\n')
    _write(tmp_path, "b", 'kind = "unconditional"\nabout = "b"\nbase = "a"\n[values.train]\nsteps = 7\n')
    _write(tmp_path, "c", 'kind = "unconditional"\nabout = "c"\nbase = "b"\n[values.model]\nwidth = 4\n')
    presets = load_presets(tmp_path)
    assert presets["b"].values == {"train": {"steps": 7, "seed": 1}, "model": {"width": 8}} and presets["b"].paper == "P"
    assert presets["c"].values == {"train": {"steps": 7, "seed": 1}, "model": {"width": 4}}
    assert load_preset(tmp_path / "b.toml").values == {"train": {"steps": 7}}  # a file alone is not resolved
    _write(tmp_path, "d", 'kind = "unconditional"\nabout = "d"\nbase = "nope"\n')
    with pytest.raises(ValueError, match="preset d: base 'nope' is not a preset of this folder"):
        load_presets(tmp_path)
    _write(tmp_path, "d", 'kind = "conditional"\nabout = "d"\nbase = "a"\n')
    with pytest.raises(ValueError, match="preset d \\(kind conditional\\): its base a is of kind unconditional"):
        load_presets(tmp_path)
    _write(tmp_path, "d", 'kind = "unconditional"\nabout = "d"\nbase = "e"\n')
    _write(tmp_path, "e", 'kind = "unconditional"\nabout = "e"\nbase = "d"\n')
    with pytest.raises(ValueError, match="is a cycle"):
        load_presets(tmp_path)
