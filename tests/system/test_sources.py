"""Every Python file of the project compiles without warnings: an invalid escape such as ``\\ell``
in a docstring that is not raw is a DeprecationWarning on Python 3.11, a SyntaxWarning on 3.12
(printed at every import, as the first GPU check showed) and an error in later versions."""

from __future__ import annotations

import warnings
from pathlib import Path

import invgan

ROOT = Path(invgan.__file__).resolve().parents[1]
FOLDERS = ("invgan", "tests", "benchmarks", "scripts", "examples")


def test_every_source_compiles_without_warnings():
    files = [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 100
    found = []
    for path in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        found += [f"{path.relative_to(ROOT)}:{w.lineno}: {w.message}" for w in caught]
    assert not found, "\n".join(found)
