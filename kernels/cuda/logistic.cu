// fastlr CUDA kernels: the binary and softmax logistic passes over X.
//
// Loaded by fastlr/kernels/cupy_cuda.py with cupy.RawModule; every kernel is a
// template over the element type T (float or double) and instantiated through
// `name_expressions`, so there is no `extern "C"` here.
//
// Layout: X is C-contiguous (m, n). A warp handles rows (one, or a group of
// them at a time); lane l owns the columns j = l + 32k (k < ITEMS), keeps w_j
// and its gradient accumulators in registers, and loads x_ij once: the dot
// product, the loss and the gradient update all use that one load (X is read
// once per pass). Sums across rows accumulate in double whatever T is. Each block writes its partial sums
// to its own slot and `finalize_*` adds the slots in block order: no atomics,
// so results are deterministic for a given launch configuration.

#define FULL_MASK 0xffffffffu
#define WARP_SIZE 32

// Sum over the warp, returned to every lane. Tree order (shfl_down) then a
// broadcast of lane 0: every lane sees bit-identical z, unlike a butterfly.
__device__ __forceinline__ double warp_sum(double value) {
    for (int offset = WARP_SIZE / 2; offset > 0; offset /= 2) {
        value += __shfl_down_sync(FULL_MASK, value, offset);
    }
    return __shfl_sync(FULL_MASK, value, 0);
}

// Loss softplus(z) - y z and residual sigmoid(z) - y, with e = exp(-|z|) <= 1
// so that nothing overflows for any finite z.
__device__ __forceinline__ void logistic_loss_residual(double z, double y, double* loss, double* residual) {
    const double e = exp(-fabs(z));
    const double inverse = 1.0 / (1.0 + e);
    *loss = (fmax(z, 0.0) - y * z) + log1p(e);  // exact first term, small one last
    *residual = (z > 0.0 ? inverse : e * inverse) - y;
}

// The same in the element type: float data gets float math (expf, log1pf),
// which is what the fused pass runs once per row.
__device__ __forceinline__ float exp_t(float x) { return expf(x); }
__device__ __forceinline__ double exp_t(double x) { return exp(x); }
__device__ __forceinline__ float log1p_t(float x) { return log1pf(x); }
__device__ __forceinline__ double log1p_t(double x) { return log1p(x); }

template <typename T>
__device__ __forceinline__ void logistic_loss_residual_t(T z, T y, T* loss, T* residual) {
    const T e = exp_t(-fabs(z));
    const T inverse = T(1) / (T(1) + e);
    *loss = (fmax(z, T(0)) - y * z) + log1p_t(e);
    *residual = (z > T(0) ? inverse : e * inverse) - y;
}

// Sum shared[warp][0..count) over the block's warps, in warp order, into
// shared[0][...]. Called by the whole block.
__device__ void reduce_warp_rows(double* shared, int count, int stride) {
    const int warps = blockDim.x / WARP_SIZE;
    __syncthreads();
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        double total = shared[j];
        for (int w = 1; w < warps; ++w) total += shared[w * stride + j];
        shared[j] = total;
    }
    __syncthreads();
}

// Reduce GROUP per-row partial sums over the warp at once ("transpose"
// reduction): at each of the first log2(GROUP) steps a lane keeps one half of
// its values and trades the other half with its partner, so GROUP rows cost
// GROUP - 1 + 5 - log2(GROUP) shuffles instead of 5 * GROUP. Afterwards v[0] of
// lane L holds the sum for row row_of_lane<GROUP>(L); lanes that share a row
// may differ in rounding, so only its owner lane (owner_lane) uses it.
template <typename A, int GROUP>
__device__ __forceinline__ void warp_sum_rows(A (&v)[GROUP], int lane) {
#pragma unroll
    for (int width = GROUP, offset = WARP_SIZE / 2; width > 1; width /= 2, offset /= 2) {
        const bool upper = lane & offset;
#pragma unroll
        for (int k = 0; k < width / 2; ++k) {
            const A send = upper ? v[k] : v[k + width / 2];
            const A keep = upper ? v[k + width / 2] : v[k];
            v[k] = keep + __shfl_xor_sync(FULL_MASK, send, offset);
        }
    }
#pragma unroll
    for (int offset = WARP_SIZE / (2 * GROUP); offset > 0; offset /= 2) {
        v[0] += __shfl_xor_sync(FULL_MASK, v[0], offset);
    }
}

template <int GROUP>
__device__ __forceinline__ int row_of_lane(int lane) {
    int row = 0;
#pragma unroll
    for (int width = GROUP, offset = WARP_SIZE / 2; width > 1; width /= 2, offset /= 2) {
        if (lane & offset) row += width / 2;
    }
    return row;
}

template <int GROUP>
__device__ __forceinline__ int lane_of_row(int row) {
    int lane = 0;
#pragma unroll
    for (int width = GROUP, offset = WARP_SIZE / 2; width > 1; width /= 2, offset /= 2) {
        if (row >= width / 2) {
            lane += offset;
            row -= width / 2;
        }
    }
    return lane;
}

template <int GROUP>
__device__ __forceinline__ bool owner_lane(int lane) {
    return (lane & (WARP_SIZE / GROUP - 1)) == 0;
}

// One fused pass of the binary problem.
//
// A warp takes GROUP consecutive rows at a time: it loads them (GROUP * ITEMS
// values per lane in flight), reduces their GROUP dot products together, lets
// one owner lane per row compute that row's loss and residual (so exp/log1p
// run once per row, not 32 times), broadcasts the residuals and updates its
// gradient registers. Dot products, the per-row math and the per-group
// gradient use T (as BLAS would); every group is then added into double
// accumulators, as are the loss sums.
//
//   block_gradient[block, 0..n)  : sum of s_i r_i x_i over the block's rows
//   block_gradient[block, n]     : sum of s_i r_i
//   block_sums[block, 0..2)      : sum of s_i l_i, sum of s_i
//   curvature[i] (if write_curvature) : s_i p_i (1 - p_i), for Newton's Hessian
// Flags, not null pointers, say which optional arrays are real: CuPy turns a
// None argument into an invalid address rather than NULL (cupy/cupy#9046).
// Dynamic shared memory: (blockDim.x / 32) * (n + 3) doubles.
template <typename T, int ITEMS, int GROUP>
__global__ void binary_cost_gradient(const T* __restrict__ X, const T* __restrict__ y,
                                     const T* __restrict__ w, const T* __restrict__ b,
                                     const T* __restrict__ sample_weight, int weighted, long long m, int n,
                                     int with_gradient, double* __restrict__ block_gradient,
                                     double* __restrict__ block_sums, double* __restrict__ curvature,
                                     int write_curvature) {
    extern __shared__ double shared[];
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int stride = n + 3;
    const int my_row = row_of_lane<GROUP>(lane);
    const bool owner = owner_lane<GROUP>(lane);

    T w_lane[ITEMS];
    double gradient[ITEMS];
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
        const int j = lane + WARP_SIZE * k;
        w_lane[k] = j < n ? w[j] : T(0);
        gradient[k] = 0.0;
    }
    const T bias = b[0];
    double loss_sum = 0.0, residual_sum = 0.0, weight_sum = 0.0;

    const long long first_group = (long long)blockIdx.x * warps + warp;
    const long long group_step = (long long)gridDim.x * warps;
    for (long long group = first_group; group * GROUP < m; group += group_step) {
        const long long base = group * GROUP;
        T x[GROUP][ITEMS];
        T partial[GROUP];
#pragma unroll
        for (int r = 0; r < GROUP; ++r) {
            const bool valid_row = base + r < m;
            const T* row = X + (base + r) * n;
            partial[r] = T(0);
#pragma unroll
            for (int k = 0; k < ITEMS; ++k) {
                const int j = lane + WARP_SIZE * k;
                x[r][k] = (valid_row && j < n) ? row[j] : T(0);
                partial[r] += x[r][k] * w_lane[k];
            }
        }
        warp_sum_rows<T, GROUP>(partial, lane);

        // The owner lane of each row: loss and residual in T, once per row.
        T residual_t = T(0);
        const long long i = base + my_row;
        if (owner && i < m) {
            T loss;
            logistic_loss_residual_t(partial[0] + bias, y[i], &loss, &residual_t);
            const double s = weighted ? (double)sample_weight[i] : 1.0;
            loss_sum += s * (double)loss;
            weight_sum += s;
            if (write_curvature) {
                const double p = (double)(residual_t + y[i]);
                curvature[i] = s * p * (1.0 - p);
            }
            residual_t = (T)(s * (double)residual_t);
            residual_sum += (double)residual_t;
        }
        if (with_gradient) {
            T group_gradient[ITEMS];
#pragma unroll
            for (int k = 0; k < ITEMS; ++k) group_gradient[k] = T(0);
#pragma unroll
            for (int r = 0; r < GROUP; ++r) {
                const T r_residual = __shfl_sync(FULL_MASK, residual_t, lane_of_row<GROUP>(r));
#pragma unroll
                for (int k = 0; k < ITEMS; ++k) group_gradient[k] += r_residual * x[r][k];
            }
#pragma unroll
            for (int k = 0; k < ITEMS; ++k) gradient[k] += (double)group_gradient[k];
        }
    }
    // Owner lanes hold the scalar sums: add them over the warp (tree order).
    for (int offset = WARP_SIZE / 2; offset > 0; offset /= 2) {
        loss_sum += __shfl_down_sync(FULL_MASK, loss_sum, offset);
        weight_sum += __shfl_down_sync(FULL_MASK, weight_sum, offset);
        residual_sum += __shfl_down_sync(FULL_MASK, residual_sum, offset);
    }

    double* mine = shared + warp * stride;
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
        const int j = lane + WARP_SIZE * k;
        if (j < n) mine[j] = gradient[k];
    }
    if (lane == 0) {
        mine[n] = residual_sum;
        mine[n + 1] = loss_sum;
        mine[n + 2] = weight_sum;
    }
    reduce_warp_rows(shared, n + 3, stride);
    for (int j = threadIdx.x; j <= n; j += blockDim.x) block_gradient[(long long)blockIdx.x * (n + 1) + j] = shared[j];
    if (threadIdx.x == 0) {
        block_sums[2 * blockIdx.x] = shared[n + 1];
        block_sums[2 * blockIdx.x + 1] = shared[n + 2];
    }
}

// Adds the per-block slots in block order and divides by the total weight.
// One thread per output column (n + 1 of them: gradient, then intercept);
// thread 0 also writes the cost.
template <typename T>
__global__ void finalize_binary(const double* __restrict__ block_gradient, const double* __restrict__ block_sums,
                                int blocks, int n, T* __restrict__ gradient, T* __restrict__ cost) {
    double weight = 0.0;
    for (int blk = 0; blk < blocks; ++blk) weight += block_sums[2 * blk + 1];
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j <= n) {
        double total = 0.0;
        for (int blk = 0; blk < blocks; ++blk) total += block_gradient[(long long)blk * (n + 1) + j];
        gradient[j] = (T)(total / weight);
    }
    if (j == 0) {
        double loss = 0.0;
        for (int blk = 0; blk < blocks; ++blk) loss += block_sums[2 * blk];
        cost[0] = (T)(loss / weight);
    }
}

// One fused pass of the softmax problem with CLASSES classes.
// W (CLASSES, n) is staged in shared memory; each lane keeps its columns'
// gradient accumulators for every class in registers.
//   block_gradient[block, k*(n+1) + j]  : sum of s_i r_ik x_ij   (j < n)
//   block_gradient[block, k*(n+1) + n]  : sum of s_i r_ik
//   block_sums[block, 0..2)             : sum of s_i loss_i, sum of s_i
// Dynamic shared memory: CLASSES*n doubles for W, then
// (blockDim.x / 32) * (CLASSES*(n+1) + 2) doubles for the reduction.
template <typename T, int ITEMS, int CLASSES>
__global__ void softmax_cost_gradient(const T* __restrict__ X, const long long* __restrict__ labels,
                                      const T* __restrict__ W, const T* __restrict__ b,
                                      const T* __restrict__ sample_weight, int weighted, long long m, int n,
                                      int with_gradient, double* __restrict__ block_gradient,
                                      double* __restrict__ block_sums) {
    extern __shared__ double shared[];
    double* W_shared = shared;
    double* reduction = shared + CLASSES * n;
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int width = CLASSES * (n + 1);
    const int stride = width + 2;

    for (int t = threadIdx.x; t < CLASSES * n; t += blockDim.x) W_shared[t] = (double)W[t];
    __syncthreads();

    double gradient[CLASSES][ITEMS];
    double gradient_b[CLASSES];
    double bias[CLASSES];
#pragma unroll
    for (int c = 0; c < CLASSES; ++c) {
        bias[c] = (double)b[c];
        gradient_b[c] = 0.0;
#pragma unroll
        for (int k = 0; k < ITEMS; ++k) gradient[c][k] = 0.0;
    }
    double loss_sum = 0.0, weight_sum = 0.0;

    const long long first_row = (long long)blockIdx.x * warps + warp;
    const long long row_step = (long long)gridDim.x * warps;
    for (long long i = first_row; i < m; i += row_step) {
        const T* row = X + i * n;
        double x[ITEMS];
#pragma unroll
        for (int k = 0; k < ITEMS; ++k) {
            const int j = lane + WARP_SIZE * k;
            x[k] = j < n ? (double)row[j] : 0.0;
        }
        double z[CLASSES];
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) {
            double partial = 0.0;
#pragma unroll
            for (int k = 0; k < ITEMS; ++k) {
                const int j = lane + WARP_SIZE * k;
                if (j < n) partial += x[k] * W_shared[c * n + j];
            }
            z[c] = warp_sum(partial) + bias[c];
        }
        double top = z[0];
#pragma unroll
        for (int c = 1; c < CLASSES; ++c) top = fmax(top, z[c]);
        double total = 0.0;
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) total += exp(z[c] - top);
        const double log_sum = top + log(total);
        const long long label = labels[i];
        const double s = weighted ? (double)sample_weight[i] : 1.0;
        double z_label = 0.0;
#pragma unroll
        for (int c = 0; c < CLASSES; ++c) z_label = (c == label) ? z[c] : z_label;
        loss_sum += s * (log_sum - z_label);
        weight_sum += s;
        if (with_gradient) {
#pragma unroll
            for (int c = 0; c < CLASSES; ++c) {
                const double residual = s * (exp(z[c] - log_sum) - (c == label ? 1.0 : 0.0));
                gradient_b[c] += residual;
#pragma unroll
                for (int k = 0; k < ITEMS; ++k) gradient[c][k] += residual * x[k];
            }
        }
    }

    double* mine = reduction + warp * stride;
#pragma unroll
    for (int c = 0; c < CLASSES; ++c) {
#pragma unroll
        for (int k = 0; k < ITEMS; ++k) {
            const int j = lane + WARP_SIZE * k;
            if (j < n) mine[c * (n + 1) + j] = gradient[c][k];
        }
        if (lane == 0) mine[c * (n + 1) + n] = gradient_b[c];
    }
    if (lane == 0) {
        mine[width] = loss_sum;
        mine[width + 1] = weight_sum;
    }
    reduce_warp_rows(reduction, width + 2, stride);
    for (int t = threadIdx.x; t < width; t += blockDim.x) block_gradient[(long long)blockIdx.x * width + t] = reduction[t];
    if (threadIdx.x == 0) {
        block_sums[2 * blockIdx.x] = reduction[width];
        block_sums[2 * blockIdx.x + 1] = reduction[width + 1];
    }
}

// As finalize_binary for `width` = CLASSES * (n + 1) outputs.
template <typename T>
__global__ void finalize_softmax(const double* __restrict__ block_gradient, const double* __restrict__ block_sums,
                                 int blocks, int width, T* __restrict__ gradient, T* __restrict__ cost) {
    double weight = 0.0;
    for (int blk = 0; blk < blocks; ++blk) weight += block_sums[2 * blk + 1];
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < width) {
        double total = 0.0;
        for (int blk = 0; blk < blocks; ++blk) total += block_gradient[(long long)blk * width + t];
        gradient[t] = (T)(total / weight);
    }
    if (t == 0) {
        double loss = 0.0;
        for (int blk = 0; blk < blocks; ++blk) loss += block_sums[2 * blk];
        cost[0] = (T)(loss / weight);
    }
}

// Per-row loss and residual from precomputed margins z (the two-pass cuBLAS
// variant: z = X w + b before, g = X^T r after).
template <typename T>
__global__ void logistic_rows(const T* __restrict__ z, const T* __restrict__ y, const T* __restrict__ sample_weight,
                              int weighted, long long m, T* __restrict__ loss, T* __restrict__ residual) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < m; i += (long long)gridDim.x * blockDim.x) {
        double l, r;
        logistic_loss_residual((double)z[i], (double)y[i], &l, &r);
        const double s = weighted ? (double)sample_weight[i] : 1.0;
        loss[i] = (T)(s * l);
        residual[i] = (T)(s * r);
    }
}

// sigmoid(z) elementwise; exp only ever sees -|z|.
template <typename T>
__global__ void sigmoid(const T* __restrict__ z, long long size, T* __restrict__ out) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < size; i += (long long)gridDim.x * blockDim.x) {
        const double v = (double)z[i];
        const double e = exp(-fabs(v));
        out[i] = (T)(v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e));
    }
}

// Row-wise softmax of Z (m, classes) with the max subtracted first.
template <typename T>
__global__ void softmax_rows(const T* __restrict__ Z, long long m, int classes, T* __restrict__ out) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < m; i += (long long)gridDim.x * blockDim.x) {
        const T* row = Z + i * classes;
        double top = (double)row[0];
        for (int c = 1; c < classes; ++c) top = fmax(top, (double)row[c]);
        double total = 0.0;
        for (int c = 0; c < classes; ++c) total += exp((double)row[c] - top);
        for (int c = 0; c < classes; ++c) out[i * classes + c] = (T)(exp((double)row[c] - top) / total);
    }
}
