"""The softmax pass for many classes: two GEMMs per chunk of rows, a fused epilogue between.

The fused softmax kernel of the cupy backend keeps W in registers, which works
up to K = 32 classes and modest n. For more (linear probes on image features:
K = 1000, n = 2048) the work is two matrix products per row, which cuBLAS
does best, so :func:`softmax_gemm_pass` runs, per chunk of rows X_c:

1. Z = X_c Wᵀ: the chunk's logits, written once, by one GEMM;
2. ``residual_rows(Z, labels, b, sample_weight)``: turns Z in place into the
   residuals R = s (P − Y) and returns each row's s (lse − z_y), in one read
   and one write of Z (a CUDA kernel on the GPU; :func:`residual_rows` over
   the array library elsewhere);
3. ∇W += Rᵀ X_c, the second GEMM, and ∇b += Σ R.

Chunks hold ``config.CUDA_SOFTMAX_CHUNK_BYTES`` of logits, sized for a GPU's
L2 cache, so that the logits of a chunk travel between the GEMMs and the
epilogue without a round trip to device memory, and the m × K logits never
exist at once. Sums across chunks are float64. The driver is written over
the array library ``xp`` so that the NumPy tests check the code path the
GPU runs; nothing in it reads a value back to the host.
"""

import numpy as np


def chunk_rows(n_classes, itemsize, chunk_bytes):
    """Rows per chunk: ``chunk_bytes`` of logits (at least one row)."""
    return max(1, chunk_bytes // (n_classes * itemsize))


def class_indices(xp, labels, n_classes):
    """(indices, inside) for labels of shape (rows,): ``inside`` says whether a label is one of
    the classes 0..K-1 (a whole number in range: not −1, not K, not 0.5, not NaN), and
    ``indices`` is the label where it is, 0 elsewhere, so that indexing with it never wraps
    or reads out of bounds."""
    labels = xp.asarray(labels)
    inside = (labels >= 0) & (labels < n_classes) & (xp.floor(labels) == labels)
    return xp.where(inside, labels, 0).astype(xp.intp), inside


def log_sum_exp_rows(xp, Z):
    """(shifted, exponentials, others) for margins Z (rows, K), in Z's dtype:

    shifted = Z − t with t the row's maximum, exponentials = e^{shifted}, and
    others = Σ_k e^{shifted_k} − 1 formed without that subtraction (the exponentials
    below the top, plus the number of classes at the top less one), so that
    lse(z) = t + log1p(others) and the loss log1p(others) − (z_y − t) of a confident
    row (≈ Σ_{k≠y} e^{z_k − z_y}, 1e-20 say) keep their digits. A NaN margin makes
    its row's ``others`` NaN.
    """
    shifted = Z - Z.max(axis=1, keepdims=True)
    exponentials = xp.exp(shifted)
    at_top = ~(shifted < 0)  # a NaN counts here, and e^NaN − 1 keeps it
    ties = at_top.sum(axis=1, dtype=Z.dtype)
    others = (exponentials - at_top).sum(axis=1) + (ties - 1)
    return shifted, exponentials, others


def label_losses(xp, shifted, others, indices, inside):
    """Each row's lse − z_y = log1p(others) − (z_y − t), NaN for a label that is not a class."""
    label_margin = xp.take_along_axis(shifted, indices[:, None], axis=1)[:, 0]
    return xp.where(inside, xp.log1p(others) - label_margin, xp.nan)


def residual_rows(xp, Z, labels, b, sample_weight):
    """The epilogue over ``xp``: Z (rows, K) of logits without b becomes s (p − e_y) in place.

    Returns the losses s_i (lse_i − z_{i, y_i}), float64, shape (rows,), exact for
    confident rows (:func:`log_sum_exp_rows`): NaN for a label that is not one of
    0..K-1, which is compared and never used unchecked as an index.
    """
    n_classes = Z.shape[1]
    z = Z.astype(xp.float64) + xp.asarray(b, dtype=xp.float64)
    shifted, exponentials, others = log_sum_exp_rows(xp, z)
    indices, inside = class_indices(xp, labels, n_classes)
    s = 1.0 if sample_weight is None else xp.asarray(sample_weight, dtype=xp.float64)
    losses = s * label_losses(xp, shifted, others, indices, inside)
    one_hot = (xp.arange(n_classes)[None, :] == indices[:, None]) & inside[:, None]
    residual = exponentials / (others + 1)[:, None] - one_hot
    Z[...] = (residual if sample_weight is None else residual * s[:, None]).astype(Z.dtype)
    return losses


def softmax_gemm_pass(xp, X, labels, W, b, sample_weight, with_gradient, rows_per_chunk, epilogue):
    """(J, ∇W J, ∇b J) of the multinomial loss, in X's dtype, by chunks of ``rows_per_chunk`` rows.

    X (m, n), labels (m,) integer class indices, W (K, n), b (K,), sample_weight (m,)
    or None. ``epilogue(Z, labels, b, sample_weight) -> losses`` is step 2 above
    (:func:`residual_rows` with ``xp`` bound, or a fused device kernel). Without
    ``with_gradient`` the gradients are returned as zeros and the second GEMM is skipped.
    """
    m, n = X.shape
    dtype = X.dtype
    W = xp.asarray(W, dtype=dtype)
    b = xp.asarray(b, dtype=dtype)
    n_classes = W.shape[0]
    loss = xp.zeros((), dtype=xp.float64)
    gradient = xp.zeros((n_classes, n), dtype=xp.float64)
    gradient_b = xp.zeros(n_classes, dtype=xp.float64)
    buffer = xp.empty((min(rows_per_chunk, m), n_classes), dtype=dtype)
    for start in range(0, m, rows_per_chunk):
        stop = min(start + rows_per_chunk, m)
        X_chunk = X[start:stop]
        Z = buffer[: stop - start]
        xp.matmul(X_chunk, W.T, out=Z)
        weights = None if sample_weight is None else sample_weight[start:stop]
        loss += epilogue(Z, labels[start:stop], b, weights).sum()
        if with_gradient:
            gradient += Z.T @ X_chunk
            gradient_b += Z.sum(axis=0, dtype=xp.float64)
    total = m if sample_weight is None else sample_weight.sum(dtype=xp.float64)
    return (loss / total).astype(dtype), (gradient / total).astype(dtype), (gradient_b / total).astype(dtype)


def numpy_epilogue(Z, labels, b, sample_weight):
    """:func:`residual_rows` over NumPy."""
    return residual_rows(np, Z, labels, b, sample_weight)
