"""The ``numba`` backend: the fused row passes of :mod:`fastlr.kernels.numba_common`,
compiled with ``@njit`` and run on one thread over all rows at once."""

from fastlr.kernels import numba_common as rows

backend = rows.NumbaBackend("numba", "@njit, one thread, one fused pass over X")
