"""Tests of invgan.threads: the thread choice of a command on a shared machine."""

import os
import subprocess
import sys
import time

import pytest

from invgan import threads


def test_free_cpus_are_the_usable_ones_less_the_busy_ones():
    assert [threads.choose_threads(2, b) for b in (0.0, 0.4, 0.6, 1.0, 1.9, 5.0)] == [2, 2, 1, 1, 1, 1]
    assert threads.choose_threads(16, 3.2) == 13 and threads.choose_threads(3, None) == 3


def test_busy_cpus_reads_proc_stat_over_a_window(monkeypatch):
    samples = iter(["cpu  1 1 1 1\ncpu0 100 0 0 900 0\ncpu1 10 0 0 990 0\n",
                    "cpu  1 1 1 1\ncpu0 190 0 0 910 0\ncpu1 11 0 0 1089 0\n"])

    class Stat:
        def __init__(self, *a, **k):
            self.text = next(samples)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self):
            return self.text

    monkeypatch.setattr(threads, "open", Stat, raising=False)
    busy = threads.busy_cpus([0, 1], window=0)
    assert busy == pytest.approx(0.9 + 0.01)  # cpu0: 90 of 100 jiffies busy, cpu1: 1 of 100


def test_configure_sets_a_passive_policy_and_the_free_cpus_unless_told(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch")  # as in a command before torch loads
    monkeypatch.setattr(threads, "usable_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads, "busy_cpus", lambda cpus: 1.0)
    env: dict[str, str] = {}
    assert threads.configure(["dip"], env) == {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"} and env["OMP_NUM_THREADS"] == "1"
    env = {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    assert threads.configure(["dip"], env) == {} and env == {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    monkeypatch.setattr(threads, "usable_cpus", lambda: list(range(10)))
    monkeypatch.setattr(threads, "busy_cpus", lambda cpus: 2.0)
    monkeypatch.setattr(threads, "physical_cores", lambda cpus: 10)
    for argv, want in ((["train"], "8"), (["train", "--nproc", "2"], "4"), (["train", "--nproc=3"], "2"), (["train", "--nproc", "16"], "1")):
        env = {}
        assert threads.configure(argv, env)["OMP_NUM_THREADS"] == want  # each process of --nproc K gets its share
    monkeypatch.setattr(threads, "physical_cores", lambda cpus: 5)  # 10 logical CPUs on 5 cores: one thread per core
    assert threads.configure(["train"], {})["OMP_NUM_THREADS"] == "5"
    for argv in (["dip", "--threads", "2"], ["dip", "--threads=2"], ["dip", "--set", "dip.threads=2"]):
        env = {}
        assert threads.configure(argv, env) == {}  # the user's count: OpenMP as it is


def test_an_idle_machine_keeps_openmps_defaults_and_every_cpu(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(threads, "usable_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads, "busy_cpus", lambda cpus: 0.1)
    env: dict[str, str] = {}
    assert threads.configure(["dip"], env) == {} and env == {}  # torch's own count and OpenMP's defaults


def test_configure_does_nothing_once_torch_is_loaded():
    __import__("torch")  # as in a process that already loaded it

    env: dict[str, str] = {}
    assert threads.configure(["dip"], env) == {} and env == {}


@pytest.mark.skipif(len(threads.usable_cpus()) < 2, reason="needs two CPUs: one kept busy, one free")
def test_a_command_beside_a_busy_process_gets_its_thread_choice_before_torch_starts():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    code = ("import os; from invgan.cli import main; main(['weights']); import torch; "
            "print(os.environ.get('OMP_WAIT_POLICY', '-'), os.environ.get('OMP_NUM_THREADS', '-'), torch.get_num_threads())")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # one CPU kept busy
    try:
        time.sleep(0.5)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    finally:
        spinner.kill()
        spinner.wait()
    assert res.returncode == 0, res.stderr
    policy, chosen, used = res.stdout.split()[-3:]
    assert policy == "PASSIVE" and int(used) == int(chosen) < len(threads.usable_cpus())
    env["OMP_NUM_THREADS"] = "1"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert res.stdout.split()[-2:] == ["1", "1"]  # the user's setting wins
