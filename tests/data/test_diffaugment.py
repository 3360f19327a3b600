"""The generation GANs as configurations of the core: DiffAugment, CGAN/ACGAN/InfoGAN parts and every preset."""

from __future__ import annotations

import math

import pytest
import torch

from invgan.config import PRESETS, resolve
from invgan.data import SampleStream
from invgan.data.diffaugment import cutout, diff_augment, parse_policy, translation
from invgan.losses import ClassHeadLoss, GANStep, InfoLoss, LatentCodes
from invgan.nets.generators import make_generator
from invgan.metrics import best_matching_accuracy
from invgan.training import AugmentedView, ImageView, build_run, code_traversal, label_rows


# ---------------------------------------------------------------- DiffAugment
def test_translation_shifts_by_whole_pixels_with_zeros_shifted_in():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    y = translation(x, torch.Generator().manual_seed(0), ratio=0.25)
    for img in y[:, 0]:
        # some shift (dy, dx) in {-1, 0, 1}^2 reproduces the image exactly
        found = False
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ref = torch.zeros(4, 4)
                src = x[0, 0]
                ref[max(dy, 0):4 + min(dy, 0), max(dx, 0):4 + min(dx, 0)] = src[max(-dy, 0):4 + min(-dy, 0), max(-dx, 0):4 + min(-dx, 0)]
                found |= torch.equal(img, ref)
        assert found
    assert len({tuple(i.flatten().tolist()) for i in y[:, 0]}) > 4  # shifts differ across the batch


def test_cutout_zeroes_a_square_of_half_the_size():
    x = torch.ones(32, 1, 8, 8)
    y = cutout(x, torch.Generator().manual_seed(0))
    zeros = (y == 0).sum(dim=(1, 2, 3))
    assert (zeros <= 16).all() and (zeros >= 4).all() and (zeros == 16).any()  # 4x4, clipped at the border


def test_diff_augment_is_differentiable_and_checks_its_policy():
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="DiffAugment policy"):
        parse_policy("colour")


def test_augmented_view_augments_both_sides_lets_labels_through_and_resumes():
    x, x_hat, c = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    s = GANStep(x_hat=x_hat, x=x, label=c)
    view = AugmentedView(ImageView(conditional=True), "translation,cutout", seed=3)
    state = view.rng_state()
    (r, rc), (f, fc) = view(s)
    assert rc is c and fc is c and not torch.equal(r, x) and not torch.equal(f, x_hat)
    view.set_rng_state(state)
    (r2, _), (f2, _) = view(s)
    assert torch.equal(r, r2) and torch.equal(f, f2)


# ---------------------------------------------------------------- heads, codes
def test_class_head_loss_by_hand():
    logits_real = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    logits_fake = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    s = GANStep(x_hat=torch.zeros(2), label=torch.tensor([0, 1]), d_real={"logit": torch.zeros(2), "class": logits_real},
                d_fake={"logit": torch.zeros(2), "class": logits_fake})
    ce_real = -(math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(math.e / (math.e + 1))) / 2
    ce_fake = math.log(2)
    assert ClassHeadLoss("class")(s).item() == pytest.approx(ce_real + ce_fake, rel=1e-6)
    assert ClassHeadLoss("class", ("fake",))(s).item() == pytest.approx(ce_fake, rel=1e-6)


def test_latent_codes_and_the_information_loss_by_hand():
    codes = LatentCodes(noise=3, categorical=(4,), continuous=2)
    z = codes.sample(1000, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 9) and codes.head_size == 6
    onehot = z[:, 3:7]
    assert torch.equal(onehot.sum(1), torch.ones(1000)) and set(onehot.argmax(1).tolist()) == {0, 1, 2, 3}
    assert z[:, 7:].abs().max() <= 1 and z[:, 7:].std() > 0.5
    cats, cont = codes.split(z[:2])
    q = torch.zeros(2, 6)
    q[:, 4:] = cont + torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # errors of the continuous means: 1 and 2
    s = GANStep(x_hat=torch.zeros(2), z=z[:2], d_fake={"logit": torch.zeros(2), "code": q})
    # uniform logits over 4 values: CE = log 4; continuous: w * 1/2 * mean(1, 4)
    assert InfoLoss(codes, continuous_weight=0.5)(s).item() == pytest.approx(math.log(4) + 0.5 * 0.5 * 2.5, rel=1e-6)
    fixed = codes.with_codes(z[:3], categories=torch.tensor([2, 2, 2]))
    assert codes.split(fixed)[0][0].tolist() == [2, 2, 2] and torch.equal(fixed[:, :3], z[:3, :3])


def test_best_matching_accuracy_by_hand():
    codes = torch.tensor([0, 0, 1, 1, 2, 2])
    labels = torch.tensor([5, 5, 3, 4, 3, 3])
    # best matching: 0->5 (2), 2->3 (2), 1->4 (1): 5 of 6
    assert best_matching_accuracy(codes, labels, 3, 10) == pytest.approx(5 / 6)


def test_sample_stream_gives_labelled_batches_that_depend_only_on_the_step():
    x, labels = torch.rand(10, 1, 4, 4), torch.arange(10)
    stream = SampleStream(x, 6, labels=labels, seed=1)
    b = stream[3]
    assert b["x"].shape == (6, 1, 4, 4) and torch.equal(b["x"], x[b["label"]])
    assert torch.equal(stream[3]["label"], b["label"]) and not torch.equal(stream[4]["label"], b["label"])
    with pytest.raises(ValueError, match="label"):
        SampleStream(x, 6, labels=-torch.ones(10, dtype=torch.long))


# ---------------------------------------------------------------- every generation preset, at tiny size
UNCONDITIONAL = sorted(n for n, p in PRESETS.items() if p.kind == "unconditional")
TINY = ["train.steps=2", "train.eval_every=0", "train.checkpoint_every=0", "train.progress=false", "classifier_metrics=false",
        "data.batch_size=8", "model.width=8", "model.d_width=8", "data.dataset=mnist"]


def _snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def _changed(net, before):
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


@pytest.mark.parametrize("name", UNCONDITIONAL)
def test_every_generation_preset_takes_finite_steps_on_the_right_networks(name):
    torch.manual_seed(0)
    cfg = resolve("unconditional", None, name, TINY, None)
    run = build_run(cfg, out_dir=None, progress=False)
    tr = run.trainer
    G, D = tr.networks["G"], tr.networks["D"]
    n_critic = cfg.optim.n_critic
    for step in range(2):
        g0, d0 = _snapshot(G), _snapshot(D)
        logs = tr.train_step(next(iter(run.stream.loader(step, step + 1))))
        assert logs and all(torch.isfinite(v).all() for v in logs.values()), logs
        assert _changed(D, d0)
        assert _changed(G, g0) == (step % n_critic == 0), f"step {step}: G updated at the wrong steps"
    if cfg.gan.clip is not None:
        assert max(p.abs().max().item() for p in D.parameters()) <= cfg.gan.clip + 1e-9


def test_the_label_and_the_code_change_the_output():
    G = make_generator("dcgan", 8, (1, 28, 28), output="sigmoid", width=8, n_classes=10)
    rows = label_rows(G.eval(), columns=3)
    assert rows.shape == (30, 1, 28, 28)
    assert not torch.allclose(rows[:3], rows[3:6])  # label 0 vs label 1, same latents
    with pytest.raises(ValueError, match="needs a label"):
        G(torch.randn(2, 8))
    codes = LatentCodes(noise=8, categorical=(10,), continuous=2)
    G = make_generator("dcgan", codes.dim, (1, 28, 28), output="sigmoid", width=8).eval()
    cat = code_traversal(G, codes, "categorical", columns=3)
    cont = code_traversal(G, codes, "continuous:1", columns=4)
    assert cat.shape == (30, 1, 28, 28) and cont.shape == (40, 1, 28, 28)
    assert not torch.allclose(cat[:3], cat[3:6]) and not torch.allclose(cont[0], cont[3])
    with pytest.raises(ValueError, match="continuous:j"):
        code_traversal(G, codes, "continuous:2")


def test_conditioning_needs_labels_and_a_headed_discriminator():
    with pytest.raises(ValueError, match="needs labelled images"):
        build_run(resolve("unconditional", None, "cgan-mnist", TINY + ["data.dataset=lfw"], None), progress=False)
    with pytest.raises(ValueError, match="head on D"):
        build_run(resolve("unconditional", None, "acgan-mnist", TINY + ["model.discriminator=mlp"], None), progress=False)
    with pytest.raises(ValueError, match="conditioning"):
        resolve("unconditional", None, None, ["gan.conditioning=pix2pix"], None)


def test_conditional_and_infogan_runs_sample_from_the_cli(tmp_path):
    from invgan.cli import main
    from invgan.training.checkpoint import load_generator

    for name in ("cgan-mnist", "infogan-mnist"):
        cfg = resolve("unconditional", None, name, TINY + ["train.steps=1", "train.checkpoint_every=1"], None)
        run = build_run(cfg, out_dir=str(tmp_path / name), progress=False)
        run.fit()
        G = load_generator(tmp_path / name / "last.pt")
        if name == "infogan-mnist":
            z = G.sample_latent(50, torch.Generator().manual_seed(0))
            cats, cont = G.codes.split(z)
            assert z.shape[1] == G.latent_dim == G.codes.noise + 10 + 2 and cont.abs().max() <= 1  # the codes' prior, not N(0, I)
            assert main(["sample", str(tmp_path / name / "last.pt"), "--traverse", "continuous:1", "-n", "30", "--out", str(tmp_path / "t.png")]) == 0
        else:
            assert G.n_classes == 10
        assert main(["sample", str(tmp_path / name / "last.pt"), "-n", "20", "--out", str(tmp_path / f"{name}.png")]) == 0
