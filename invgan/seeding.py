"""Seeds of the per-process copies of a random stream in data-parallel runs.

Imports nothing of invgan, so every layer (physics, data, training) can use it.
"""

from __future__ import annotations

import hashlib


def rank_seed(seed: int, rank: int) -> int:
    """The seed of process ``rank``'s copy of a stream seeded ``seed``: ``seed`` itself on rank 0
    (a one-process run is unchanged), else a 32-bit hash of ``(seed, rank)``.

    32 bits because torch's CPU generator (mt19937) keeps only the low 32 bits of a seed: an
    offset such as ``seed + rank * 2**32`` would give every rank the same stream.

    :Example:

    >>> from invgan.seeding import rank_seed
    >>> rank_seed(7, 0)
    7
    >>> rank_seed(7, 1) == rank_seed(7, 1) != rank_seed(7, 2)
    True
    >>> 0 <= rank_seed(7, 1) < 2**32
    True
    """
    if rank == 0:
        return int(seed)
    digest = hashlib.sha256(f"invgan-rank-seed:{int(seed)}:{int(rank)}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
