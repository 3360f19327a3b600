"""The "how to add a GAN" recipe of docs/training.md runs as written, in under 40 lines."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from invgan.training import Trainer

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def _how_to_add_a_gan() -> str:
    text = DOC.read_text()
    section = text[text.index("### How to add a GAN"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class LabelG(nn.Module):
    latent_dim = 4

    def __init__(self):
        super().__init__()
        self.lin, self.emb = nn.Linear(4, 16), nn.Embedding(3, 16)

    def forward(self, z, c=None):
        return torch.sigmoid(self.lin(z) + (self.emb(c) if c is not None else 0)).view(-1, 1, 4, 4)


class HeadD(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.logit, self.cls = nn.Flatten(), nn.Linear(16, 1), nn.Linear(16, 3)

    def forward(self, x):
        h = self.trunk(x)
        return {"logit": self.logit(h).squeeze(1), "class": self.cls(h)}


def test_the_documented_acgan_is_a_configuration_under_40_lines_that_trains():
    code = _how_to_add_a_gan()
    assert len(code.strip().splitlines()) < 40
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)
    torch.manual_seed(0)
    G, D = LabelG(), HeadD()
    recipe = scope["acgan"](G, D, 4)
    opts = {k: torch.optim.Adam(v.parameters(), 1e-2) for k, v in recipe.networks.items()}
    before = {k: [p.detach().clone() for p in v.parameters()] for k, v in recipe.networks.items()}
    g = torch.Generator().manual_seed(0)
    stream = [{"x": torch.rand(6, 1, 4, 4, generator=g), "label": torch.randint(3, (6,), generator=g)} for _ in range(3)]
    tr = Trainer(recipe, opts, steps=3, device="cpu", progress=False)
    tr.fit(stream)
    assert {"D/class", "G/class", "G/adv"} <= set(tr.history[-1])
    for k, net in recipe.networks.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
