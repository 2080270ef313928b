"""The CSR companion of ``numba-parallel``: the row passes of :mod:`fastlr.kernels.sparse_numba`
on one range of rows per thread, the ranges balanced by stored entries, not by row count."""

from fastlr.kernels.sparse_numba import parallel_backend as backend  # noqa: F401
