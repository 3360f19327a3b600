"""Tests of invgan.memory."""

import platform
import sys

from invgan.memory import release_free_memory


def test_release_free_memory_runs_where_glibc_has_it_and_is_a_no_op_elsewhere():
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert release_free_memory() is glibc
    assert release_free_memory() is glibc  # the same answer every call (looked up once)
