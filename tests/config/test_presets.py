"""Tests of invgan.config.presets."""

import pytest
from invgan.config import KINDS, PRESETS, PRESET_DIR, load_preset, resolve
from pathlib import Path


def resolve_config(file=None, preset=None, overrides=None):
    return resolve("conditional", file, preset, overrides)


ROOT = Path(__file__).resolve().parents[2]


def test_presets_are_valid_and_know_their_kind():
    for name, preset in PRESETS.items():
        assert isinstance(resolve(None, preset=name), KINDS[preset.kind])
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
        assert isinstance(resolve(preset=f.stem), KINDS[p.kind])


def test_a_bad_preset_file_is_named(tmp_path):
    (tmp_path / "x.toml").write_text('kind = "conditional"\nabout = "x"\nsteps = 3\n')
    with pytest.raises(ValueError, match="x.toml"):
        load_preset(tmp_path / "x.toml")
