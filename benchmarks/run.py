"""``python benchmarks/run.py [NAME ...] [--quick]``: run the benchmarks and print the results table."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable, so that ``benchmarks`` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.suite import main

if __name__ == "__main__":
    sys.exit(main())
