"""Benchmark tooling: workloads, timing, reports, the ``fastlr bench`` command, GPU experiments.

- :mod:`fastlr.bench.workloads`: seeded data and the timed calls, shared by
  ``fastlr bench``, the asv suite and the pytest-benchmark suite;
- :mod:`fastlr.bench.timing`: medians of calibrated samples, the read roof;
- :mod:`fastlr.bench.report`: the table, the JSON record and the picture;
- :mod:`fastlr.bench.command`: ``fastlr bench`` (also ``python -m fastlr.bench``);
- :mod:`fastlr.bench.gpu`: the GPU experiments (``python -m fastlr.bench.gpu``);
- :mod:`fastlr.bench.reference`: scikit-learn's objective, the yardstick of the
  demo, the benchmarks and the tests.

Nothing in the fitting code imports this package.
"""

from fastlr.bench.command import configure_parser, main

__all__ = ["configure_parser", "main"]
