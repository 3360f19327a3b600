"""Presets: named starting points, one TOML file each under ``invgan/config/presets/``.

A preset file holds its ``kind``, a one-line ``about``, the ``paper`` it follows (when it follows
one), a ``docs`` link to the page with its results, and a ``[values]`` table: a partial config
merged over the kind's defaults. A preset may name a ``base`` preset of the same folder and kind:
its values are then merged, table by table, over the base's (``stylegan2-folder64`` is
``stylegan2-mnist`` on a folder of 64×64 RGB images)."""

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
    base: str = ""


def load_preset(path: str | Path) -> Preset:
    """The preset of one TOML file; a missing ``kind`` or ``about``, or a key other than
    ``kind``, ``about``, ``paper``, ``docs``, ``base`` and ``values``, is an error naming the file.
    Its ``base`` is not resolved here (:func:`load_presets` does)."""
    p = Path(path)
    data = tomllib.loads(p.read_text(encoding="utf-8"))
    unknown = sorted(set(data) - {"kind", "about", "paper", "docs", "base", "values"})
    if unknown or "kind" not in data or "about" not in data:
        raise ValueError(f"preset file {p}: expected kind, about, and optionally paper, docs, base and [values]; "
                         f"got {sorted(data)}")
    return Preset(data["kind"], data["about"], data.get("values", {}), data.get("paper", ""), data.get("docs", ""),
                  data.get("base", ""))


def merge_values(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``: tables key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merge_values(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_presets(folder: str | Path = PRESET_DIR) -> dict[str, Preset]:
    """Every preset of ``folder``, by file name (``demo.toml`` is the preset ``demo``), each
    ``base`` resolved; an unknown base, a base of another kind, or a cycle is an error."""
    raw = {p.stem: load_preset(p) for p in sorted(Path(folder).glob("*.toml"))}

    def resolve(name: str, seen: tuple[str, ...] = ()) -> Preset:
        preset = raw[name]
        if not preset.base:
            return preset
        if preset.base not in raw or preset.base in seen + (name,):
            why = "a cycle" if preset.base in raw else "not a preset of this folder"
            raise ValueError(f"preset {name}: base {preset.base!r} is {why}")
        base = resolve(preset.base, seen + (name,))
        if base.kind != preset.kind:
            raise ValueError(f"preset {name} (kind {preset.kind}): its base {preset.base} is of kind {base.kind}")
        return Preset(preset.kind, preset.about, merge_values(base.values, preset.values), preset.paper or base.paper,
                      preset.docs or base.docs, preset.base)

    return {name: resolve(name) for name in raw}


#: the shipped presets, by name
PRESETS: dict[str, Preset] = load_presets()
