r"""Threads of a command, chosen from the machine before torch starts.

On a shared machine the default of using every core collapses: OpenMP's worker threads spin at
their barriers, and one of them preempted by a busy neighbour holds all the others (60 DIP steps
took 15x longer with one busy process beside them on 2 cores). So, unless the user said otherwise,
a command that finds some of its CPUs (``os.sched_getaffinity``) kept busy by other processes,
measured over a short window of ``/proc/stat`` (:func:`busy_cpus`), uses as many threads as CPUs
are free (at least one, at most one per physical core) and sets ``OMP_WAIT_POLICY=PASSIVE``
(threads sleep at barriers instead of spinning). On an idle machine nothing changes: torch's own
thread count and OpenMP's defaults (the passive policy alone cost about 10 % there, docs/benchmarks.md).

``OMP_NUM_THREADS``, ``OMP_WAIT_POLICY`` and a command's own ``--threads`` win. It must run
before ``torch`` is imported (the OpenMP runtime reads its environment once, when torch loads);
in a process that already imported torch it changes nothing.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity set; every CPU where that is unknown).

    :Example:

    >>> from invgan.threads import usable_cpus
    >>> len(usable_cpus()) >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times(cpus: Sequence[int]) -> dict[int, tuple[int, int]] | None:
    """``{cpu: (busy, total)}`` jiffies from ``/proc/stat``; ``None`` where it cannot be read."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    wanted = {f"cpu{c}" for c in cpus}
    for line in lines:
        name, *fields = line.split()
        if name in wanted and len(fields) >= 4:
            values = [int(v) for v in fields[:8]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out or None


def busy_cpus(cpus: Sequence[int] | None = None, window: float = 0.05) -> float | None:
    r"""How many of ``cpus`` (default: :func:`usable_cpus`) other work keeps busy: the busy share of
    each CPU over ``window`` seconds, summed, :math:`\sum_c \Delta\text{busy}_c / \Delta\text{total}_c`.
    ``None`` where ``/proc/stat`` is not available (not Linux)."""
    cpus = usable_cpus() if cpus is None else list(cpus)
    before = _cpu_times(cpus)
    if before is None:
        return None
    time.sleep(window)
    after = _cpu_times(cpus) or {}
    busy = 0.0
    for c, (b0, t0) in before.items():
        b1, t1 = after.get(c, (b0, t0))
        if t1 > t0:
            busy += (b1 - b0) / (t1 - t0)
    return busy


def choose_threads(cpus: int, busy: float | None) -> int:
    """Threads for a run on ``cpus`` CPUs of which ``busy`` are kept busy by other work: the free
    ones, at least one (all of them when ``busy`` is unknown).

    :Example:

    >>> from invgan.threads import choose_threads
    >>> choose_threads(2, 0.02), choose_threads(2, 0.97), choose_threads(8, 2.6), choose_threads(4, None)
    (2, 1, 5, 4)
    """
    if busy is None:
        return cpus
    return max(1, cpus - int(busy + 0.5))


def configure(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set ``OMP_WAIT_POLICY`` and ``OMP_NUM_THREADS`` in ``environ`` (default: ``os.environ``)
    for a command about to import torch, unless the user set them or passed ``--threads`` in
    ``argv``; returns what it set. Does nothing once torch is imported."""
    env = os.environ if environ is None else environ
    if "torch" in sys.modules:
        return {}
    argv = sys.argv[1:] if argv is None else argv
    chosen: dict[str, str] = {}
    asked = any(a == "--threads" or a.startswith("--threads=") or "dip.threads=" in a for a in argv)
    if "OMP_NUM_THREADS" not in env and not asked:
        cpus = usable_cpus()
        free = choose_threads(len(cpus), busy_cpus(cpus))
        if free < len(cpus):  # a busy machine (idle: torch's and torchrun's own defaults, unchanged)
            if "OMP_WAIT_POLICY" not in env:  # sleep at barriers, never spin
                chosen["OMP_WAIT_POLICY"] = "PASSIVE"
            threads = min(free, physical_cores(cpus))  # as torch, no more than one thread per core
            chosen["OMP_NUM_THREADS"] = str(max(1, threads // _processes(argv)))  # each of --nproc K processes gets its share
    env.update(chosen)
    return chosen


def physical_cores(cpus: Sequence[int]) -> int:
    """The physical cores behind the logical ``cpus`` (hyperthreads counted once), from
    ``/sys/devices/system/cpu``; ``len(cpus)`` where the topology cannot be read."""
    cores = set()
    for c in cpus:
        topology = f"/sys/devices/system/cpu/cpu{c}/topology"
        try:
            with open(f"{topology}/physical_package_id") as f, open(f"{topology}/core_id") as g:
                cores.add((f.read().strip(), g.read().strip()))
        except OSError:
            return len(cpus)
    return len(cores) or len(cpus)


def _processes(argv: Sequence[str]) -> int:
    """The K of ``--nproc K`` (or ``--nproc=K``) in ``argv``; 1 without it or when it does not parse."""
    for i, a in enumerate(argv):
        value = a.split("=", 1)[1] if a.startswith("--nproc=") else (argv[i + 1] if a == "--nproc" and i + 1 < len(argv) else None)
        if value is not None:
            try:
                return max(1, int(value))
            except ValueError:
                return 1
    return 1
