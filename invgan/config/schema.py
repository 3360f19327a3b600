"""The schema machinery of the configs: one field helper that gives every option its help text,
range checks with one error style, and the building of a schema from a nested table of keys.

Every option of every kind is declared with :func:`_opt` (its default and one line of help); the
commands' ``--help`` and the docs read that help from the field's metadata (:func:`iter_options`)."""

from __future__ import annotations

import dataclasses
from dataclasses import field, fields
from typing import Any, Iterator, get_type_hints


def _opt(default: Any, about: str, *, factory: Any = None) -> Any:
    """A config field with its one-line description (shown by ``--help`` of the commands);
    ``factory`` instead of ``default`` for a nested section."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": about})
    return field(default=default, metadata={"help": about})


def _section(factory: Any, about: str) -> Any:
    """A nested section of a config (a dataclass built by ``factory``), with its description."""
    return _opt(None, about, factory=factory)


def _check(cfg: Any, checks: list[tuple[str, bool, str]], section: str = "") -> None:
    """Raise one clear error for the first setting out of its range (``section.name`` when a
    section is given). NaN fails every comparison, so it is refused by every range."""
    for name, ok, allowed in checks:
        if not ok:
            raise ValueError(f"invalid {section + '.' if section else ''}{name}={getattr(cfg, name)!r}: expected {allowed}")


#: option names that were renamed, with their new names (an old name gets a pointed error)
RENAMED = {"steps": "max_steps", "tol": "tolerance"}


def with_overrides(cfg: Any, **overrides: Any) -> Any:
    """A copy of the options ``cfg`` with keyword ``overrides`` (checked like the options themselves);
    an unknown name is an error listing the valid ones."""
    names = {f.name for f in fields(cfg)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        hints = [f"{k!r} (now {RENAMED[k]!r})" if RENAMED.get(k) in names else repr(k) for k in unknown]
        raise ValueError(f"unknown {type(cfg).__name__} option {', '.join(hints)}: expected one of {', '.join(sorted(names))}")
    return dataclasses.replace(cfg, **overrides)


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
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check a scalar against its annotation (ints are accepted where floats are expected)."""
    allowed = getattr(hint, "__args__", (hint,))
    if value is None and type(None) in allowed:
        return None
    if value is None and str in allowed:
        return "none"  # `--set model.norm=none`: the option named "none" of a field that takes no None
    for t in allowed:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
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
