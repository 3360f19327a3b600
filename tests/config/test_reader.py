"""Tests of invgan.config.reader."""

import pytest
from invgan.config import resolve


def resolve_config(file=None, preset=None, overrides=None):
    return resolve("conditional", file, preset, overrides)


def test_toml_yaml_and_overrides(tmp_path):
    (tmp_path / "a.toml").write_text('[physics]\nname = "inpainting"\nkeep = 0.3\n[train]\nsteps = 7\n')
    (tmp_path / "b.yaml").write_text("physics:\n  name: inpainting\n  keep: 0.3\ntrain:\n  steps: 7\n")
    for f in ("a.toml", "b.yaml"):
        cfg = resolve_config(tmp_path / f, overrides=["train.steps=9", "loss.objective=hinge", "optim.grad_clip=1"])
        assert (cfg.physics.name, cfg.physics.keep, cfg.train.steps, cfg.loss.objective, cfg.optim.grad_clip) == ("inpainting", 0.3, 9, "hinge", 1.0)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        resolve_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("name, text", [
    ("a.toml", '[train]\nsteps = 7\n'),
    ("a.json", '{"train": {"steps": 7}}'),
    ("a.yaml", "train:\n  steps: 7\n"),
])
def test_a_utf8_bom_is_accepted(tmp_path, name, text):
    """Windows Notepad starts UTF-8 files with a byte-order mark: it is not part of the config."""
    (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert resolve_config(tmp_path / name).train.steps == 7


def test_a_utf16_config_says_to_save_it_as_utf8(tmp_path):
    (tmp_path / "a.toml").write_bytes('[train]\nsteps = 7\n'.encode("utf-16"))
    with pytest.raises(ValueError, match=r"a.toml is UTF-16 text: save it as UTF-8"):
        resolve_config(tmp_path / "a.toml")
