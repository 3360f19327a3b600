"""``python -m invgan`` is the ``invgan`` command."""

import os
import signal
import sys


def _interrupted_while_loading(signum, frame):  # pragma: no cover - Ctrl-C while torch loads
    """Ctrl-C before the command runs exits at once: a library's import may swallow KeyboardInterrupt."""
    sys.stderr.write("invgan: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_loading)
from .cli import main  # noqa: E402  (torch loads here: seconds)

sys.exit(main())
