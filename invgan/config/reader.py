"""Reading configs: TOML, YAML or JSON files, and the ``--set section.key=value`` grammar."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The table of a TOML, YAML or JSON config file (UTF-8, with or without a byte-order mark); a
    file that does not parse, or whose top level is not a table of keys (a YAML list, say), is a
    one-line error naming the file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"config file not found: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"expected a config file, got a folder: {p}")
    if p.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ValueError(f"unsupported config format {p.suffix!r}: expected .toml, .yaml/.yml or .json")
    raw = p.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(f"config file {p} is UTF-16 text: save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark (Windows Notepad writes one) is not part of the config
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
            data = {} if data is None else data
    except UnicodeDecodeError as e:
        raise ValueError(f"config file {p} is not text ({e})") from e
    except Exception as e:  # TOMLDecodeError, JSONDecodeError, yaml.YAMLError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"config file {p} does not parse: {first}") from e
    if not isinstance(data, dict):
        raise ValueError(f"config file {p}: expected a table of keys at the top level, got a {type(data).__name__}")
    return data


def _parse_value(text: str) -> Any:
    """``--set`` values are TOML literals (``3``, ``1e-3``, ``true``, ``"name"``); bare words are strings."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides to a nested dict (validated later by :func:`~invgan.config.resolve`)."""
    out = json.loads(json.dumps(data))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"invalid override {item!r}: expected section.key=value")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ValueError(f"invalid override {item!r}: {k!r} is not a section")
        node[keys[-1]] = _parse_value(text.strip())
    return out


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, section by section (neither is changed)."""
    out = json.loads(json.dumps(base))
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
