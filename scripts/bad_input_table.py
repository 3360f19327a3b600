"""Write docs/bad_input.md from the cases of tests/system/test_bad_input.py: each case is run (in-process,
on the same made-up inputs as the test) and its error line goes in the table, with the temporary
paths replaced by the placeholders the commands use.

    python scripts/bad_input_table.py            # rewrites docs/bad_input.md
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's invgan, whatever is installed

HEADER = """# Bad input: what each command says

Every row is a case of `tests/system/test_bad_input.py`, which checks that the command exits with a
non-zero status, prints no traceback, prints the message below (`invgan COMMAND: error: ...`,
one line) and leaves the files it was given untouched. The table is written by
`python scripts/bad_input_table.py` from the same list of cases; a test checks that every case
has its row. Exit status 2 means bad input, 1 a run that failed (the diverging run), as
argparse's own errors; `INVGAN_TRACEBACK=1` shows the traceback of any error.

Placeholders: `TINY` is `--set` overrides for a tiny conditional run on `IMAGES`, a folder with
`train/` and `test/` of 48x48 grayscale PNGs; `RUN` a trained tiny conditional (deblurring) run,
`INP` an inpainting one, `GAN` a trained tiny GAN on 8x8 digits; `OUT` a new folder; the other
capitalised names are files described in the "input" column.

Choices made for inputs that used to be reinterpreted silently:

* `loss.adv_weight` must be >= 0 (0 is "no discriminator"; a negative weight was taken as 0);
  `train.eval_every` and `train.checkpoint_every` must be >= 0 (0 is "never during training";
  negative values meant "every step").
* A data folder without a `test/` sub-folder is refused unless `data.eval_source` names
  held-out images: before, it was evaluated on its own training images (and `best.pt` chosen
  on them).
* An RGB image given to a grayscale model (or the reverse) is converted, as documented for
  `read_image`; a channel count other than 1 or 3 is refused.
* Inputs of `reconstruct`/`invert` with the same file name (`a/x.png b/x.png`) get distinct
  outputs (`x_...`, `x_2_...`) instead of one overwriting the other.
* SSIM needs at least 6x6 pixels (an 11x11 window, reflect-padded); smaller images get
  `ssim = nan` rather than a crash (the deep image prior works down to 1x1).
* Images are read at their full depth and scaled by their type's range: 8-bit by 1/255, 16-bit
  PNG (gray or colour) and TIFF by 1/65535 (said once per run); float images must lie in [0, 1].
  `reconstruct` writes 16-bit PNGs for 16-bit inputs, 8-bit otherwise, and grayscale PNGs for a
  1-channel model. Colour photos in a data folder read with the default `data.channels=1` are
  converted to gray with one warning saying how to keep the colour.
* An empty `--generator` / `--checkpoint` (an unset shell variable) is refused instead of falling
  back to the shipped `dcgan-mnist` or the current folder.
* Every float option must be finite: `inf`, `-inf` and `nan` are refused by name.
* Shipped weights are checked against the sha256 their provenance records (cached per file); a
  changed file is refused, naming it and how to restore it.
* `--overwrite` needs a folder that holds a run and removes only the run's own files (`config.json`,
  `last.pt`, `best.pt`, `pretrained.pt`, `log.jsonl`, `latest.png`, `results.json`, `samples/`,
  `tensorboard/`); every check (process count, divisibility, data, checkpoint) runs before it.

| id | area | input | command | error |
|---|---|---|---|---|
"""


def load_cases():
    spec = importlib.util.spec_from_file_location("bad_input_cases", ROOT / "tests" / "system" / "test_bad_input.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main() -> int:
    m = load_cases()
    import pytest

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = m.make_world(root / "world")
        names = {world[k]: k.upper().replace("_PT", ".pt").replace("_YAML", ".yaml").replace("_TOML", ".toml")
                 for k in world if k != "tiny"}
        for i, case in enumerate(m.CASES):
            out = root / f"out{i}"
            out.mkdir()
            mp = pytest.MonkeyPatch()
            try:
                if case.patch is not None:
                    case.patch(mp)
                rc, stderr = m.run_case(case, world, out)
            finally:
                mp.undo()
            line = m.error_line(stderr)
            for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
                line = line.replace(path, name)
            line = line.replace(str(out), "OUT")
            for scratch in getattr(m, "_SCRATCH", []):  # a damaged copy of the shipped weights (a case's patch)
                line = line.replace(str(Path(scratch.name) / "weights"), "invgan/weights")
            if case.expect not in line or rc == 0 or "Traceback" in stderr:
                print(f"case {case.id}: unexpected result (exit {rc}): {line}", file=sys.stderr)
                return 1
            command = "invgan " + case.command.replace("{tiny}", "TINY").replace("{out}", "OUT")
            for key in world:
                command = command.replace("{" + key + "}", key.upper().replace("_PT", ".pt").replace("_YAML", ".yaml").replace("_TOML", ".toml"))
            rows.append(f"| `{case.id}` | {case.area} | {cell(case.input)} | `{cell(command)}` | {cell(line)} |")
    (ROOT / "docs" / "bad_input.md").write_text(HEADER + "\n".join(rows) + "\n")
    print(f"wrote {len(rows)} rows to docs/bad_input.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
