"""The ordermail benchmark: day and burst runs on the embedded runtime, invariants, throughput against
stock moto, per-e-mail resource counts and the cost model fed with them.

    python -m ordermail.bench [--day N] [--burst N] [--compare N] [--smoke] [--out DIR]

Writes `DIR/BENCHMARKS.md` and `DIR/benchmarks.json` and prints the summary table; exits non-zero
when an invariant fails. A tool, not a test: CI runs `--smoke` only (tests/bench/).
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
