"""Bad input to every command ends in one line, ``invgan CMD: error: ...``, and a non-zero exit:
never a Python traceback, never a silently wrong result, never a write to the files it was given.

The cases are one list, :data:`CASES`; ``docs/bad_input.md`` is the table of them with the
messages they get (written by ``scripts/bad_input_table.py``) and a test checks the two agree.
Commands run in-process (``invgan.cli.main``); each case names its command line with
placeholders filled from a shared folder of inputs (:func:`make_world`):

* ``{tiny}``: ``--set`` overrides for a tiny conditional run on the 48x48 images of ``{images}``,
* ``{run}``: a trained tiny conditional run (``last.pt``), ``{gan}``: a trained tiny GAN,
* ``{out}``: a fresh folder for the case's outputs; other names are files made below.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from invgan.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.crop=16", "data.batch_size=2", "data.eval_crops=4", "model.width=4", "model.depth=2", "model.d_width=4",
        "model.d_layers=1", "train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.log_every=1",
        "train.progress=false", "train.tensorboard=false", "train.device='cpu'"]


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    input: str
    command: str  # placeholders {tiny}, {run}, {gan}, {out}, ... (see the module docstring)
    expect: str  # a substring of the error line
    patch: Callable | None = None  # monkeypatch(mp) before the command (e.g. no GPU on a GPU machine)


def _no_gpu(mp) -> None:
    mp.setattr(torch.cuda, "is_available", lambda: False)


# --- shipped weights damaged in a copy of their folder (issue 22, data helper)
_SCRATCH: list[tempfile.TemporaryDirectory] = []  # the copies, removed at exit


def _shipped_copy(mp, damage: Callable[[Path], None]) -> None:
    """dcgan-mnist's files copied to a weights folder of their own, damaged there, and used."""
    from invgan import pretrained

    scratch = tempfile.TemporaryDirectory()
    _SCRATCH.append(scratch)
    folder = Path(scratch.name) / "weights"
    folder.mkdir()
    for suffix in (".pt", ".json"):
        shutil.copy2(pretrained.weights_dir() / f"dcgan-mnist{suffix}", folder)
    damage(folder)
    mp.setattr(pretrained, "weights_dir", lambda: folder)
    mp.setenv("XDG_CACHE_HOME", str(Path(scratch.name) / "cache"))


def _flip_tensor_byte(folder: Path) -> None:
    """One bit flipped in the middle of the largest tensor's data of dcgan-mnist.pt (torch.load still reads it)."""
    import struct
    import zipfile

    path = folder / "dcgan-mnist.pt"
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def _damaged_weights(mp) -> None:
    _shipped_copy(mp, _flip_tensor_byte)


def _broken_provenance(mp) -> None:
    _shipped_copy(mp, lambda folder: (folder / "dcgan-mnist.json").write_text('{"sha256": "b9c3",'))


T = "train {tiny} --out {out}/run"  # a tiny conditional training run into a fresh folder
CASES: list[Case] = [
    # --- command line
    Case("out-is-file", "CLI", "`--out` is an existing file", "train {tiny} --out {afile}", "is an existing file, not a folder"),
    Case("out-under-file", "CLI", "`--out` inside a file", "train {tiny} --out {afile}/run", "is a file"),
    Case("out-existing-run", "CLI", "`--out` holds a run, no `--resume`/`--overwrite`", "train {tiny} --out {run}", "is not empty: pass --resume"),
    Case("resume-and-overwrite", "CLI", "`--resume` with `--overwrite`", T + " --resume {run}/last.pt --overwrite", "not allowed with argument"),
    Case("no-gpu", "CLI", "`train.device='cuda'` without a GPU", T + " --set train.device='cuda'", "no CUDA GPU is usable here", _no_gpu),
    Case("bad-device", "CLI", "`train.device='gpu'`", T + " --set train.device='gpu'", "invalid device='gpu'"),
    Case("invert-n0", "CLI", "`invert -n 0`", "invert --generator {gan}/last.pt -n 0 --out {out}/inv", "invalid -n 0"),
    Case("invert-samples-1", "CLI", "`invert --samples 1` (a spread needs two)", "invert --generator {gan}/last.pt --samples 1 --out {out}/inv", "invalid search.samples=1"),
    Case("invert-deviation", "CLI", "`invert --deviation wavelet`", "invert --generator {gan}/last.pt --deviation wavelet --out {out}/inv", "invalid search.deviation='wavelet'"),
    Case("sample-n0", "CLI", "`sample -n 0`", "sample {gan}/last.pt -n 0 --out {out}/s.png", "invalid -n 0"),
    Case("sample-nrow", "CLI", "`sample --nrow -3`", "sample {gan}/last.pt --nrow -3 --out {out}/s.png", "invalid --nrow -3"),
    Case("sample-truncation-range", "CLI", "`sample --truncation 1.5`", "sample {gan}/last.pt --truncation 1.5 --out {out}/s.png",
         "invalid --truncation 1.5"),
    Case("sample-truncation-no-style", "CLI", "`sample --truncation` of a generator without a style space (MLP, DCGAN)",
         "sample {gan}/last.pt --truncation 0.7 --out {out}/s.png", "--truncation needs a generator with a style space"),
    Case("sample-out-folder", "CLI", "`--out` of an image command is a folder", "sample {gan}/last.pt -n 4 --out {images}", "is a folder: expected an image file name"),
    Case("sample-out-ext", "CLI", "`--out` with no image extension", "sample {gan}/last.pt -n 4 --out {out}/grid.txt", "unknown image extension '.txt'"),
    Case("dip-out-under-file", "CLI", "`dip --out` inside a file", "dip {small} --max-steps 2 --out {afile}/x.png", "is an existing file, not a folder"),
    Case("reconstruct-out-file", "CLI", "`reconstruct --out` is a file", "reconstruct --checkpoint {run}/last.pt {small} --out {afile}", "is an existing file"),
    Case("reconstruct-samples-1", "CLI", "`reconstruct --samples 1`", "reconstruct --checkpoint {run}/last.pt {small} --samples 1 --out {out}/rec",
         "invalid --samples 1: expected K >= 2"),
    Case("reconstruct-samples-deterministic", "CLI", "`reconstruct --samples 4` with a deterministic reconstructor",
         "reconstruct --checkpoint {run}/last.pt {small} --samples 4 --out {out}/rec", "--samples needs a reconstructor with latent channels"),
    Case("reconstruct-std-pool-even", "CLI", "`reconstruct --std-pool 2` (the neighbourhood must be centred)",
         "reconstruct --checkpoint {run}/last.pt {small} --samples 3 --std-pool 2 --out {out}/rec", "invalid --std-pool 2: expected an odd integer"),
    Case("bool-flag", "CLI", "`--fresh-per-sample maybe`", "dip {small} --fresh-per-sample maybe --out {out}/x.png", "expected true or false"),
    Case("nan-flag", "CLI", "`--noise-sigma nan`", "dip {small} --noise-sigma nan --max-steps 2 --out {out}/x.png", "invalid physics.noise_sigma='NaN'"),
    # --- config files and values
    Case("unknown-key", "config", "mistyped key `train.stepz`", T + " --set train.stepz=3", "unknown key(s) 'train.stepz'"),
    Case("unknown-section", "config", "mistyped section `trian.steps`", T + " --set trian.steps=3", "unknown key(s) 'trian'"),
    Case("wrong-type", "config", "`train.steps='many'`", T + " --set train.steps='many'", "invalid train.steps='many': expected int"),
    Case("negative-steps", "config", "`train.steps=-1`", T + " --set train.steps=-1", "invalid train.steps=-1"),
    Case("negative-eval-every", "config", "`train.eval_every=-1` (was: every step)", T + " --set train.eval_every=-1", "invalid train.eval_every=-1"),
    Case("negative-checkpoint-every", "config", "`train.checkpoint_every=-5` (was: every step)", T + " --set train.checkpoint_every=-5", "invalid train.checkpoint_every=-5"),
    Case("negative-adv-weight", "config", "`loss.adv_weight=-1` (was: no discriminator)", T + " --set loss.adv_weight=-1", "invalid loss.adv_weight=-1.0"),
    Case("posterior-no-latent", "config", "`loss.posterior_samples=2` without latent channels", T + " --set loss.posterior_samples=2",
         "posterior samples need the unet reconstructor with latent channels"),
    Case("std-weight-one-sample", "config", "`loss.std_weight=1` with one draw of z", T + " --set loss.std_weight=1",
         "the std reward needs loss.posterior_samples >= 2"),
    Case("splitting-blur", "config", "`loss.self_supervised=splitting` on a blur (no measured pixels to split)",
         T + " --set loss.self_supervised='splitting'", "splits the measured pixels, for physics.name='inpainting' only"),
    Case("project-blur", "config", "`model.consistency=project` on a blur (no measured pixels to copy)",
         T + " --set model.consistency='project'", "copies the measured pixels into the output, for physics.name='inpainting' only"),
    Case("eval-crops-0", "config", "`data.eval_crops=0`", T + " --set data.eval_crops=0", "invalid data.eval_crops=0"),
    Case("keep-1.5", "config", "`physics.keep=1.5`", T + " --set physics.keep=1.5", "invalid physics.keep=1.5"),
    Case("sigma-negative", "config", "`physics.sigma=-1`", T + " --set physics.sigma=-1", "invalid physics.sigma=-1"),
    Case("scheduler", "config", "`optim.scheduler='linear'`", T + " --set optim.scheduler='linear'", "invalid optim.scheduler='linear'"),
    Case("channels-2", "config", "`data.channels=2` (wrong channel count)", T + " --set data.channels=2", "invalid data.channels=2"),
    Case("yaml-list", "config", "a YAML config that is a list", "train --config {list_yaml}", "expected a table of keys at the top level, got a list"),
    Case("toml-syntax", "config", "a TOML file with a syntax error", "train --config {bad_toml}", "does not parse"),
    Case("config-missing", "config", "a config file that does not exist", "train --config {out}/nope.toml", "config file not found"),
    Case("config-format", "config", "a config file of another format", "train --config {afile}", "unsupported config format"),
    Case("unknown-preset", "config", "`--preset nope`", "train --preset nope", "unknown preset 'nope'"),
    # --- data folders and images
    Case("folder-missing", "data", "`data.source` does not exist", T + " --set data.source='{out}/none'", "data source not found"),
    Case("folder-is-file", "data", "`data.source` is a file of the wrong kind", T + " --set data.source='{afile}'", "is a suffix-less file: expected 'builtin', a folder"),
    Case("source-one-image", "data", "`data.source` is one image file", T + " --set data.source='{small}'", "is one image: expected 'builtin', a folder"),
    Case("list-no-heldout", "data", "a `.txt` list of images without `data.eval_source`", T + " --set data.source='{listing}'", "needs held-out images: name them with data.eval_source"),
    Case("npy-float-range", "data", "float arrays outside [0, 1] without `data.value_range`", T + " --set data.source='{floats}' --set data.eval_source='{floats}'", "state their range with data.value_range"),
    Case("value-range-order", "data", "`data.value_range=[1, 0]`", T + " --set data.value_range=[1,0]", "with low < high"),
    Case("gen-resolution", "data", "a generator at `data.resolution=48`", "train --preset dcgan-digits8 --set data.source='{images}' --set data.resolution=48", "invalid data.resolution=48: expected one of"),
    Case("gen-builtin-rgb", "data", "a generator on a built-in set with `data.channels=3`", "train --preset dcgan-digits8 --set data.channels=3", "the built-in sets are grayscale"),
    Case("gen-too-small", "data", "a generator at 64x64 on 48x48 images", "train --preset dcgan-digits8 --set data.source='{images}' --set data.resolution=64 --out {out}/g", "smaller than 64 pixels"),
    Case("folder-empty", "data", "empty `train/` and `test/`", T + " --set data.source='{empty}'", "no images"),
    Case("folder-no-test", "data", "a folder without `test/` (was: evaluated on its training images)", T + " --set data.source='{flat}'", "has no test/ sub-folder"),
    Case("folder-not-images", "data", "a folder of files that are not images", T + " --set data.source='{notimages}'", "no usable images"),
    Case("crop-too-large", "data", "images smaller than the crop", T + " --set data.crop=64", "are smaller than 64 pixels"),
    Case("image-not-image", "images", "an input that is not an image", "reconstruct --checkpoint {run}/last.pt {textpng} --out {out}/rec", "not a readable image"),
    Case("image-missing", "images", "an input that does not exist", "reconstruct --checkpoint {run}/last.pt {out}/nope.png --out {out}/rec", "image not found"),
    Case("image-folder", "images", "a folder given as an input image", "reconstruct --checkpoint {run}/last.pt {images} --out {out}/rec", "expected an image file, got a folder"),
    Case("image-1x1", "images", "a 1x1 image through a blur", "reconstruct --checkpoint {run}/last.pt {one} --out {out}/rec", "at most the image size 1"),
    Case("image-wrong-size", "images", "an image of another size than the generator's", "invert --generator {gan}/last.pt {small} --out {out}/inv", "does not match the generator's output"),
    Case("reference-size", "images", "`dip --reference` of another size", "dip {small} --reference {one} --out {out}/x.png", "does not match the image size"),
    Case("measured-no-mask", "images", "`--measured` inpainting data without `--mask`", "reconstruct --checkpoint {inp}/last.pt {small} --measured --out {out}/rec", "needs --mask"),
    # --- operators
    Case("cs-m-too-large", "operators", "`m` larger than the image (`m>n`)", T + " --set physics.name='cs' --set physics.m=1000", "invalid m=1000: expected an integer in [1, 256]"),
    Case("factor-3", "operators", "downsampling `--factor 3`", "dip {small} --physics downsampling --factor 3 --out {out}/x.png", "invalid physics.factor=3"),
    Case("factor-not-divisor", "operators", "an image size the factor does not divide", "dip {odd} --physics downsampling --factor 4 --max-steps 2 --out {out}/x.png", "a divisor of the image size"),
    Case("unknown-physics", "operators", "`--physics nope`", "dip {small} --physics nope --out {out}/x.png", "invalid physics='nope'"),
    Case("measured-cs", "operators", "`dip --measured` with compressed sensing", "dip {small} --measured --physics cs --out {out}/x.png", "--measured works for same-size operators"),
    Case("kernel-larger-than-image", "operators", "a blur kernel larger than the crop", T + " --set data.crop=8", "at most the image size 8"),
    # --- checkpoints
    Case("resume-missing", "checkpoints", "`--resume` of a missing file", T + " --resume {out}/nope.pt", "checkpoint not found"),
    Case("resume-tensor", "checkpoints", "a `.pt` holding a bare tensor", T + " --resume {tensor_pt}", "holds a Tensor"),
    Case("resume-truncated", "checkpoints", "a truncated checkpoint", T + " --resume {truncated_pt}", "not a readable invgan checkpoint"),
    Case("resume-no-config", "checkpoints", "a checkpoint without a config", T + " --resume {noconfig_pt}", "has no config"),
    Case("resume-other-width", "checkpoints", "a checkpoint of another width", T + " --set model.width=8 --resume {run}/last.pt", "model.width = 4 there, 8 here"),
    Case("resume-other-physics", "checkpoints", "a checkpoint made under other physics", T + " --set physics.sigma=3.0 --resume {run}/last.pt", "physics.sigma = 2.0 there, 3.0 here"),
    Case("resume-other-kind", "checkpoints", "a GAN checkpoint resumed in a reconstructor run", T + " --resume {gan}/last.pt", "made by an unconditional run, but this is a conditional run"),
    Case("resume-exported", "checkpoints", "an exported network given to `--resume`", T + " --resume {exported_pt}", "holds an exported network"),
    Case("resume-past-steps", "checkpoints", "a checkpoint past `train.steps`", T + " --set train.steps=1 --resume {run}/last.pt", "beyond this run's steps=1"),
    Case("eval-other-architecture", "checkpoints", "`eval` with another run's checkpoint", "eval {run} --checkpoint {gan}/last.pt", "made by an unconditional run"),
    Case("eval-not-a-run", "checkpoints", "`eval` of a folder without config.json", "eval {images}", "not a run folder"),
    Case("reconstruct-gan", "checkpoints", "a generator checkpoint given to `reconstruct`", "reconstruct --checkpoint {gan}/last.pt {small} --out {out}/rec", "checkpoint of a generator run"),
    Case("sample-reconstructor", "checkpoints", "a reconstructor checkpoint given to `sample`", "sample {run}/last.pt --out {out}/s.png", "checkpoint of a conditional run"),
    Case("invert-reconstructor", "checkpoints", "a reconstructor checkpoint given to `invert`", "invert --generator {run}/last.pt --out {out}/inv", "checkpoint of a conditional run"),
    Case("sample-tensor", "checkpoints", "`sample` of a bare tensor", "sample {tensor_pt} --out {out}/s.png", "holds a Tensor"),
    Case("sample-no-config", "checkpoints", "`sample` of a checkpoint without config", "sample {noconfig_pt} --out {out}/s.png", "has no config"),
    Case("invert-unknown-name", "checkpoints", "`--generator` neither a file nor a shipped model name", "invert --generator nope -n 2 --out {out}/inv",
         "'nope' is neither a checkpoint file nor a shipped model"),
    Case("sample-missing-file", "checkpoints", "`sample` of a checkpoint file that does not exist", "sample {out}/nope.pt --out {out}/s.png",
         "checkpoint not found"),
    Case("reconstruct-shipped-generator", "checkpoints", "a shipped generator given to `reconstruct --checkpoint`",
         "reconstruct --checkpoint dcgan-mnist {small} --out {out}/rec", "shipped model 'dcgan-mnist' is a checkpoint of a generator run"),
    Case("sample-no-ema-shipped", "checkpoints", "`sample --no-ema` of shipped weights (one copy only)", "sample dcgan-mnist --no-ema --out {out}/s.png",
         "--no-ema needs a trainer checkpoint"),
    # --- runs
    Case("diverging", "runs", "a diverging run (`optim.lr_g=1e30`)", T + " --set optim.lr_g=1e30 --set optim.lr_d=1e30", "became nan at step"),
    # --- images, shipped weights, empty checkpoint names (issue 22, data helper)
    Case("invert-empty-generator", "checkpoints", "`--generator ''`, an empty shell variable (was: the shipped dcgan-mnist)",
         "invert --generator= -n 2 --out {out}/inv", "--generator is empty"),
    Case("reconstruct-empty-checkpoint", "checkpoints", "`reconstruct --checkpoint ''`", "reconstruct --checkpoint= {small} --out {out}/rec",
         "--checkpoint is empty"),
    Case("eval-empty-checkpoint", "checkpoints", "`eval --checkpoint ''`", "eval {run} --checkpoint=", "--checkpoint is empty"),
    Case("weights-damaged", "checkpoints", "a shipped weights file with one flipped byte in a tensor (was: loaded silently)",
         "sample dcgan-mnist -n 2 --out {out}/s.png", "is damaged (shipped model 'dcgan-mnist')", _damaged_weights),
    Case("weights-provenance-not-json", "checkpoints", "a shipped provenance `.json` that is not JSON (was: the parser's message alone)",
         "weights dcgan-mnist", "dcgan-mnist.json is not valid JSON", _broken_provenance),
    # --- config values across the schema (issue 22, config and docs)
    Case("reg-weight-inf", "config", "`gan.reg_weight=inf` (was: \"loss 'D' became inf\")", "train --preset dcgan-digits8 --set gan.reg_weight=inf --out {out}/gan",
         "invalid gan.reg_weight=inf: expected a finite number"),
    Case("adv-weight-nan", "config", "`loss.adv_weight=nan`", T + " --set loss.adv_weight=nan", "invalid loss.adv_weight=nan: expected a finite number"),
    Case("cyclegan-dcgan", "config", "`cyclegan-deblur` with `model.discriminator=dcgan` (was: an IndexError at step 1)",
         "train --preset cyclegan-deblur --set model.discriminator=dcgan --out {out}/run",
         "invalid model.discriminator='dcgan' for loss.adversarial='unpaired': expected 'patchgan'"),
    # --- run folders, processes, interpolate and dip outputs (issue 22)
    Case("overwrite-nproc-indivisible", "runs", "`--overwrite --nproc 2` with `data.batch_size=3` (checked before the run is cleared)",
         "train {tiny} --set data.batch_size=3 --nproc 2 --overwrite --out {run}", "data.batch_size=3 is not divisible by the 2 processes"),
    Case("overwrite-not-a-run", "runs", "`--overwrite` on a folder that holds no run", "train {tiny} --overwrite --out {images}", "holds no run"),
    Case("nproc-too-many", "runs", "`--nproc 1000` on a few CPU cores", T + " --nproc 1000", "is more than the"),
    Case("stale-rank", "runs", "`RANK=1` left in the environment (no torchrun)", "train {tiny} --out {run}", "a stale torchrun environment was found",
         lambda mp: mp.setenv("RANK", "1")),
    Case("stale-world-size", "runs", "`WORLD_SIZE=2` left in the environment (no torchrun)", T, "a stale torchrun environment was found",
         lambda mp: mp.setenv("WORLD_SIZE", "2")),
    Case("interpolate-out-run-file", "runs", "`interpolate RUN --out RUN/last.pt`", "interpolate {run} --alpha 0.5 --out {run}/last.pt",
         "would replace one of the files of the run"),
    Case("dip-out-is-input", "dip", "`dip IMG --out IMG`", "dip {small} --physics denoising --max-steps 2 --out {small}", "would overwrite the input IMAGE"),
    Case("dip-measured-no-mask", "dip", "`dip --measured` for inpainting without `--mask`", "dip {small} --measured --physics inpainting --out {out}/x.png",
         "--measured inpainting needs --mask"),
]


# ---------------------------------------------------------------------- the shared inputs
def _png(path: Path, shape: tuple[int, ...], seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)).save(path)
    return path


def _run_quiet(argv: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    assert rc == 0, err.getvalue()


def make_world(root: Path) -> dict[str, str]:
    """The inputs the cases name, made once under ``root``; returns the placeholders."""
    root.mkdir(parents=True, exist_ok=True)
    images = root / "images"
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            _png(images / split / f"img{i}.png", (48, 48), seed=10 * i + len(split))
    for i in range(2):
        _png(root / "flat" / f"img{i}.png", (48, 48), seed=i)
    (root / "empty" / "train").mkdir(parents=True, exist_ok=True)
    (root / "empty" / "test").mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        (root / "notimages" / split).mkdir(parents=True, exist_ok=True)
        (root / "notimages" / split / "photo.png").write_text("not an image")
    (root / "text.png").write_text("not an image")
    (root / "afile").write_text("a plain file")
    (root / "list.yaml").write_text("- train\n- steps\n")
    (root / "bad.toml").write_text("[train\nsteps = 3\n")
    (root / "listing.txt").write_text("images/train/img0.png\nimages/train/img1.png\n")
    np.save(root / "floats.npy", np.linspace(0, 1000, 3 * 48 * 48, dtype=np.float32).reshape(3, 48, 48))
    sets = [a for o in [f"data.source='{images}'", *TINY] for a in ("--set", o)]
    _run_quiet(["train", *sets, "--out", str(root / "run")])
    _run_quiet(["train", *sets, "--set", "physics.name='inpainting'", "--out", str(root / "inp")])
    gan = ["--set", "data.batch_size=8", "--set", "data.eval_samples=16", "--set", "classifier_metrics=false", "--set", "train.steps=1",
           "--set", "train.eval_every=0", "--set", "train.progress=false", "--set", "train.device='cpu'", "--set", "model.width=8"]
    _run_quiet(["train", "--preset", "dcgan-digits8", *gan, "--out", str(root / "gan")])
    torch.save(torch.zeros(3), root / "tensor.pt")
    (root / "truncated.pt").write_bytes((root / "run" / "last.pt").read_bytes()[:2000])
    state = torch.load(root / "run" / "last.pt", weights_only=True)
    torch.save({"config": state["config"], "state_dict": state["networks"]["G"]}, root / "exported.pt")
    del state["config"]
    torch.save(state, root / "noconfig.pt")
    return {
        "images": str(images), "run": str(root / "run"), "inp": str(root / "inp"), "gan": str(root / "gan"),
        "flat": str(root / "flat"), "empty": str(root / "empty"), "notimages": str(root / "notimages"),
        "afile": str(root / "afile"), "list_yaml": str(root / "list.yaml"), "bad_toml": str(root / "bad.toml"),
        "textpng": str(root / "text.png"), "small": str(_png(root / "small.png", (20, 20))), "one": str(_png(root / "one.png", (1, 1))),
        "odd": str(_png(root / "odd.png", (10, 10))), "tensor_pt": str(root / "tensor.pt"), "truncated_pt": str(root / "truncated.pt"),
        "noconfig_pt": str(root / "noconfig.pt"), "exported_pt": str(root / "exported.pt"),
        "listing": str(root / "listing.txt"), "floats": str(root / "floats.npy"),
        "tiny": " ".join(f"--set {o}" for o in [f"data.source='{images}'", *TINY]),
    }


def argv_of(case: Case, world: dict[str, str], out: Path) -> list[str]:
    text = case.command.replace("{tiny}", "\0TINY\0")
    args: list[str] = []
    for token in text.split():
        if token == "\0TINY\0":
            args += world["tiny"].split()
        else:
            args.append(token.format(**world, out=out))
    return args


def run_case(case: Case, world: dict[str, str], out: Path) -> tuple[int, str]:
    """Exit status and stderr of the case's command, run in-process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv_of(case, world, out))
        except SystemExit as e:  # argparse's own errors
            rc = e.code if isinstance(e.code, int) else 1
    return rc, err.getvalue()


def error_line(stderr: str) -> str:
    """The line a user reads: ``invgan CMD: error: ...`` (argparse's or ours)."""
    lines = [line for line in stderr.splitlines() if ": error: " in line]
    return lines[-1] if lines else stderr.strip().splitlines()[-1] if stderr.strip() else ""


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(case, world, tmp_path, monkeypatch):
    if case.patch is not None:
        case.patch(monkeypatch)
    root = Path(world["run"]).parent
    before = _snapshot(root)
    rc, stderr = run_case(case, world, tmp_path)
    assert rc != 0, f"exit status 0 for {case.command}"
    assert "Traceback" not in stderr
    line = error_line(stderr)
    assert line.startswith("invgan") and ": error: " in line, stderr
    assert case.expect in line, line
    assert _snapshot(root) == before, "a failed command changed the inputs it was given"
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not leftovers or case.id == "diverging", f"a refused command wrote {leftovers}"


def test_the_docs_table_lists_every_case():
    """docs/bad_input.md has one row per case (by id), each showing the case's expected message."""
    rows = {}
    for line in (ROOT / "docs" / "bad_input.md").read_text().splitlines():
        m = re.match(r"\|\s*`([a-z0-9.-]+)`\s*\|", line)
        if m:
            rows[m.group(1)] = line
    assert set(rows) == {c.id for c in CASES}
    for c in CASES:
        assert c.expect.replace("|", "\\|") in rows[c.id], c.id
    assert len(CASES) >= 30


def test_a_diverging_run_keeps_its_last_good_checkpoint(world, tmp_path):
    """The NaN stop through the command line: one line, exit 1, and last.pt holds the last finite step."""
    case = Case("d", "runs", "", "train {tiny} --out {out}/run --set train.steps=4 --set train.checkpoint_every=1", "")
    run_dir = tmp_path / "run"
    # steps 1-2 train normally and are checkpointed; then the losses turn NaN
    from invgan.training import gan

    original = gan.GANRecipe.generator_loss

    def poisoned(self, s):
        loss, terms = original(self, s)
        return (loss * float("nan") if s.step >= 2 else loss), terms

    gan.GANRecipe.generator_loss = poisoned
    try:
        rc, stderr = run_case(case, world, tmp_path)
    finally:
        gan.GANRecipe.generator_loss = original
    assert rc == 1 and "Traceback" not in stderr
    assert "loss 'G' became nan at step 3" in error_line(stderr) and "last.pt" in error_line(stderr)
    assert torch.load(run_dir / "last.pt", weights_only=True)["step"] == 2


@pytest.mark.parametrize("size", [1, 16, 32])
def test_small_images_work_with_the_default_dip_net(tmp_path, size, capsys):
    """The default skip net (depth 5) on images of 32x32 or smaller, down to 1x1 (SSIM is NaN below 6 px)."""
    img = _png(tmp_path / "img.png", (size, size))
    assert main(["dip", str(img), "--physics", "denoising", "--max-steps", "2", "--no-progress", "--out", str(tmp_path / "x.png"), "--json"]) == 0
    with Image.open(tmp_path / "x.png") as im:
        assert im.size == (size, size)


def test_same_file_names_from_two_folders_get_two_outputs(world, tmp_path, capsys):
    a, b = _png(tmp_path / "a" / "x.png", (20, 20), seed=1), _png(tmp_path / "b" / "x.png", (20, 20), seed=2)
    out = tmp_path / "rec"
    assert main(["reconstruct", "--checkpoint", f"{world['run']}/last.pt", str(a), str(b), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["x_2_measurement.png", "x_2_reconstruction.png", "x_measurement.png", "x_reconstruction.png"]
    assert (out / "x_reconstruction.png").read_bytes() != (out / "x_2_reconstruction.png").read_bytes()


def test_overwrite_clears_the_old_run_and_resume_continues_it(world, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(world["run"], run_dir)
    (run_dir / "notes.txt").write_text("mine")
    sets = world["tiny"].split()
    assert main(["train", *sets, "--set", "train.steps=3", "--out", str(run_dir), "--resume", str(run_dir / "last.pt")]) == 0
    assert _log_steps(run_dir) == ([1, 2, 3], [2, 3])  # steps 1-2 of the first run (and its final evaluation), then step 3
    assert main(["train", *sets, "--out", str(run_dir), "--overwrite"]) == 0
    assert _log_steps(run_dir) == ([1, 2], [2]) and (run_dir / "notes.txt").read_text() == "mine"


def _log_steps(run_dir: Path) -> tuple[list[int], list[int]]:
    """Steps of the training rows and of the evaluation rows of a run's log."""
    import json

    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [r["step"] for r in rows if "eval" not in r and not r.get("done")], [r["step"] for r in rows if "eval" in r]
