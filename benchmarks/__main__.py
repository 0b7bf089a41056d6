"""``python -m benchmarks [NAME ...]``: the same as ``python benchmarks/run.py``."""

import sys

from benchmarks.suite import main

sys.exit(main())
