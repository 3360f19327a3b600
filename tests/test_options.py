"""Tests of invgan.options: the field helper, the range checks and keyword overrides."""

from dataclasses import dataclass, fields

import pytest

from invgan.options import _check, _opt, _section, with_overrides


@dataclass
class _Inner:
    rate: float = _opt(0.5, "a rate in (0, 1)")


@dataclass
class _Settings:
    max_steps: int = _opt(10, "step limit")
    tolerance: float = _opt(1e-3, "relative progress that counts")
    inner: _Inner = _section(_Inner, "a nested section")

    def __post_init__(self) -> None:
        _check(self, [("max_steps", self.max_steps >= 1, "an integer >= 1"),
                      ("tolerance", self.tolerance >= 0, "a value >= 0")], section="solver")


def test_every_field_carries_its_help_and_sections_get_fresh_defaults():
    helps = {f.name: f.metadata["help"] for f in fields(_Settings)}
    assert helps == {"max_steps": "step limit", "tolerance": "relative progress that counts", "inner": "a nested section"}
    a, b = _Settings(), _Settings()
    assert a.inner == _Inner() and a.inner is not b.inner


def test_check_names_the_section_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"^invalid solver\.max_steps=0: expected an integer >= 1$"):
        _Settings(max_steps=0)
    with pytest.raises(ValueError, match=r"invalid solver\.tolerance=nan"):  # NaN fails every range
        _Settings(tolerance=float("nan"))


def test_with_overrides_checks_values_and_names_renamed_options():
    s = with_overrides(_Settings(), max_steps=3)
    assert s.max_steps == 3 and s.tolerance == 1e-3
    with pytest.raises(ValueError, match=r"'steps' \(now 'max_steps'\)"):
        with_overrides(_Settings(), steps=3)
    with pytest.raises(ValueError, match="unknown _Settings option 'speed'"):
        with_overrides(_Settings(), speed=3)
    with pytest.raises(ValueError, match="invalid solver.max_steps=-1"):
        with_overrides(_Settings(), max_steps=-1)
