"""The schema machinery of the configs: the field helper, range checks and keyword overrides (from
:mod:`invgan.options`, which the solvers' settings use too), and the building of a schema from a
nested table of keys.

Every option of every kind is declared with :func:`~invgan.options._opt` (its default and one line
of help); the commands' ``--help`` and the docs read that help from the field's metadata
(:func:`iter_options`)."""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from typing import Any, Iterator, get_args, get_origin, get_type_hints

from ..options import RENAMED, OptionError, _check, _opt, _section, with_overrides

__all__ = ["RENAMED", "OptionError", "_check", "_opt", "_section", "with_overrides", "dataclass_from_dict", "iter_options"]


def dataclass_from_dict(cls: type, data: dict[str, Any], where: str) -> Any:
    """The schema ``cls`` built from a nested table ``data``; unknown keys and values of the wrong
    type are one-line errors naming the key (``where`` is the prefix of its section)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a table of keys, got {type(data).__name__}")
    valid = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(repr(where + k) for k in unknown)}; valid keys: {', '.join(where + k for k in valid)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = dataclass_from_dict(hint, value, f"{where}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, where + key)
    try:
        return cls(**kwargs)
    except OptionError as e:  # a section that does not know its name (the solvers' settings): name it
        if e.section or not where:
            raise
        raise e.in_section(where[:-1]) from None


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check a value against its annotation (ints are accepted where floats are expected; a list
    annotation checks each item)."""
    allowed = getattr(hint, "__args__", (hint,))
    if value is None and type(None) in allowed:
        return None
    if value is None and str in allowed:
        return "none"  # `--set model.norm=none`: the option named "none" of a field that takes no None
    for t in allowed:
        if get_origin(t) is list and isinstance(value, list):
            return [_coerce(v, get_args(t)[0], f"{name}[{i}]") for i, v in enumerate(value)]
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    names = " or ".join(f"a list of {get_args(t)[0].__name__}" if get_origin(t) is list else getattr(t, "__name__", str(t)) for t in allowed)
    raise ValueError(f"invalid {name}={value!r}: expected {names}")


def iter_options(cfg: Any, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """Every option of the config ``cfg`` (an instance, so that a kind's own defaults show),
    recursively: ``(section.key, default, help)``; a field without help yields an empty help."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            yield from iter_options(value, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, value, f.metadata.get("help", "")
