"""The ``invgan`` command line. Each sub-command lives in its own module exposing
``register(subparsers)``, which adds its parser and sets ``func`` to a handler ``func(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

#: sub-command modules, in the order ``invgan --help`` lists them
COMMANDS = ("demo", "train", "eval", "reconstruct", "sample", "invert", "dip", "interpolate", "weights")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invgan", description="Imaging inverse problems with adversarial and generative priors.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; every error it raises ends as one line ``invgan COMMAND: error: ...`` on
    stderr and a non-zero exit status (2 for bad input, 1 for a run that failed, such as a
    diverging one; 130 when interrupted, also while the modules are still being imported), never
    as a traceback. ``INVGAN_TRACEBACK=1`` re-raises to show one. In a worker of ``invgan train
    --nproc`` the line goes to the launching process, which prints it once for the run."""
    try:
        from ..threads import configure as configure_threads

        configure_threads(sys.argv[1:] if argv is None else argv)  # before torch loads: threads that hold on a busy machine
        args = build_parser().parse_args(argv)  # imports every command's module (torch: seconds)
    except KeyboardInterrupt:
        print("invgan: interrupted", file=sys.stderr)
        return 130
    if getattr(signal.getsignal(signal.SIGINT), "__name__", "") == "_interrupted_while_loading":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # loaded: Ctrl-C interrupts the command as usual
    prefix = f"invgan {args.command}: error:"
    if os.environ.get("INVGAN_RANK_ERRORS"):
        _interrupt_once()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _report(f"invgan {args.command}: interrupted", 130)
    except Exception as e:
        if os.environ.get("INVGAN_TRACEBACK"):
            raise
        return _report(f"{prefix} {_one_line(e)}", 2 if isinstance(e, (ValueError, OSError, KeyError, TypeError)) else 1)


def _interrupt_once() -> None:
    """In a worker of ``--nproc``: the first SIGINT interrupts, later ones are ignored (Ctrl-C in
    a terminal reaches the worker, and then the launcher passes it on again while the worker is
    already stopping)."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)


def _report(line: str, status: int) -> int:
    """Print ``line`` on stderr (or hand it to the launching process, in a worker of ``--nproc``)
    and return ``status``."""
    if os.environ.get("INVGAN_RANK_ERRORS"):
        from ..training.distributed import report_rank_error

        if report_rank_error(line, status):
            return status
    print(line, file=sys.stderr)
    return status


def _one_line(e: BaseException) -> str:
    """The message of ``e`` on one line; the exception's type where its message alone would not say
    what happened (``KeyError('config')`` prints as ``'config'``)."""
    from ..data.crops import WorkerError
    from ..training.trainer import NonFiniteLossError

    text = " ".join(str(e).split()) if str(e).strip() else ""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        text = f"{e.strerror}: {e.filename}"  # PermissionError, FileExistsError, ...
    if isinstance(e, (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, NonFiniteLossError, WorkerError)) and text:
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
