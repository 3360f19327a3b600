"""Nested config records seen flat (:func:`invgan.nested.flatten`), as the resume check and the
export's preset differences compare them."""

from __future__ import annotations

from invgan.nested import flatten


def test_flatten_keys_leaves_by_dotted_path():
    assert flatten({"a": 1, "b": {"c": [2], "d": {"e": None}}, "f": {}}) == {"a": 1, "b.c": [2], "b.d.e": None}
    assert flatten({"x": {"y": 1}}, prefix="run.") == {"run.x.y": 1}
    assert flatten({}) == {}
