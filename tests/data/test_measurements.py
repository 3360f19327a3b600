"""Fixed, seeded measurements of a held-out set."""

import torch

from invgan.data import fixed_measurements
from invgan.physics import make_physics


def test_fixed_measurements_are_seeded_and_leave_the_online_stream_alone():
    mm = make_physics("inpainting", (1, 16, 16), keep=0.5, fresh_per_sample=True)
    x = torch.rand(3, 1, 16, 16)
    before = mm.rng_state()
    a, b = fixed_measurements(mm, x, seed=1), fixed_measurements(mm, x, seed=1)
    assert torch.equal(a.y, b.y) and torch.equal(a.operator_params["mask"], b.operator_params["mask"])
    after = mm.rng_state()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # online measurements: fresh noise and masks at every call
    assert not torch.equal(mm.measure(x), mm.measure(x))
