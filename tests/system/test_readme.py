"""The README's Python example runs as written (with fewer steps and a temporary run folder)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    code = re.search(r"## Python\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert "steps=500" in code and 'out_dir="runs/mine"' in code
    code = code.replace("steps=500", "steps=2").replace('out_dir="runs/mine"', f'out_dir="{tmp_path}", progress=False')
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    assert scope["trainer"].step == 2 and scope["x_hat"].shape == (1, 1, 64, 64)
