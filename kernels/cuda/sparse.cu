// fastlr CUDA kernels over CSR matrices: the binary and softmax passes.
//
// Loaded by fastlr/kernels/sparse_cupy.py with cupy.RawModule (this folder on
// the include path: the per-row math and the helpers come from logistic.cu);
// every kernel is a template over the element type T (float or double).
// Indices are int32, as cupyx.scipy.sparse stores them.
//
// Layout ("vector CSR"): a group of LANES lanes (a power of two, 2..32) takes
// one row at a time; lane l of the group loads the row's entries l, l + LANES,
// ..., multiplies each by w at its column (a gather from L2 for the hot columns
// of text data) and the group adds its partial sums with shuffles, in a fixed
// tree. One warp thus works on 32 / LANES rows at once, so rows of a few entries
// do not leave most of the warp idle. The per-row math then runs in every lane
// of the group (no divergence).
//
// Deterministic: nothing here adds with atomics. The row kernels write each
// row's scaled residual s_i r_i (binary) or r_i (softmax) to an m-long (m x K)
// float64 buffer, and the gradient is X^T times it computed by
// csr_rows_times_dense over X^T held as a second CSR matrix (the transpose is
// made once per X by the backend, fastlr/kernels/sparse_cupy.py): each
// gradient entry is one row of X^T, summed by one group of lanes in a fixed
// order. The loss, the intercept terms and the weight go through per-block
// slots added in block order. The price is a second read of the stored
// entries (those of X^T) per gradient and one more copy of X on the device.
//
// Warp-uniform loops: the loop over groups of rows runs the same number of
// times in every lane of a warp (it depends on the warp's base row only), so
// the shuffles inside it always see the whole warp; lanes past the last row
// take part with empty rows.

#include "logistic.cu"

// Sum over one group of LANES lanes, returned to every lane of the group.
template <typename T, int LANES>
__device__ __forceinline__ T group_sum(T value) {
#pragma unroll
    for (int offset = LANES / 2; offset > 0; offset /= 2) value += __shfl_down_sync(FULL_MASK, value, offset, LANES);
    return __shfl_sync(FULL_MASK, value, 0, LANES);
}

// Sum COUNT per-thread values over the block (each warp by shuffles, then the
// warps in order through shared memory) into slot[0..COUNT). Called by the
// whole block; shared holds (blockDim.x / 32) * COUNT doubles.
template <int COUNT>
__device__ void block_sum_to_slot(double (&values)[COUNT], double* shared, double* __restrict__ slot) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
#pragma unroll
    for (int c = 0; c < COUNT; ++c) {
        for (int offset = WARP_SIZE / 2; offset > 0; offset /= 2) {
            values[c] += __shfl_down_sync(FULL_MASK, values[c], offset);
        }
        if (lane == 0) shared[warp * COUNT + c] = values[c];
    }
    __syncthreads();
    for (int c = threadIdx.x; c < COUNT; c += blockDim.x) {
        double total = 0.0;
        for (int w = 0; w < warps; ++w) total += shared[w * COUNT + c];
        slot[c] = total;
    }
}

// One fused pass of the binary problem over the CSR rows.
//
//   scaled_residual[i] (if with_gradient) : s_i r_i, for the gradient X^T (s r)
//   block_sums[block, 0..3)       : sum of s_i l_i, sum of s_i r_i, sum of s_i
//   curvature[i] (if write_curvature) : s_i p_i (1 - p_i), for Hessian-vector products
// Flags, not null pointers, say which optional arrays are real (cupy/cupy#9046).
// Dynamic shared memory: (blockDim.x / 32) * 3 doubles.
template <typename T, int LANES>
__global__ void csr_binary_rows(const T* __restrict__ data, const int* __restrict__ indices,
                                const int* __restrict__ indptr, const T* __restrict__ y, const T* __restrict__ w,
                                const T* __restrict__ b, const T* __restrict__ sample_weight, int weighted,
                                long long m, int with_gradient, double* __restrict__ scaled_residual,
                                double* __restrict__ block_sums, double* __restrict__ curvature,
                                int write_curvature) {
    extern __shared__ double shared[];
    constexpr int GROUPS = WARP_SIZE / LANES;
    const int lane = threadIdx.x % WARP_SIZE;
    const int group_lane = lane % LANES;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    const long long warps = (long long)gridDim.x * blockDim.x / WARP_SIZE;
    const T bias = b[0];
    double sums[3] = {0.0, 0.0, 0.0};  // in each group's first lane only

    for (long long base = warp * GROUPS; base < m; base += warps * GROUPS) {
        const long long i = base + lane / LANES;
        const bool valid = i < m;
        const int start = valid ? indptr[i] : 0;
        const int end = valid ? indptr[i + 1] : 0;
        T partial = T(0);
        for (int k = start + group_lane; k < end; k += LANES) partial += data[k] * w[indices[k]];
        const T z = group_sum<T, LANES>(partial) + bias;
        if (!valid || group_lane != 0) continue;  // no shuffles below: the other lanes wait at the loop head

        T loss, residual;
        logistic_loss_residual_t(z, y[i], &loss, &residual);
        const T s = weighted ? sample_weight[i] : T(1);
        sums[0] += (double)(s * loss);
        sums[1] += (double)(s * residual);
        sums[2] += (double)s;
        if (write_curvature) {
            const double e = exp(-fabs((double)z));  // p (1 - p) = e / (1 + e)^2, exact for any z
            curvature[i] = (double)s * e / ((1.0 + e) * (1.0 + e));
        }
        if (with_gradient) scaled_residual[i] = (double)(s * residual);
    }
    block_sum_to_slot<3>(sums, shared, block_sums + 3 * (long long)blockIdx.x);
}

// out[j * stride + offset + c] = sum over the stored entries k of row j of
// data[k] * U[indices[k] * stride + offset + c], for c < CLASSES and every row
// j < rows: a CSR matrix (X, or X^T for a gradient) times CLASSES columns of
// the float64 matrix U (row-major, stride columns), in float64. A group of
// LANES lanes per row, each lane over the entries group_lane, + LANES, ...,
// then the group's fixed shuffle tree: the same sums in the same order on
// every run.
template <typename T, int LANES, int CLASSES>
__global__ void csr_rows_times_dense(const T* __restrict__ data, const int* __restrict__ indices,
                                     const int* __restrict__ indptr, long long rows, const double* __restrict__ U,
                                     int stride, int offset, double* __restrict__ out) {
    constexpr int GROUPS = WARP_SIZE / LANES;
    const int lane = threadIdx.x % WARP_SIZE;
    const int group_lane = lane % LANES;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    const long long warps = (long long)gridDim.x * blockDim.x / WARP_SIZE;

    for (long long base = warp * GROUPS; base < rows; base += warps * GROUPS) {
        const long long j = base + lane / LANES;
        const bool valid = j < rows;
        const int start = valid ? indptr[j] : 0;
        const int end = valid ? indptr[j + 1] : 0;
        double partial[CLASSES];
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) partial[c] = 0.0;
        for (int k = start + group_lane; k < end; k += LANES) {
            const double x = (double)data[k];
            const double* u = U + (long long)indices[k] * stride + offset;
#pragma unroll
            for (int c = 0; c < CLASSES; ++c) partial[c] += x * u[c];
        }
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) {
            const double total = group_sum<double, LANES>(partial[c]);
            if (valid && group_lane == 0) out[j * stride + offset + c] = total;
        }
    }
}

// gradient_out[0..n) = gradient[j] / sum s, gradient_out[n] = sum s r / sum s,
// cost[0] = sum s l / sum s: the block slots added in block order.
template <typename T>
__global__ void csr_finalize_binary(const double* __restrict__ gradient, const double* __restrict__ block_sums,
                                    int blocks, int n, T* __restrict__ gradient_out, T* __restrict__ cost) {
    __shared__ double totals[3];
    if (threadIdx.x < 3) {
        double total = 0.0;
        for (int blk = 0; blk < blocks; ++blk) total += block_sums[3 * blk + threadIdx.x];
        totals[threadIdx.x] = total;
    }
    __syncthreads();
    const double weight = totals[2];
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j <= n; j += (long long)gridDim.x * blockDim.x) {
        gradient_out[j] = (T)((j < n ? gradient[j] : totals[1]) / weight);
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) cost[0] = (T)(totals[0] / weight);
}

// One fused pass of the softmax problem with CLASSES classes over the CSR rows.
// W is passed transposed, WT (n, CLASSES), so that an entry's CLASSES weights
// are contiguous.
//
//   residuals[i * CLASSES + c] (if with_gradient) : s_i (p_ic - [c = y_i]), for the gradient X^T R
//   block_sums[block, c]           : sum of s_i r_ic (the intercepts), c < CLASSES
//   block_sums[block, CLASSES + 0/1] : sum of s_i loss_i, sum of s_i
// Labels are compared, never used as indices: a label outside 0..CLASSES-1
// makes the loss NaN. Dynamic shared memory: (blockDim.x / 32) * (CLASSES + 2) doubles.
template <typename T, int LANES, int CLASSES>
__global__ void csr_softmax_rows(const T* __restrict__ data, const int* __restrict__ indices,
                                 const int* __restrict__ indptr, const long long* __restrict__ labels,
                                 const T* __restrict__ WT, const T* __restrict__ b,
                                 const T* __restrict__ sample_weight, int weighted, long long m, int with_gradient,
                                 double* __restrict__ residuals, double* __restrict__ block_sums) {
    extern __shared__ double shared[];
    constexpr int GROUPS = WARP_SIZE / LANES;
    const int lane = threadIdx.x % WARP_SIZE;
    const int group_lane = lane % LANES;
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    const long long warps = (long long)gridDim.x * blockDim.x / WARP_SIZE;
    double sums[CLASSES + 2];
#pragma unroll
    for (int c = 0; c < CLASSES + 2; ++c) sums[c] = 0.0;

    for (long long base = warp * GROUPS; base < m; base += warps * GROUPS) {
        const long long i = base + lane / LANES;
        const bool valid = i < m;
        const int start = valid ? indptr[i] : 0;
        const int end = valid ? indptr[i + 1] : 0;
        T partial[CLASSES];
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) partial[c] = T(0);
        for (int k = start + group_lane; k < end; k += LANES) {
            const T x = data[k];
            const T* weights = WT + (long long)indices[k] * CLASSES;
#pragma unroll
            for (int c = 0; c < CLASSES; ++c) partial[c] += x * weights[c];
        }
        double z[CLASSES];
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) z[c] = (double)group_sum<T, LANES>(partial[c]) + (double)b[c];
        if (!valid || group_lane != 0) continue;

        double top = z[0];
#pragma unroll
        for (int c = 1; c < CLASSES; ++c) top = fmax(top, z[c]);
        double total = 0.0;
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) total += exp(z[c] - top);
        const double log_sum = top + log(total);
        const long long label = labels[i];
        double z_label = nan("");
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) z_label = (c == label) ? z[c] : z_label;
        const double s = weighted ? (double)sample_weight[i] : 1.0;
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) {
            const double residual = s * (exp(z[c] - log_sum) - (c == label ? 1.0 : 0.0));
            sums[c] += residual;
            if (with_gradient) residuals[i * CLASSES + c] = residual;
        }
        sums[CLASSES] += s * (log_sum - z_label);
        sums[CLASSES + 1] += s;
    }
    block_sum_to_slot<CLASSES + 2>(sums, shared, block_sums + (CLASSES + 2) * (long long)blockIdx.x);
}

// out[c * n + j] = gradient[j * classes + c] / sum s (dW, (classes, n)),
// out[classes * n + c] = sum s r_c / sum s (db), cost[0] = sum s loss / sum s.
// Dynamic shared memory: classes + 2 doubles.
template <typename T>
__global__ void csr_finalize_softmax(const double* __restrict__ gradient, const double* __restrict__ block_sums,
                                     int blocks, int classes, int n, T* __restrict__ out, T* __restrict__ cost) {
    extern __shared__ double totals[];
    const int width = classes + 2;
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        double total = 0.0;
        for (int blk = 0; blk < blocks; ++blk) total += block_sums[(long long)width * blk + c];
        totals[c] = total;
    }
    __syncthreads();
    const double weight = totals[classes + 1];
    const long long size = (long long)classes * n;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < size + classes;
         t += (long long)gridDim.x * blockDim.x) {
        if (t < size) {
            const long long c = t / n, j = t % n;
            out[t] = (T)(gradient[j * classes + c] / weight);
        } else {
            out[t] = (T)(totals[t - size] / weight);
        }
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) cost[0] = (T)(totals[classes] / weight);
}
