"""``python -m invgan`` is the ``invgan`` command."""

import sys

from .cli import main

sys.exit(main())
