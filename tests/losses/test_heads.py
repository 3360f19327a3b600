"""Losses on the discriminator's extra heads: the ACGAN class head and the InfoGAN code head."""

from __future__ import annotations

import math

import pytest
import torch

from invgan.losses import ClassHeadLoss, GANStep, InfoLoss, LatentCodes


# ---------------------------------------------------------------- DiffAugment


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


def test_class_head_loss_of_uniform_logits_is_log_k_per_side_and_checks_its_input():
    from invgan.losses.heads import ClassHeadLoss as Loss

    out = {"logit": torch.zeros(3), "class": torch.zeros(3, 4)}
    s = GANStep(x_hat=torch.zeros(3), label=torch.tensor([0, 1, 3]), d_real=out, d_fake=out)
    assert Loss()(s).item() == pytest.approx(2 * math.log(4))
    assert Loss(sides=("fake",))(s).item() == pytest.approx(math.log(4))
    with pytest.raises(ValueError, match="sides"):
        Loss(sides=("both",))
    with pytest.raises(ValueError, match="needs labels"):
        Loss()(GANStep(x_hat=torch.zeros(3), d_real=out, d_fake=out))


def test_info_loss_refuses_a_head_of_the_wrong_size_and_missing_latents():
    codes = LatentCodes(noise=2, categorical=(3,), continuous=1)
    z = torch.zeros(2, codes.dim)
    wrong = GANStep(x_hat=torch.zeros(2), z=z, d_fake={"logit": torch.zeros(2), "code": torch.zeros(2, codes.head_size + 1)})
    with pytest.raises(ValueError, match="outputs, the codes need"):
        InfoLoss(codes)(wrong)
    with pytest.raises(ValueError, match="latents"):
        InfoLoss(codes)(GANStep(x_hat=torch.zeros(2)))
