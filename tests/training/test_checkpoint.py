"""export_network: one way out of a checkpoint for a trained network (EMA or raw), with clear errors."""

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from invgan.nets.generators import make_generator
from invgan.training.checkpoint import export_network, load_generator


def _checkpoint(tmp_path, ema: bool = True):
    torch.manual_seed(0)
    G = make_generator("mlp", 4, (1, 6, 6), output="sigmoid", hidden=(8,))
    D = torch.nn.Linear(36, 1)
    avg = AveragedModel(G, use_buffers=True) if ema else None
    if avg is not None:
        with torch.no_grad():
            for p in G.parameters():
                p.add_(1.0)  # the raw weights move away from the averaged copy
    state = {"networks": {"G": G.state_dict(), "D": D.state_dict()}, "ema": avg.state_dict() if avg is not None else None,
             "config": {"generator": G.config}}
    torch.save(state, tmp_path / "ckpt.pt")
    return G, avg, tmp_path / "ckpt.pt"


def test_ema_weights_without_prefix_or_raw_weights(tmp_path):
    G, avg, path = _checkpoint(tmp_path)
    weights, config = export_network(path)
    assert config == {"generator": G.config}
    assert weights.keys() == G.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in avg.module.state_dict().items())
    raw, _ = export_network(path, ema=False)
    assert all(torch.equal(raw[k], v) for k, v in G.state_dict().items())
    assert not torch.equal(raw["net.0.weight"], weights["net.0.weight"])
    d, _ = export_network(torch.load(path, weights_only=True), key="D")  # a loaded state; D has no EMA copy
    assert set(d) == {"weight", "bias"}
    with torch.no_grad():
        z = torch.randn(3, 4)
        assert torch.allclose(load_generator(path)(z), avg.module.eval()(z))
        assert torch.allclose(load_generator(path, use_ema=False)(z), G.eval()(z))


def test_without_ema_the_raw_weights_and_exported_networks_as_they_are(tmp_path):
    G, _, path = _checkpoint(tmp_path, ema=False)
    weights, _ = export_network(path, ema=True)
    assert all(torch.equal(weights[k], v) for k, v in G.state_dict().items())
    torch.save({"config": G.config, "state_dict": G.state_dict()}, tmp_path / "g.pt")
    again, config = export_network(tmp_path / "g.pt")
    assert config == G.config and again.keys() == G.state_dict().keys()


def test_clear_errors(tmp_path):
    _, _, path = _checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        export_network(tmp_path / "missing.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="not an invgan checkpoint: .* holds a Tensor"):
        export_network(tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="not an invgan checkpoint"):
        export_network({"weights": 1})
    with pytest.raises(ValueError, match="no network 'R': it holds \\('G', 'D'\\)"):
        export_network(path, key="R")
    state = torch.load(path, weights_only=True)
    del state["config"]
    with pytest.raises(ValueError, match="has no config"):
        export_network(state)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable invgan checkpoint"):
        export_network(tmp_path / "junk.pt")
