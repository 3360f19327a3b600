"""Tests of invgan.seeding: the seeds of each process's copy of a random stream."""

import torch

from invgan.seeding import rank_seed


def test_rank_zero_keeps_the_seed_and_other_ranks_get_distinct_32_bit_seeds():
    assert rank_seed(7, 0) == 7
    seeds = [rank_seed(7, r) for r in range(1, 9)]
    assert len(set(seeds)) == 8 and all(0 <= s < 2**32 for s in seeds) and 7 not in seeds
    assert rank_seed(7, 3) == rank_seed(7, 3) and rank_seed(8, 3) != rank_seed(7, 3)


def test_distinct_seeds_give_distinct_torch_streams():
    # an offset of 2**32 gives the same stream on torch's CPU generator (the reason for the hash)
    assert torch.equal(torch.randn(3, generator=torch.Generator().manual_seed(5)),
                       torch.randn(3, generator=torch.Generator().manual_seed(5 + 2**32)))
    a = torch.randn(3, generator=torch.Generator().manual_seed(rank_seed(5, 1)))
    b = torch.randn(3, generator=torch.Generator().manual_seed(rank_seed(5, 2)))
    assert not torch.equal(a, b)
