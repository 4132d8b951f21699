"""The benchmark scripts (benchmarks/*.py) import one another by name: so do their tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
