"""What every settings dataclass of invgan needs: the field helper that gives each option its
one-line help text, range checks with one error style (and one rule for every float option: it must
be finite), and keyword overrides that name a renamed option. It imports nothing of invgan, so that the solvers (below the config package) declare their
settings with it too; :mod:`invgan.config.schema` builds schemas from tables on top of it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field, fields
from typing import Any


def _opt(default: Any, about: str, *, factory: Any = None) -> Any:
    """A config field with its one-line description (shown by ``--help`` of the commands);
    ``factory`` instead of ``default`` for a nested section."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": about})
    return field(default=default, metadata={"help": about})


def _section(factory: Any, about: str) -> Any:
    """A nested section of a config (a dataclass built by ``factory``), with its description."""
    return _opt(None, about, factory=factory)


class OptionError(ValueError):
    """A setting out of its range: ``invalid section.name=value: expected allowed``. ``section`` is
    empty for settings whose owner does not know its section (the solvers'); the config reader
    names it (:meth:`in_section`)."""

    def __init__(self, section: str, name: str, value: Any, allowed: str):
        self.section, self.name, self.value, self.allowed = section, name, value, allowed
        super().__init__(f"invalid {section + '.' if section else ''}{name}={value!r}: expected {allowed}")

    def in_section(self, section: str) -> "OptionError":
        """The same error, naming the option as ``section.name``."""
        return OptionError(section, self.name, self.value, self.allowed)


def _check(cfg: Any, checks: list[tuple[str, bool, str]], section: str = "") -> None:
    """Raise one clear error (:class:`OptionError`) for the first setting out of its range
    (``section.name`` when a section is given). First, for every field of ``cfg`` whatever
    ``checks`` lists: a float that is not finite (inf, -inf, nan) is refused, since it passes
    one-sided ranges such as ``>= 0`` and only fails later, inside a run."""
    ranges = {name: allowed for name, _, allowed in checks}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(section, f.name, value, "a finite number" + (f" ({ranges[f.name]})" if f.name in ranges else ""))
    for name, ok, allowed in checks:
        if not ok:
            raise OptionError(section, name, getattr(cfg, name), allowed)


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
