r"""Handing memory that the process has freed back to the operating system.

On Linux, glibc's allocator keeps the pages of freed blocks unless they lie at the top of its heap.
A long CPU run whose allocations do not line up step after step (the channels-last convolutions of
the deep image prior) then grows in resident memory although it holds no more tensors: a 256×256
super-resolution fit reached 9.5 GB in 3,000 steps, and a 128² one grew by 0.7 MB a step
(docs/experiments/dip.md). :func:`release_free_memory` (glibc's ``malloc_trim(0)``) returns those
pages; elsewhere (other C libraries, other systems) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Callable


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...)
        return None
    return getattr(libc, "malloc_trim", None)


def release_free_memory() -> bool:
    """Return the freed pages of the C heap to the system (glibc's ``malloc_trim(0)``); ``False``
    where there is no such call, ``True`` where it ran."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
