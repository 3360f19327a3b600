"""The step record shared by the loss terms, and the readers of the discriminator's outputs."""

import pytest
import torch

from invgan.losses.step import GANStep, head, logit


def test_logit_reads_a_tensor_or_the_logit_entry_of_a_dict():
    t = torch.tensor([0.5, -1.0])
    assert logit(t) is t
    q = torch.zeros(2, 3)
    assert logit({"logit": t, "class": q}) is t


def test_head_reads_a_named_output_and_names_what_d_has_when_missing():
    q = torch.zeros(2, 3)
    assert head({"logit": torch.zeros(2), "class": q}, "class") is q
    with pytest.raises(ValueError, match=r"no 'code' head \(its outputs: \['class', 'logit'\]\)"):
        head({"logit": torch.zeros(2), "class": q}, "code")
    with pytest.raises(ValueError, match=r"no 'class' head \(its outputs: \['logit'\]\)"):
        head(torch.zeros(2), "class")
    with pytest.raises(ValueError, match="D is not run in this phase"):
        head(None, "class")


def test_step_defaults_are_empty_and_not_shared_between_steps():
    a, b = GANStep(x_hat=torch.zeros(1)), GANStep(x_hat=torch.zeros(1))
    assert a.x is None and a.real == () and a.fake == () and a.step == 0 and a.d_real is None
    a.extras["y_hat"] = 1
    a.batch["x"] = 2
    assert b.extras == {} and b.batch == {}
