"""fastlr's benchmark suites, sharing their data and calls through :mod:`fastlr.bench.workloads`.

- ``asv_*.py``: airspeed velocity (``asv run``), configured by ``asv.conf.json``
  at the top of the repository.
- ``test_bench_*.py`` with ``conftest.py``: pytest-benchmark
  (``python -m pytest benchmarks --benchmark-only``).
- ``readme_figures.py``: the README's figures, at full size.

``FASTLR_BENCH_QUICK=1`` shrinks every size in all of them.
"""
