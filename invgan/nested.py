"""Nested dictionaries (config records) seen flat, for comparing two of them entry by entry."""

from __future__ import annotations

from typing import Any


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The leaves of nested dictionary ``d`` keyed by their dotted paths (``section.key``), each
    key prefixed by ``prefix``; a dictionary value is descended into, anything else is a leaf.

    >>> flatten({"kind": "conditional", "physics": {"name": "cs", "noise": {"sigma": 0.1}}})
    {'kind': 'conditional', 'physics.name': 'cs', 'physics.noise.sigma': 0.1}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out
