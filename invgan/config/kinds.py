"""The kinds of job, and the resolution of a config: defaults, preset, file and overrides.

A key that moved keeps working: :data:`MOVED` maps it to its new place with a one-line warning
(silently for saved configs, ``resolve(data=...)``, which old run folders and shipped weights hold)."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

from .conditional import ConditionalConfig
from .dip import DIPJobConfig
from .invert import InvertConfig
from .presets import PRESETS
from .reader import apply_overrides, load_config_file, merge
from .schema import dataclass_from_dict
from .unconditional import UnconditionalConfig

#: the schema of each kind of job
KINDS: dict[str, type] = {"conditional": ConditionalConfig, "unconditional": UnconditionalConfig, "invert": InvertConfig, "dip": DIPJobConfig}

#: keys that moved, by kind: old dotted key -> new dotted key
MOVED: dict[str, dict[str, str]] = {"unconditional": {"objective": "loss.objective"}}


def _move_keys(values: dict[str, Any], kind: str, where: str, quiet: bool) -> dict[str, Any]:
    """``values`` with the old keys of :data:`MOVED` put at their new place (a warning naming the
    new key unless ``quiet``); both keys at once is an error."""
    for old, new in MOVED.get(kind, {}).items():
        *old_path, old_key = old.split(".")
        node = values
        for k in old_path:
            node = node.get(k) if isinstance(node, dict) else None
        if not isinstance(node, dict) or old_key not in node:
            continue
        value = node.pop(old_key)
        *new_path, new_key = new.split(".")
        target = values
        for k in new_path:
            target = target.setdefault(k, {})
        if new_key in target:
            raise ValueError(f"{where} gives both {old!r} and its new key {new!r}: keep {new!r}")
        target[new_key] = value
        if not quiet:
            warnings.warn(f"{where}: {old!r} is now {new!r} (read as {new} = {value!r})", FutureWarning, stacklevel=3)
    return values


def _move_overrides(overrides: list[str], kind: str) -> list[str]:
    """``--set`` overrides with the old keys of :data:`MOVED` renamed (a warning naming the new key)."""
    out = []
    for item in overrides:
        path, sep, text = item.partition("=")
        new = MOVED.get(kind, {}).get(path.strip())
        if sep and new is not None:
            warnings.warn(f"--set {path.strip()}: {path.strip()!r} is now {new!r} (use --set {new}={text.strip()})", FutureWarning, stacklevel=3)
            item = f"{new}={text}"
        out.append(item)
    return out


def resolve(kind: str | None = None, file: str | Path | None = None, preset: str | None = None, overrides: list[str] | None = None,
            data: dict[str, Any] | None = None) -> Any:
    """A validated config: the kind's defaults, then the preset, then the file (or ``data``), then the
    ``section.key=value`` overrides. The kind comes from the argument, the file's ``kind`` entry or
    the preset (``"conditional"`` when none says). A new config (not ``data``, a saved one) is also
    warned of the combinations its schema's ``notices()`` lists (rank 0 only under torchrun)."""
    values = dict(data if data is not None else (load_config_file(file) if file is not None else {}))
    values.pop("generator", None)  # recorded architecture of a saved unconditional run, rebuilt from the rest
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
    named = values.pop("kind", None)
    kind = kind or named or (PRESETS[preset].kind if preset else "conditional")
    if kind not in KINDS:
        raise ValueError(f"invalid kind={kind!r}: expected one of {tuple(KINDS)}")
    if named is not None and named != kind:
        raise ValueError(f"the config says kind={named!r}, but a {kind} run was asked for")
    if preset is not None and PRESETS[preset].kind != kind:
        raise ValueError(f"preset {preset!r} is for {PRESETS[preset].kind} runs, but a {kind} run was asked for")
    values = _move_keys(merge({}, values), kind, f"config file {file}" if data is None else "saved config", quiet=data is not None)
    base = merge(PRESETS[preset].values, values) if preset is not None else values
    schema = KINDS[kind]
    cfg = dataclass_from_dict(schema, merge(dataclasses.asdict(schema()), apply_overrides(base, _move_overrides(overrides or [], kind))), "")
    if data is None and os.environ.get("RANK", "0") == "0":  # a new config, read once (not again by torchrun's other ranks)
        for notice in getattr(cfg, "notices", list)():
            warnings.warn(notice, UserWarning, stacklevel=2)
    return cfg


def kind_of(cfg: Any) -> str:
    """The kind of a config (the key of its schema in :data:`KINDS`)."""
    for kind, schema in KINDS.items():
        if isinstance(cfg, schema):
            return kind
    raise ValueError(f"not an invgan job config: {type(cfg).__name__}")


def config_record(cfg: Any) -> dict[str, Any]:
    """What a run folder's ``config.json`` holds: the config with its kind."""
    return {"kind": kind_of(cfg), **dataclasses.asdict(cfg)}
