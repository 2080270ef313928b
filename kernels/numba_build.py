"""How the Numba kernels are compiled: knobs frozen at compile time, and the cache.

Numba freezes module globals into the machine code it compiles, and caches
that code on disk (``__pycache__`` beside each kernel module, or under
``NUMBA_CACHE_DIR``). Its cache is keyed on the source file of each compiled
function only: after changing a value here, ``numba_math.py`` whose
functions ``numba_common.py``'s passes inline, or ``numba_vector_tiles.py``
whose tiles ``numba_small_gemm.py`` emits, the cached passes would still
hold the old code (a prefetch distance changed here and not cleared kept
timing the old one). So after an edit, clear the cache::

    python -m fastlr.kernels.numba_build --clear-cache

(or call :func:`clear_cache`); the next call compiles afresh. Knobs that take
effect at call time live in :mod:`fastlr.config` instead.
"""

import argparse
import os
import pathlib

#: LLVM fast-math flags for the loops over X. ``reassoc`` lets LLVM split a dot
#: product into several SIMD accumulators and ``contract`` lets it fuse
#: multiply-adds. Both only change the order of additions, fixed at compile
#: time, so results stay deterministic. ``nnan``/``ninf`` are left out on purpose:
#: the loss must stay exact for margins in the thousands.
FASTMATH = frozenset({"reassoc", "contract"})

#: Cache compiled kernels on disk so that only the first process on a machine
#: pays the compilation. ``FASTLR_NUMBA_CACHE=0`` in the environment turns it off
#: (read once, when the kernel modules are imported).
CACHE = os.environ.get("FASTLR_NUMBA_CACHE", "1") != "0"

#: How far ahead (in bytes of X) the row loops ask the memory system for X, by
#: dtype: a loop prefetches the row that far ahead, at least one row. The
#: hardware prefetcher alone kept one core at ~11 GB/s on a 2-core Xeon. A sweep
#: of the fused pass on a 2-core EPYC (Zen 5, n = 100 and 400) put float64 best
#: at 6.4 KB (8 rows of 100) and float32 at 12.8 KB (32 rows of 100): the float32
#: pass took 1.18x one ``X @ w`` at 8 rows ahead and 1.06–1.08x at 32, in the same
#: run. A float32 row costs half the arithmetic per byte, so its loop needs its
#: loads asked for sooner.
PREFETCH_BYTES_FLOAT32 = 12_800
PREFETCH_BYTES_FLOAT64 = 6_400

#: The modules whose functions Numba compiles and caches.
KERNEL_MODULES = (
    "numba_prefetch", "numba_math", "numba_small_gemm", "numba_common", "numba_second_order", "numba_serial", "numba_parallel",
    "sparse_numba",
)


def cache_directory() -> pathlib.Path:
    """Where Numba keeps the compiled kernels of this package."""
    here = pathlib.Path(__file__).resolve().parent
    cache_root = os.environ.get("NUMBA_CACHE_DIR")
    if cache_root:
        # Numba mirrors the source path under NUMBA_CACHE_DIR.
        return pathlib.Path(cache_root) / here.relative_to(here.anchor)
    return here / "__pycache__"


def clear_cache() -> list:
    """Delete the cached machine code of the Numba kernels; returns the files removed."""
    directory = cache_directory()
    removed = []
    for module in KERNEL_MODULES:
        for path in sorted(directory.glob(f"{module}.*.nb[ic]")):
            path.unlink()
            removed.append(path)
    return removed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastlr.kernels.numba_build", description=__doc__.splitlines()[0])
    parser.add_argument("--clear-cache", action="store_true", help="delete the cached compiled kernels")
    args = parser.parse_args(argv)
    if args.clear_cache:
        removed = clear_cache()
        print(f"removed {len(removed)} cached kernel files from {cache_directory()}")
    else:
        print(f"cache: {cache_directory()} ({'on' if CACHE else 'off'}); fastmath: {sorted(FASTMATH)}; "
              f"prefetch: {PREFETCH_BYTES_FLOAT32} bytes ahead (float32), {PREFETCH_BYTES_FLOAT64} (float64)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
