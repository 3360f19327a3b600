"""``python -m invgan`` is the ``invgan`` command."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # pragma: no cover - Ctrl-C in the first milliseconds
    print("invgan: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
