r"""A small CNN digit classifier trained once, from a fixed seed, on invgan's built-in digits.

Its penultimate features stand in for Inception features when judging unconditional
generators offline (no downloaded weights). The trained weights are cached in
``$XDG_CACHE_HOME/invgan`` (default ``~/.cache/invgan``), keyed by data set, seed and steps.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..data.small_sets import load_small_set


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/invgan``, or ``~/.cache/invgan``."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "invgan"


@dataclass
class ClassifierConfig:
    dataset: str = "mnist"
    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    feature_dim: int = 128


class DigitClassifier(nn.Module):
    r"""Conv(32)–Conv(32)–pool–Conv(64)–pool–avgpool(2×2)–FC(``feature_dim``)–FC(10).

    :meth:`features` returns the ``feature_dim`` activations used by the Fréchet distance and
    precision/recall; images of another size are resized to ``img_size`` first."""

    def __init__(self, img_size: int, feature_dim: int = 128, n_classes: int = 10):
        super().__init__()
        self.img_size = img_size
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(256, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def _prepare(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")
        if x.shape[1] != 1:
            x = x.mean(1, keepdim=True)
        if x.shape[-2:] != (self.img_size, self.img_size):
            x = F.interpolate(x, size=(self.img_size, self.img_size), mode="bilinear", antialias=True, align_corners=False)
        return x

    def features(self, x: Tensor) -> Tensor:
        return self.body(self._prepare(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def embed(self, x: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
        """Features and class probabilities of ``x`` (eval mode, batched)."""
        self.eval()
        feats = torch.cat([self.features(b) for b in x.split(batch_size)])
        return feats, self.head(feats).softmax(1)


def train_classifier(config: ClassifierConfig, progress: bool = False) -> tuple[DigitClassifier, float]:
    """Train from ``config.seed`` on the train split; returns the model and held-out accuracy."""
    train, held = load_small_set(config.dataset, "train"), load_small_set(config.dataset, "heldout")
    if (train.labels < 0).all():
        raise ValueError(f"data set {config.dataset!r} has no labels to train a classifier on")
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = DigitClassifier(train.x.shape[-1], config.feature_dim)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    model.train()
    for _ in tqdm(range(config.steps), desc="digit classifier", disable=not progress, leave=False):
        idx = torch.randint(len(train), (config.batch_size,), generator=gen)
        x = train.x[idx]
        shift = torch.randint(-1, 2, (2,), generator=gen).tolist()  # light augmentation: 1-pixel shifts
        x = torch.roll(x, shifts=shift, dims=(-2, -1))
        loss = F.cross_entropy(model(x), train.labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model.embed(held.x)[1].argmax(1) == held.labels).float().mean().item()
    return model, acc


def load_classifier(config: ClassifierConfig | None = None, progress: bool = False, **overrides) -> DigitClassifier:
    """The cached classifier for ``config`` (trained and cached on first use)."""
    cfg = ClassifierConfig(**{**asdict(config or ClassifierConfig()), **overrides})
    path = cache_dir() / f"digit_classifier_{cfg.dataset}_s{cfg.seed}_n{cfg.steps}_f{cfg.feature_dim}.pt"
    if path.is_file():
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier(blob["img_size"], cfg.feature_dim)
        model.load_state_dict(blob["state"])
        model.heldout_accuracy = blob["accuracy"]
        return model.eval()
    with torch.random.fork_rng():
        model, acc = train_classifier(cfg, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state": model.state_dict(), "img_size": model.img_size, "accuracy": acc, "config": asdict(cfg)}, tmp)
    tmp.replace(path)
    model.heldout_accuracy = acc
    return model.eval()
