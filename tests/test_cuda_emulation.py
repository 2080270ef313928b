"""The index algebra of the fused CUDA softmax, checked without a GPU.

``fused_softmax_warp`` replays ``softmax_cost_gradient`` of kernels/cuda/logistic.cu
for one warp, lane by lane over NumPy arrays and statement by statement: the
transpose reduction of GROUP × padded-classes partial sums, the lanes each
(row, class) margin lands in, the max and the sum of exponentials over a row's
segment of lanes (less the classes at the max, which a ballot counts), the residual broadcasts and the intercept gradient's
reduction across rows. It runs on the shapes that ``cuda_shapes`` picks, with
padded classes and a last, partial group, against the softmax's definition.
The GPU runs the kernel itself in tests/test_cupy.py.
"""

import numpy as np
import pytest

from fastlr.kernels import cuda_shapes


WARP = 32
LANES = np.arange(WARP)


def shfl_xor(v, offset):
    """__shfl_xor_sync: every lane reads lane ^ offset (axis 0 is the lane)."""
    return v[LANES ^ offset]


def ballot_count(flags, row_lanes):
    """__popc(__ballot_sync(FULL_MASK, flag) & the mask of this lane's segment of row_lanes lanes)."""
    segment = LANES // row_lanes
    return np.array([flags[segment == segment[lane]].sum() for lane in LANES])


def butterfly(v, first, stop, combine):
    """The xor-shuffle loop ``for (offset = first; offset < stop; offset *= 2)``."""
    offset = first
    while offset < stop:
        v = combine(v, shfl_xor(v, offset))
        offset *= 2
    return v


def warp_sum_rows(partial):
    """warp_sum_rows<T, VALUES>: partial (32 lanes, VALUES) -> the value each lane holds."""
    v = partial.copy()
    width, offset = v.shape[1], WARP // 2
    while width > 1:
        upper = (LANES & offset) != 0
        half = width // 2
        reduced = v.copy()
        for k in range(half):
            send = np.where(upper, v[:, k], v[:, k + half])
            keep = np.where(upper, v[:, k + half], v[:, k])
            reduced[:, k] = keep + shfl_xor(send, offset)
        v, width, offset = reduced, half, offset // 2
    return butterfly(v[:, 0], 1, WARP // partial.shape[1], np.add)


def fused_softmax_warp(X, labels, W, b, s, items, classes, group):
    """One warp of softmax_cost_gradient<double, items, classes, group> over all m rows:
    (cost, dW, db) of the weighted mean softmax loss, as the kernel and finalize_softmax compute them."""
    m, n = X.shape
    padded = cuda_shapes.next_power_of_two(classes)
    spread = WARP // (group * padded)  # lanes per (row, class) value
    row_lanes = spread * padded
    columns = LANES[:, None] + WARP * np.arange(items)[None, :]  # (lane, item) -> j
    inside = columns < n
    w_lane = np.where(inside, W[:, np.minimum(columns, n - 1)], 0.0)  # (class, lane, item)
    accumulator = np.zeros((classes, WARP, items))
    value = LANES // spread
    my_row, my_class = value // padded, value % padded
    owner, real = LANES % spread == 0, my_class < classes
    bias = np.where(real, b[np.minimum(my_class, classes - 1)], 0.0)
    loss_sum, weight_sum, bias_gradient = np.zeros(WARP), np.zeros(WARP), np.zeros(WARP)
    for base in range(0, m, group):
        x = np.zeros((group, WARP, items))
        partial = np.zeros((WARP, group * padded))
        for r in range(min(group, m - base)):
            x[r] = np.where(inside, X[base + r, np.minimum(columns, n - 1)], 0.0)
        for r in range(group):
            for c in range(classes):
                partial[:, r * padded + c] = (x[r] * w_lane[c]).sum(axis=1)
        i = base + my_row
        valid = i < m
        z = np.where(real, warp_sum_rows(partial) + bias, -np.inf)
        top = butterfly(z, spread, row_lanes, np.fmax)
        e = np.where(real, np.exp(z - top), 0.0)
        at_top = real & ~(z < top)
        others = butterfly(np.where(at_top, e - 1.0, e), spread, row_lanes, np.add)
        ties = ballot_count(at_top, row_lanes) // spread
        total = others + ties
        others = others + (ties - 1)
        label = np.where(valid, labels[np.minimum(i, m - 1)], -1)
        weight = np.where(valid, s[np.minimum(i, m - 1)], 0.0)
        is_label = real & (my_class == label)
        loss_sum += np.where(owner & is_label, weight * (np.log1p(others) - (z - top)), 0.0)
        weight_sum += np.where(owner & valid & (my_class == 0), weight, 0.0)
        residual = np.where(real, weight * (e / total - is_label), 0.0)
        bias_gradient += np.where(owner, residual, 0.0)
        for r in range(group):
            for c in range(classes):
                accumulator[c] += residual[(r * padded + c) * spread] * x[r]
    slot = np.zeros((classes, n + 1))
    for c in range(classes):
        slot[c, columns[inside]] = accumulator[c][inside]
    bias_gradient = butterfly(bias_gradient, row_lanes, WARP, np.add)
    for lane in np.flatnonzero((LANES < row_lanes) & owner & real):
        slot[my_class[lane], n] = bias_gradient[lane]
    total_weight = weight_sum.sum()
    return loss_sum.sum() / total_weight, slot[:, :n] / total_weight, slot[:, n] / total_weight


def reference(X, y, W, b, s):
    """The weighted mean softmax loss and its gradient, from their definitions."""
    Z = X @ W.T + b
    lse = Z.max(axis=1) + np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1))
    R = s[:, None] * (np.exp(Z - lse[:, None]) - np.eye(W.shape[0])[y])
    return (s * (lse - Z[np.arange(len(y)), y])).sum() / s.sum(), R.T @ X / s.sum(), R.sum(axis=0) / s.sum()


@pytest.mark.parametrize("n, classes", [(100, 10), (7, 3), (33, 2), (64, 32), (1000, 2), (40, 17), (5, 5)])
@pytest.mark.parametrize("itemsize", [4, 8])
def test_fused_softmax_warp_algebra(n, classes, itemsize):
    shape = cuda_shapes.softmax_shape(n, classes, itemsize)
    if shape is None:
        pytest.skip(f"K={classes}, n={n}, itemsize {itemsize}: the GEMM path, not the fused kernel")
    rng = np.random.default_rng(n * classes)
    m = 37  # not a multiple of any group
    X, W = rng.standard_normal((m, n)), 0.3 * rng.standard_normal((classes, n))
    b, y, s = rng.standard_normal(classes), rng.integers(0, classes, m), rng.uniform(0.5, 2, m)
    with np.errstate(invalid="ignore"):  # padded classes: -inf margins, never used
        got = fused_softmax_warp(X, y, W, b, s, shape[0], classes, shape[1])
    for value, expected in zip(got, reference(X, y, W, b, s)):
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)



@pytest.mark.parametrize("n, classes", [(7, 3), (40, 17), (100, 10)])
@pytest.mark.parametrize("tie", [False, True], ids=["alone", "tied"])
def test_fused_softmax_warp_keeps_a_confident_rows_loss(n, classes, tie):
    """Class 1 (the label) leads every other class by 50 or more, so each row's loss is
    Σ_{k≠1} e^{z_k − z_1} < 1e-18, where top + log(total) − z was 0; with ``tie`` class 2
    shares the top (the ballot's count) and the loss is log 2. Reference: the python
    backend, checked against 400-digit arithmetic in tests/test_numerics.py."""
    from fastlr import get_backend

    shape = cuda_shapes.softmax_shape(n, classes, 8)
    rng = np.random.default_rng(classes)
    m = 37
    X, W = rng.standard_normal((m, n)), 0.3 * rng.standard_normal((classes, n))
    W[1] = 0.0
    b = np.zeros(classes)
    b[1] = (X @ W.T).max() + 50.0
    if tie:
        W[2], b[2] = 0.0, b[1]
    y, s = np.ones(m, dtype=np.int64), rng.uniform(0.5, 2, m)
    with np.errstate(invalid="ignore"):  # padded classes: -inf margins, never used
        cost = fused_softmax_warp(X, y, W, b, s, shape[0], classes, shape[1])[0]
    want = get_backend("python").softmax_cost(X, y, W, b, s)
    assert tie or want < 1e-18
    assert cost == pytest.approx(want, rel=1e-13, abs=0)
