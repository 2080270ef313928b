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
// so that nothing overflows for any finite z. The residual is formed from
// small = sigmoid(-|z|) = e / (1 + e), which is exact: (1 - y) - small for z > 0
// (-sigmoid(-z) to the last digit for y = 1, where sigmoid(z) - 1 cancels),
// small - y otherwise.
__device__ __forceinline__ void logistic_loss_residual(double z, double y, double* loss, double* residual) {
    const double e = exp(-fabs(z));
    const double small = e / (1.0 + e);
    *loss = (fmax(z, 0.0) - y * z) + log1p(e);  // exact first term, small one last
    *residual = z > 0.0 ? (1.0 - y) - small : small - y;
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
    const T small = e / (T(1) + e);
    *loss = (fmax(z, T(0)) - y * z) + log1p_t(e);
    *residual = z > T(0) ? (T(1) - y) - small : small - y;
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

// Math of the element type for the softmax: float data gets float math.
__device__ __forceinline__ float negative_infinity(float) { return -__int_as_float(0x7f800000); }
__device__ __forceinline__ double negative_infinity(double) { return -__longlong_as_double(0x7ff0000000000000LL); }

// The smallest power of two >= k (the transpose reduction needs one).
__host__ __device__ constexpr int next_power_of_two(int k) { return k <= 1 ? 1 : 2 * next_power_of_two((k + 1) / 2); }

// One fused pass of the softmax problem with CLASSES classes (at most 32).
//
// Shaped for small K: lane l owns the columns j = l + 32k (k < ITEMS) and
// keeps W[c][j] for every class c, and its gradient accumulators, in
// registers; a warp streams GROUP rows at a time with coalesced loads, each
// x_ij loaded once. The GROUP * PADDED partial dot products of a lane
// (classes padded to a power of two) are reduced over the warp together
// (warp_sum_rows), after which every lane holds one (row, class) margin: the
// classes of a row sit in a contiguous segment of lanes, so its max, its sum
// of exponentials and its log-sum-exp take log2(PADDED) shuffles each and one
// exp per lane, in parallel over the classes. The sum is formed less one
// without a subtraction (e - 1 = 0 exactly at the top, and a ballot counts the
// classes at the top), so the loss log1p(sum - 1) - (z_y - top) of a confident
// row (~ sum over k != y of e^{z_k - z_y}, 1e-20 say) keeps its digits. Each lane then has its residual
// s (p_c - [c = y]); the gradient update broadcasts them (one shuffle per row
// and class) into the lanes' column accumulators. The margins, exponentials
// and accumulation within FLUSH_GROUPS groups use T; every sum beyond that
// (per-warp slots in shared memory, the loss and weight sums) uses double.
// A label outside 0..CLASSES-1 matches no class: it is compared, never used
// as an index.
//
//   block_gradient[block, c*(n+1) + j] : sum of s_i r_ic x_ij   (j < n)
//   block_gradient[block, c*(n+1) + n] : sum of s_i r_ic
//   block_sums[block, 0..2)            : sum of s_i loss_i, sum of s_i
// Dynamic shared memory: (blockDim.x / 32) * (CLASSES*(n+1) + 2) doubles.
template <typename T, int ITEMS, int CLASSES, int GROUP>
__global__ void softmax_cost_gradient(const T* __restrict__ X, const long long* __restrict__ labels,
                                      const T* __restrict__ W, const T* __restrict__ b,
                                      const T* __restrict__ sample_weight, int weighted, long long m, int n,
                                      int with_gradient, double* __restrict__ block_gradient,
                                      double* __restrict__ block_sums) {
    constexpr int PADDED = next_power_of_two(CLASSES);
    constexpr int VALUES = GROUP * PADDED;
    static_assert(VALUES <= WARP_SIZE, "GROUP * padded classes must fit in a warp");
    constexpr int SPREAD = WARP_SIZE / VALUES;  // lanes holding each (row, class) value after the reduction
    constexpr int ROW_LANES = SPREAD * PADDED;  // lanes holding one row's classes
    constexpr int FLUSH_GROUPS = 16;

    extern __shared__ double shared[];
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int width = CLASSES * (n + 1);
    const int stride = width + 2;
    double* mine = shared + warp * stride;
    for (int t = lane; t < stride; t += WARP_SIZE) mine[t] = 0.0;
    __syncwarp();

    T w_lane[CLASSES][ITEMS];
    T accumulator[CLASSES][ITEMS];
#pragma unroll
    for (int c = 0; c < CLASSES; ++c) {
#pragma unroll
        for (int k = 0; k < ITEMS; ++k) {
            const int j = lane + WARP_SIZE * k;
            w_lane[c][k] = j < n ? W[c * n + j] : T(0);
            accumulator[c][k] = T(0);
        }
    }
    // The (row, class) this lane holds after each reduction.
    const int value = lane / SPREAD;
    const int my_row = value / PADDED;
    const int my_class = value % PADDED;
    const bool owner = lane % SPREAD == 0;
    const bool real_class = my_class < CLASSES;
    const T bias = real_class ? b[my_class] : T(0);
    double loss_sum = 0.0, weight_sum = 0.0, bias_gradient = 0.0;
    int pending = 0;

    const long long first_group = (long long)blockIdx.x * warps + warp;
    const long long group_step = (long long)gridDim.x * warps;
    for (long long group = first_group; group * GROUP < m; group += group_step) {
        const long long base = group * GROUP;
        T x[GROUP][ITEMS];
        T partial[VALUES];
#pragma unroll
        for (int r = 0; r < GROUP; ++r) {
            const bool valid_row = base + r < m;
            const T* row = X + (base + r) * n;
#pragma unroll
            for (int k = 0; k < ITEMS; ++k) {
                const int j = lane + WARP_SIZE * k;
                x[r][k] = (valid_row && j < n) ? row[j] : T(0);
            }
#pragma unroll
            for (int c = 0; c < PADDED; ++c) {
                T dot = T(0);
                if (c < CLASSES) {
#pragma unroll
                    for (int k = 0; k < ITEMS; ++k) dot += x[r][k] * w_lane[c < CLASSES ? c : 0][k];
                }
                partial[r * PADDED + c] = dot;
            }
        }
        warp_sum_rows<T, VALUES>(partial, lane);

        const long long i = base + my_row;
        const bool valid = i < m;
        const T z = real_class ? partial[0] + bias : negative_infinity(T(0));
        T top = z;
#pragma unroll
        for (int offset = SPREAD; offset < ROW_LANES; offset *= 2) top = fmax(top, __shfl_xor_sync(FULL_MASK, top, offset));
        const T e = real_class ? exp_t(z - top) : T(0);
        const bool at_top = real_class && !(z < top);  // a NaN margin counts here and stays NaN below
        T others = at_top ? e - T(1) : e;  // sum of e over the row, less the classes at the top
#pragma unroll
        for (int offset = SPREAD; offset < ROW_LANES; offset *= 2) others += __shfl_xor_sync(FULL_MASK, others, offset);
        const unsigned row_lanes_mask = ROW_LANES == WARP_SIZE ? FULL_MASK : ((1u << ROW_LANES) - 1u) << (lane / ROW_LANES * ROW_LANES);
        const int ties = __popc(__ballot_sync(FULL_MASK, at_top) & row_lanes_mask) / SPREAD;
        const T total = others + T(ties);
        others += T(ties - 1);  // sum of e^{z_k - top}, less one
        const long long label = valid ? labels[i] : -1;
        const T s = (valid && weighted) ? sample_weight[i] : T(valid ? 1 : 0);
        const bool is_label = real_class && (long long)my_class == label;
        if (owner && is_label) loss_sum += (double)s * (double)(log1p_t(others) - (z - top));
        if (owner && valid && my_class == 0) weight_sum += (double)s;
        const T residual = real_class ? s * (e / total - (is_label ? T(1) : T(0))) : T(0);
        if (owner) bias_gradient += (double)residual;
        if (with_gradient) {
#pragma unroll
            for (int r = 0; r < GROUP; ++r) {
#pragma unroll
                for (int c = 0; c < CLASSES; ++c) {
                    const T r_residual = __shfl_sync(FULL_MASK, residual, (r * PADDED + c) * SPREAD);
#pragma unroll
                    for (int k = 0; k < ITEMS; ++k) accumulator[c][k] += r_residual * x[r][k];
                }
            }
            if (++pending == FLUSH_GROUPS) {
                pending = 0;
#pragma unroll
                for (int c = 0; c < CLASSES; ++c) {
#pragma unroll
                    for (int k = 0; k < ITEMS; ++k) {
                        const int j = lane + WARP_SIZE * k;
                        if (j < n) mine[c * (n + 1) + j] += (double)accumulator[c][k];
                        accumulator[c][k] = T(0);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int c = 0; c < CLASSES; ++c) {
#pragma unroll
        for (int k = 0; k < ITEMS; ++k) {
            const int j = lane + WARP_SIZE * k;
            if (j < n) mine[c * (n + 1) + j] += (double)accumulator[c][k];
        }
    }
    // The intercept gradient: lanes that differ only in their row bits hold the same class.
    for (int offset = ROW_LANES; offset < WARP_SIZE; offset *= 2) {
        bias_gradient += __shfl_xor_sync(FULL_MASK, bias_gradient, offset);
    }
    if (lane < ROW_LANES && owner && real_class) mine[my_class * (n + 1) + n] = bias_gradient;
    for (int offset = WARP_SIZE / 2; offset > 0; offset /= 2) {
        loss_sum += __shfl_down_sync(FULL_MASK, loss_sum, offset);
        weight_sum += __shfl_down_sync(FULL_MASK, weight_sum, offset);
    }
    if (lane == 0) {
        mine[width] = loss_sum;
        mine[width + 1] = weight_sum;
    }
    reduce_warp_rows(shared, width + 2, stride);
    for (int t = threadIdx.x; t < width; t += blockDim.x) block_gradient[(long long)blockIdx.x * width + t] = shared[t];
    if (threadIdx.x == 0) {
        block_sums[2 * blockIdx.x] = shared[width];
        block_sums[2 * blockIdx.x + 1] = shared[width + 1];
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

// The epilogue of the GEMM softmax path (many classes): Z (rows, classes)
// holds one chunk's margins X_c W^T from cuBLAS. One warp per row reads its
// margins twice (they are in L2: chunks are sized for it) and overwrites them
// with the residuals s (p_c - [c = y]), which the second cuBLAS product
// R^T X_c turns into the gradient; losses[i] = s (lse - z_y), NaN for a label
// outside 0..classes-1. The log-sum-exp is the online one (a running max, the
// number of classes at it and the sum of the others' exponentials, rescaled
// when the max grows), combined over the warp in tree order; the loss is
// log1p(others + ties - 1) - (z_y - top), exact for a confident row.
template <typename T>
__global__ void softmax_residual_rows(T* __restrict__ Z, const long long* __restrict__ labels, const T* __restrict__ b,
                                      const T* __restrict__ sample_weight, int weighted, long long rows, int classes,
                                      double* __restrict__ losses) {
    const int lane = threadIdx.x % WARP_SIZE;
    const long long first = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    const long long step = (long long)gridDim.x * blockDim.x / WARP_SIZE;
    for (long long i = first; i < rows; i += step) {
        T* row = Z + i * classes;
        const long long label = labels[i];
        // sum of e^{z_c - top} = others + ties: ties classes at the top, others the rest
        double top = (double)negative_infinity(T(0)), others = 0.0, ties = 0.0, z_label = 0.0;
        for (int c = lane; c < classes; c += WARP_SIZE) {
            const double z = (double)row[c] + (double)b[c];
            if (z > top) {
                others = (others + ties) * exp(top - z);
                ties = 1.0;
                top = z;
            } else if (z == top) {
                ties += 1.0;
            } else {
                others += exp(z - top);  // a NaN margin lands here and stays
            }
            if (c == label) z_label = z;
        }
        for (int offset = WARP_SIZE / 2; offset > 0; offset /= 2) {
            const double other_top = __shfl_down_sync(FULL_MASK, top, offset);
            const double other_others = __shfl_down_sync(FULL_MASK, others, offset);
            const double other_ties = __shfl_down_sync(FULL_MASK, ties, offset);
            const double new_top = fmax(top, other_top);
            // a side below the new top has all its classes below it; a lane without
            // classes (top -inf, nothing counted) adds nothing either way
            if (top < new_top) {
                others = (others + ties) * exp(top - new_top);
                ties = 0.0;
            }
            if (other_top < new_top) {
                others += (other_others + other_ties) * exp(other_top - new_top);
            } else {
                others += other_others;
                ties += other_ties;
            }
            top = new_top;
            z_label += __shfl_down_sync(FULL_MASK, z_label, offset);
        }
        const double log1p_others = log1p(others + (ties - 1.0));  // log of the sum of e^{z_c - top}
        const double log_sum = __shfl_sync(FULL_MASK, top + log1p_others, 0);
        const double s = weighted ? (double)sample_weight[i] : 1.0;
        if (lane == 0) losses[i] = (0 <= label && label < classes) ? s * (log1p_others - (z_label - top)) : nan("");
        for (int c = lane; c < classes; c += WARP_SIZE) {
            const double z = (double)row[c] + (double)b[c];
            row[c] = (T)(s * (exp(z - log_sum) - (c == label ? 1.0 : 0.0)));
        }
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
