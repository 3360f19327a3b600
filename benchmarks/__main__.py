"""``python -m benchmarks``: every benchmark, one markdown table (see benchmarks/suite.py)."""

import sys

from benchmarks.suite import main

sys.exit(main())
