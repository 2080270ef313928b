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


def residual_rows(xp, Z, labels, b, sample_weight):
    """The epilogue over ``xp``: Z (rows, K) of logits without b becomes s (p − e_y) in place.

    Returns the losses s_i (lse_i − z_{i, y_i}), float64, shape (rows,): NaN for a
    label outside 0..K-1, which is compared and never used unchecked as an index.
    """
    n_classes = Z.shape[1]
    z = Z.astype(xp.float64) + xp.asarray(b, dtype=xp.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    log_total = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    labels = xp.asarray(labels)
    inside = (labels >= 0) & (labels < n_classes)
    one_hot = xp.arange(n_classes)[None, :] == labels[:, None]
    s = 1.0 if sample_weight is None else xp.asarray(sample_weight, dtype=xp.float64)
    label_margin = (shifted * one_hot).sum(axis=1)
    losses = s * xp.where(inside, log_total[:, 0] - label_margin, xp.nan)
    residual = xp.exp(shifted - log_total) - one_hot
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
