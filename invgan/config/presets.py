"""Presets: named starting points, one TOML file each under ``invgan/config/presets/``.

A preset file holds its ``kind``, a one-line ``about``, the ``paper`` it follows (when it follows
one), a ``docs`` link to the page with its results, and a ``[values]`` table: a partial config
merged over the kind's defaults."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: the folder of the preset files (shipped with the package)
PRESET_DIR = Path(__file__).with_name("presets")


@dataclass(frozen=True)
class Preset:
    """A named starting point: a partial config of one ``kind``, merged over its defaults."""

    kind: str
    about: str
    values: dict[str, Any] = field(default_factory=dict)
    paper: str = ""
    docs: str = ""


def load_preset(path: str | Path) -> Preset:
    """The preset of one TOML file; a missing ``kind`` or ``about``, or a key other than
    ``kind``, ``about``, ``paper``, ``docs`` and ``values``, is an error naming the file."""
    p = Path(path)
    data = tomllib.loads(p.read_text(encoding="utf-8"))
    unknown = sorted(set(data) - {"kind", "about", "paper", "docs", "values"})
    if unknown or "kind" not in data or "about" not in data:
        raise ValueError(f"preset file {p}: expected kind, about, and optionally paper, docs and [values]; "
                         f"got {sorted(data)}")
    return Preset(data["kind"], data["about"], data.get("values", {}), data.get("paper", ""), data.get("docs", ""))


def load_presets(folder: str | Path = PRESET_DIR) -> dict[str, Preset]:
    """Every preset of ``folder``, by file name (``demo.toml`` is the preset ``demo``)."""
    return {p.stem: load_preset(p) for p in sorted(Path(folder).glob("*.toml"))}


#: the shipped presets, by name
PRESETS: dict[str, Preset] = load_presets()
