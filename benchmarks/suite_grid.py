"""The sizes and dtypes the two suites (asv, pytest-benchmark) run, chosen in the environment.

- default: m = ``SUITE_ROW_COUNTS`` (10⁴ and 10⁶: where fixed costs dominate,
  and where X is 400 MB and memory bandwidth does) in float64, sized so that
  ``asv run --python=same`` ends within 20 minutes on 2 cores;
- ``FASTLR_BENCH_FULL=1``: ``workloads.ROW_COUNTS`` (10³ … 10⁷) in float32 and
  float64, the grid of the README's figures and of ``fastlr bench``;
- ``FASTLR_BENCH_QUICK=1``: ``workloads.QUICK_ROW_COUNTS`` in both dtypes, tiny,
  so that CI can run every benchmark once (quick wins over full).

This lives beside the benchmarks, not in :mod:`fastlr.bench.workloads`: asv
runs the benchmarks of the working tree against the fastlr of each commit it
compares (``asv continuous main HEAD``), so the benchmarks may rely only on
what every such commit's fastlr has.
"""

import os

from fastlr.bench import workloads

SUITE_ROW_COUNTS = (10**4, 10**6)
SUITE_DTYPES = ("float64",)


def _flag(name) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def quick() -> bool:
    return _flag("FASTLR_BENCH_QUICK")


def full() -> bool:
    return _flag("FASTLR_BENCH_FULL") and not quick()


def row_counts() -> list:
    """The values of m to run."""
    if quick():
        return list(workloads.QUICK_ROW_COUNTS)
    return list(workloads.ROW_COUNTS if full() else SUITE_ROW_COUNTS)


def dtypes() -> list:
    """The dtypes to run."""
    return list(workloads.DTYPES if quick() or full() else SUITE_DTYPES)
