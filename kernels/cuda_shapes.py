"""Template arguments and launch shapes of the CUDA kernels, without CuPy.

Which instance of a kernel in ``cuda/logistic.cu`` a call uses (columns per
lane, rows per warp group, classes) is decided here, from ``fastlr.config``
and the shape of the data, so that it can be imported where CuPy cannot:
``tests/test_cuda_sources.py`` compiles with ``nvcc`` every instance that
:func:`binary_instances` and :func:`softmax_instances` list, which are the
ones :mod:`fastlr.kernels.cupy_cuda` can launch.
"""

from typing import Optional

from fastlr import config

WARP_SIZE = 32
#: Columns per lane are a compile-time constant; 32 per lane covers n ≤ 1024.
MAX_ITEMS_PER_LANE = 32
MAX_FUSED_FEATURES = WARP_SIZE * MAX_ITEMS_PER_LANE
#: Bytes of W (and as many of gradient accumulators) that each lane of the
#: fused softmax keeps in registers: classes × columns per lane × itemsize.
SOFTMAX_REGISTER_BYTES = 320
#: The fused softmax keeps a row's classes in one warp.
MAX_FUSED_CLASSES = WARP_SIZE
ITEMSIZES = (4, 8)


def items_per_lane(n: int) -> int:
    """Smallest power of two k with 32·k ≥ n (fewer template instances than one per n)."""
    items = 1
    while WARP_SIZE * items < n:
        items *= 2
    return items


def next_power_of_two(k: int) -> int:
    """As ``next_power_of_two`` in logistic.cu: the padded class count of the fused softmax."""
    return 1 if k <= 1 else 2 * next_power_of_two((k + 1) // 2)


def row_group(n: int, itemsize: int, values_per_row: int = 1) -> int:
    """Rows a warp takes at once: as many as fit ``config.CUDA_ROW_GROUP_BYTES`` of X per
    lane (registers), a power of two with rows × ``values_per_row`` ≤ 32 (one warp)."""
    group = 1
    while (
        2 * group * values_per_row <= WARP_SIZE
        and 2 * group * items_per_lane(n) * itemsize <= config.CUDA_ROW_GROUP_BYTES
    ):
        group *= 2
    return group


def softmax_shape(n: int, classes: int, itemsize: int) -> Optional[tuple]:
    """(columns per lane, rows per group) of the fused softmax for X (·, n) and K classes,
    or None where it does not apply (K > 32, or W too large for the registers): then the
    GEMM path runs."""
    if n > MAX_FUSED_FEATURES or not 2 <= classes <= MAX_FUSED_CLASSES:
        return None
    items = items_per_lane(n)
    if classes * items * itemsize > SOFTMAX_REGISTER_BYTES:
        return None
    return items, row_group(n, itemsize, next_power_of_two(classes))


def _items_choices():
    items = 1
    while items <= MAX_ITEMS_PER_LANE:
        yield items
        items *= 2


def binary_instances(itemsize: int) -> list:
    """Every (columns per lane, rows per group) of ``binary_cost_gradient`` for this itemsize."""
    return sorted({(items, row_group(WARP_SIZE * items, itemsize)) for items in _items_choices()})


def softmax_instances(itemsize: int) -> list:
    """Every (columns per lane, classes, rows per group) of the fused ``softmax_cost_gradient``."""
    shapes = set()
    for items in _items_choices():
        for classes in range(2, MAX_FUSED_CLASSES + 1):
            shape = softmax_shape(WARP_SIZE * items, classes, itemsize)
            if shape is not None:
                shapes.add((shape[0], classes, shape[1]))
    return sorted(shapes)
