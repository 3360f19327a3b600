"""The trained models that ship in ``invgan/weights/`` (:mod:`invgan.pretrained`): each file loads
weights-only, matches the sha256 of its provenance and reproduces the provenance's check figure
at small size; the CLI uses them without flags; the export script writes the format they use.

``dcgan-mnist``, ``ambientgan-mnist`` and ``stylegan2-mnist`` ship: their tests fail, never skip, when a file is
missing. ``sr4`` is exported by its trainer (``scripts/export_weights.py RUN_DIR sr4 --command
...``); until then its tests skip, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

from invgan import pretrained
from invgan.cli import main


def _export_module():
    """``scripts/weights_export.py`` (the export code lives beside its script, outside the package),
    loaded by file path as the test of ``scripts/kill_resume.py`` loads its script; found from this
    file's folder upwards, wherever the tests are laid out."""
    path = next(p / "scripts" / "weights_export.py" for p in Path(__file__).resolve().parents
                if (p / "scripts" / "weights_export.py").is_file())
    spec = importlib.util.spec_from_file_location("weights_export", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


weights_export = _export_module()

#: models whose files must be in the package
MUST_SHIP = ("dcgan-mnist", "ambientgan-mnist", "stylegan2-mnist")
#: total size of invgan/weights/ allowed (bytes)
MAX_TOTAL_BYTES = 15 * 1024 * 1024
#: tolerance of the re-measured check figure: relative for the generators' CS MSE, absolute (dB)
#: for the PSNR. Both are seeded and reproduce exactly on the machine that exported them; another
#: CPU or thread count changes float rounding, which a latent search can amplify (rounding the
#: weights to float16 moved the 8-digit MSE by 15 %: the bound is below that)
MSE_RTOL, PSNR_ATOL = 0.10, 0.05


def _shipped(name: str) -> Path:
    """The ``.pt`` file of ``name``; a failure for a model that must ship, a skip for the others."""
    path = pretrained.weights_dir() / f"{name}.pt"
    if not path.is_file():
        if name in MUST_SHIP:
            pytest.fail(f"{path} is missing: {name} must ship with invgan")
        pytest.skip(f"{name} is not exported yet: python scripts/export_weights.py RUN_DIR {name} "
                    f"--command 'invgan train --preset {pretrained.REGISTRY[name].preset}' --metrics-json METRICS.json")
    return path


NAMES = list(pretrained.REGISTRY)


def test_registry_names_and_default():
    assert pretrained.list_pretrained() == ["dcgan-mnist", "ambientgan-mnist", "sr4", "stylegan2-mnist"]
    assert pretrained.REGISTRY[pretrained.DEFAULT_GENERATOR].network == "generator"
    assert set(MUST_SHIP) <= set(pretrained.list_pretrained(shipped_only=True))


@pytest.mark.parametrize("name", NAMES)
def test_file_loads_weights_only_in_the_recorded_format(name):
    path = _shipped(name)
    state = torch.load(path, map_location="cpu", weights_only=True)
    record = pretrained.provenance(name)
    assert state["format"] == pretrained.FORMAT and state["version"] == pretrained.VERSION
    assert state["name"] == name and state["network"] == pretrained.REGISTRY[name].network == record["network"]
    assert state["step"] == record["checkpoint_step"] and state["ema"] == record["ema"]
    floats = {v.dtype for v in state["state_dict"].values() if v.is_floating_point()}
    assert floats == {pretrained.DTYPES[record["dtype"]]}


@pytest.mark.parametrize("name", NAMES)
def test_sha256_and_size_match_the_provenance(name):
    path = _shipped(name)
    record = pretrained.provenance(name)
    assert pretrained.sha256(path) == record["sha256"]
    assert path.stat().st_size == record["size_bytes"]
    for key in ("command", "preset", "steps", "seed", "git_commit", "trained", "exported", "machine", "torch", "metrics", "check"):
        assert record.get(key) not in (None, ""), key
    assert record["command"].startswith("invgan train --preset " + record["preset"])


@pytest.mark.parametrize("name", NAMES)
def test_check_figure_is_reproduced_at_small_size(name):
    """Generators: latent search on 8 held-out digits, CS m = 100, 2 restarts (see
    ``CHECK_PROTOCOL``); the reconstructor: PSNR on 2 held-out crops. Both against the figure the
    export measured on the same file."""
    _shipped(name)
    record = pretrained.provenance(name)
    network = pretrained.load_pretrained(name)
    assert not network.training and all(p.dtype == torch.float32 for p in network.parameters())
    got = weights_export.check_figure(network, record["network"], pretrained.load_weights(name)["config"])
    want = record["check"]["value"]
    assert got["protocol"] == record["check"]["protocol"]
    if record["network"] == "generator":
        assert got["value"] == pytest.approx(want, rel=MSE_RTOL)
        assert record["metrics"]["cs_m100"]["mean_mse"] < got["value"]  # 64 digits, 10 restarts x 500 steps do better
    else:
        assert got["value"] == pytest.approx(want, abs=PSNR_ATOL)


def test_total_shipped_size_is_small():
    files = [p for p in pretrained.weights_dir().iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_TOTAL_BYTES


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown pretrained model 'nope': expected one of dcgan-mnist, ambientgan-mnist, sr4, stylegan2-mnist"):
        pretrained.load_pretrained("nope")
    with pytest.raises(ValueError, match="'nope' is neither a checkpoint file nor a shipped model"):
        pretrained.resolve_checkpoint("nope")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        pretrained.resolve_checkpoint("runs/nope/best.pt")
    with pytest.raises(ValueError, match="the checkpoint argument is empty"):  # not the current folder
        pretrained.resolve_checkpoint("")


def test_a_registered_name_without_its_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "weights_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="'dcgan-mnist' is registered but its weights are not in this installation"):
        pretrained.load_pretrained("dcgan-mnist")
    assert pretrained.list_pretrained(shipped_only=True) == []


# ---------------------------------------------------------------------- the command line


def test_reconstruct_takes_the_shipped_sr4(tmp_path, capsys):
    _shipped("sr4")
    from torchvision.utils import save_image

    from invgan.data.images import load_builtin

    img = tmp_path / "crop.png"
    save_image(load_builtin("test", 1)[0][:, :64, :64], img)
    assert main(["reconstruct", "--checkpoint", "sr4", str(img), "--out", str(tmp_path / "rec"), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["psnr"] > row["baseline_psnr"]


# ---------------------------------------------------------------------- the export
@pytest.fixture
def tiny_gan(tmp_path):
    """A 28x28 DCGAN run of 2 steps (no metrics): the shape of the shipped generators."""
    out = tmp_path / "gan"
    sets = ["data.batch_size=8", "classifier_metrics=false", "train.steps=2", "train.eval_every=0", "train.checkpoint_every=0",
            "train.progress=false", "train.device='cpu'", "model.width=8", "model.d_width=8"]
    assert main(["train", "--preset", "dcgan-mnist", *[a for s in sets for a in ("--set", s)], "--out", str(out)]) == 0
    return out


def test_export_writes_a_loadable_file_and_its_record(tiny_gan, tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    pt, js = weights_export.export_run(tiny_gan, "dcgan-mnist", "invgan train --preset dcgan-mnist --set train.steps=2",
                                   checkpoint="last", metrics={"note": "none measured"}, out_dir=weights)
    record = json.loads(js.read_text())
    assert record["sha256"] == pretrained.sha256(pt) and record["checkpoint_step"] == 2 and record["ema"] is True
    assert "train.steps = 2 (preset: 16000)" in record["differs_from_preset"] and "model.width = 8 (preset: 32)" in record["differs_from_preset"]
    assert record["float32_max_abs_output_difference"] == 0.0
    monkeypatch.setattr(pretrained, "weights_dir", lambda: weights)
    G = pretrained.load_pretrained("dcgan-mnist")
    trained = torch.load(tiny_gan / "last.pt", weights_only=True)
    from invgan.training.checkpoint import load_generator

    reference = load_generator(trained)
    z = torch.randn(4, G.latent_dim)
    with torch.no_grad():
        assert torch.allclose(G(z), reference(z), atol=1e-2)
    config = torch.load(pt, weights_only=True)["config"]
    assert weights_export.check_figure(G, "generator", config)["value"] == pytest.approx(record["check"]["value"], rel=1e-6)


def test_export_of_a_reconstructor_and_reconstruct_by_name(tiny_overrides, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    assert main(["train", "--preset", "sr4", *[a for o in tiny_overrides for a in ("--set", o)], "--out", str(run)]) == 0
    weights = tmp_path / "weights"
    pt, js = weights_export.export_run(run, "sr4", "invgan train --preset sr4 (tiny)", checkpoint="last", dtype="float16", out_dir=weights)
    record = json.loads(js.read_text())
    assert record["network"] == "reconstructor" and record["ema"] is False and 0 < record["float16_max_abs_output_difference"] < 1e-2
    stored = torch.load(pt, weights_only=True)["state_dict"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    monkeypatch.setattr(pretrained, "weights_dir", lambda: weights)
    img = tmp_path / "x.png"
    from torchvision.utils import save_image

    save_image(torch.rand(1, 32, 32), img)
    assert main(["reconstruct", "--checkpoint", "sr4", str(img), "--out", str(tmp_path / "rec")]) == 0
    with pytest.raises(ValueError, match="'dcgan-mnist' is a generator, but .* is a checkpoint of a conditional run"):
        weights_export.export_run(run, "dcgan-mnist", "x", checkpoint="last", out_dir=weights)


# ---------------------------------------------------------------------- integrity (issue 22)
def flip_tensor_byte(path: Path) -> None:
    """Flip one bit in the middle of the largest tensor's data: the zip stays readable and
    ``torch.load`` does not notice."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x01
    stat = path.stat()
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as a later edit would


@pytest.fixture
def own_weights(tmp_path, monkeypatch):
    """A copy of the shipped dcgan-mnist in a weights folder of its own, a cache folder of its own."""
    weights = tmp_path / "weights"
    weights.mkdir()
    for suffix in (".pt", ".json"):
        shutil.copy2(pretrained.weights_dir() / f"dcgan-mnist{suffix}", weights)
    monkeypatch.setattr(pretrained, "weights_dir", lambda: weights)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "_VERIFIED", {}, raising=False)
    return weights


def test_a_flipped_byte_in_a_shipped_tensor_is_refused(own_weights, tmp_path, capsys):
    pretrained.load_pretrained("dcgan-mnist")  # intact: loads
    flip_tensor_byte(own_weights / "dcgan-mnist.pt")
    torch.load(own_weights / "dcgan-mnist.pt", weights_only=True)  # torch alone sees nothing wrong
    with pytest.raises(ValueError, match=r"dcgan-mnist\.pt.* damaged.*pip install --force-reinstall invgan"):
        pretrained.load_pretrained("dcgan-mnist")
    assert main(["sample", "-n", "2", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0] and str(own_weights / "dcgan-mnist.pt") in err[0]
    assert not (tmp_path / "s.png").exists()
    with pytest.raises(ValueError, match="damaged"):  # named by its path too
        pretrained.load_checkpoint_or_weights(str(own_weights / "dcgan-mnist.pt"))


def test_the_hash_check_is_cached_outside_the_package(own_weights, tmp_path, monkeypatch):
    before = sorted(os.listdir(own_weights))
    pretrained.load_weights("dcgan-mnist")
    assert sorted(os.listdir(own_weights)) == before  # nothing written beside the weights
    cache = json.loads((tmp_path / "cache" / "invgan" / "weights-sha256.json").read_text())
    assert str((own_weights / "dcgan-mnist.pt").resolve()) in json.dumps(cache)

    def no_hashing(path):
        raise AssertionError("hashed again")

    monkeypatch.setattr(pretrained, "sha256", no_hashing)
    pretrained.load_weights("dcgan-mnist")  # the in-process memo
    monkeypatch.setattr(pretrained, "_VERIFIED", {})
    pretrained.load_weights("dcgan-mnist")  # the cache file of an earlier process


def test_weights_command_shows_the_actual_state(own_weights, capsys):
    assert main(["weights"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "dcgan-mnist " in x)
    assert line.rstrip().endswith("ok")
    flip_tensor_byte(own_weights / "dcgan-mnist.pt")
    assert main(["weights"]) == 1  # listed, and the status tells scripts
    out, err = capsys.readouterr()
    line = next(x for x in out.splitlines() if "dcgan-mnist " in x)
    assert "DAMAGED" in line and "reinstall" in line and "damaged: dcgan-mnist" in err
    assert main(["weights", "dcgan-mnist"]) == 1
    assert json.loads(capsys.readouterr().out)["check"] == "DAMAGED"


def test_a_provenance_that_is_not_json_names_its_file(own_weights, capsys):
    (own_weights / "dcgan-mnist.json").write_text('{"sha256": "abc",')
    with pytest.raises(ValueError, match=r"dcgan-mnist\.json is not valid JSON.*reinstall"):
        pretrained.provenance("dcgan-mnist")
    assert main(["weights", "dcgan-mnist"]) == 2
    assert "dcgan-mnist.json is not valid JSON" in capsys.readouterr().err


def test_an_unusable_cache_only_costs_a_hash(own_weights, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "afile"))  # the cache folder cannot be made
    assert not pretrained.load_pretrained("dcgan-mnist").training
    monkeypatch.setattr(pretrained, "_VERIFIED", {})
    (tmp_path / "cache" / "invgan").mkdir(parents=True)
    (tmp_path / "cache" / "invgan" / "weights-sha256.json").write_text("{broken")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pretrained.load_weights("dcgan-mnist")  # a broken cache file is replaced
    assert json.loads((tmp_path / "cache" / "invgan" / "weights-sha256.json").read_text())
