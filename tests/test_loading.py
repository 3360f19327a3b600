"""Loading trained networks without the training code (:mod:`invgan.loading`): the shipped models
load in a fresh interpreter that never imports :mod:`invgan.training`, and the names that moved
out of :mod:`invgan.training.checkpoint` are still importable from there, as the same objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import invgan

#: the checkout's root, for the fresh interpreters (their ``invgan`` is this one)
ROOT = Path(invgan.__file__).resolve().parents[1]


def _fresh(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


def test_loading_shipped_weights_imports_no_training_module():
    code = """
import json, sys
from invgan.pretrained import build_network, list_pretrained, load_checkpoint_or_weights, load_pretrained
G = load_pretrained("dcgan-mnist")
state, where, path = load_checkpoint_or_weights("ambientgan-mnist")
build_network(state, where)
if "sr4" in list_pretrained(shipped_only=True):
    load_pretrained("sr4")
print(json.dumps({"training": sorted(m for m in sys.modules if m.startswith("invgan.training")), "eval": not G.training}))
"""
    done = _fresh(code)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"training": [], "eval": True}


def test_checkpoint_names_still_importable_from_training():
    from invgan import loading
    from invgan.training import checkpoint

    for name in ("load", "load_generator", "export_network", "ema_states"):
        assert getattr(checkpoint, name) is getattr(loading, name)


def test_export_network_picks_the_ema_copy_and_strips_its_prefix():
    from invgan.loading import ema_states, export_network

    ckpt = {"networks": {"G": {"w": 0}, "D": {"v": 1}}, "ema": {"G": {"n_averaged": 3, "module.w": 2}}, "config": {"kind": "x"}}
    assert export_network(ckpt) == ({"w": 2}, {"kind": "x"})
    assert export_network(ckpt, "D") == ({"v": 1}, {"kind": "x"})  # no EMA copy of D: its raw weights
    assert export_network(ckpt, ema=False)[0] == {"w": 0}
    assert ema_states({"ema": {"n_averaged": 3, "module.w": 2}}) == {"G": {"n_averaged": 3, "module.w": 2}}  # the old single-copy format


def test_load_generator_repairs_spectral_vectors_that_an_old_ema_copy_shrank():
    import torch

    from invgan.loading import load_generator
    from invgan.nets.generators import make_generator
    from invgan.nets.spectral import spectral_vectors_are_unit

    torch.manual_seed(0)
    G = make_generator("sagan", 8, (1, 28, 28), output="sigmoid", width=4)
    weights = {k: v.clone() for k, v in G.state_dict().items()}
    shrunk = [k for k in weights if k.endswith("._u") or k.endswith("._v")]
    assert shrunk
    for k in shrunk:
        weights[k] *= 0.2  # what averaging turning vectors left in EMA copies saved before the fix
    ckpt = {"networks": {"G": weights}, "config": {"generator": G.config}}
    loaded = load_generator(ckpt)
    assert spectral_vectors_are_unit(loaded) and not loaded.training
    fresh = load_generator({"networks": {"G": G.state_dict()}, "config": {"generator": G.config}})
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), G.state_dict().values()))  # unit: untouched
