"""The CUDA sources compile with nvcc, for every template instance the cupy backend can launch.

Runs wherever nvcc is installed (no GPU needed): the GPU itself is exercised
by the cupy cases of the kernel tests and by tests/test_cupy.py. The
instances come from :mod:`fastlr.kernels.cuda_shapes`, the module that
chooses them at run time, so a new shape cannot go uncompiled here.
"""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from fastlr.kernels import cuda_shapes

SOURCE = pathlib.Path(__file__).parents[1] / "kernels" / "cuda" / "logistic.cu"
NVCC = shutil.which("nvcc")
ITEMSIZE = {"float": 4, "double": 8}

INSTANTIATIONS = """
#include "{source}"
{binary}
{softmax}
template __global__ void finalize_binary<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void finalize_softmax<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void softmax_residual_rows<{T}>({T}*, const long long*, const {T}*, const {T}*, int, long long,
                                                    int, double*);
template __global__ void logistic_rows<{T}>(const {T}*, const {T}*, const {T}*, int, long long, {T}*, {T}*);
template __global__ void sigmoid<{T}>(const {T}*, long long, {T}*);
template __global__ void softmax_rows<{T}>(const {T}*, long long, int, {T}*);
"""
BINARY = (
    "template __global__ void binary_cost_gradient<{T}, {items}, {group}>(const {T}*, const {T}*, const {T}*, "
    "const {T}*, const {T}*, int, long long, int, int, double*, double*, double*, int);"
)
SOFTMAX = (
    "template __global__ void softmax_cost_gradient<{T}, {items}, {classes}, {group}>(const {T}*, const long long*, "
    "const {T}*, const {T}*, const {T}*, int, long long, int, int, double*, double*);"
)
GROUPS = (1, 2, 4, 8, 16, 32)


def _compile(unit, tmp_path):
    result = subprocess.run(
        [NVCC, "--ptx", "-std=c++17", "-arch=sm_90", "-Werror", "all-warnings", str(unit), "-o", str(tmp_path / "out.ptx")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "out.ptx").read_text()


#: Class counts with and without padding (3 → 4, 10 → 16), the smallest and the
#: largest. Every instance (``FASTLR_ALL_CUDA_INSTANCES=1``: 159 softmax and 72
#: binary ones, whose loops unroll fully) takes nvcc about 3 min on 2 cores, too
#: slow for CI.
REPRESENTATIVE_CLASSES = (2, 3, 10, 32)


def _representative(instances):
    """Per class count above, the instances with the fewest and the most columns per lane."""
    chosen = []
    for classes in REPRESENTATIVE_CLASSES:
        shapes = [shape for shape in instances if shape[1] == classes]
        chosen += sorted({min(shapes), max(shapes)}) if shapes else []
    return chosen


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("T", ["float", "double"])
def test_cuda_sources_compile_to_ptx(T, tmp_path):
    """The binary instances of the default configuration, and fused softmax instances with
    and without padded classes, at both ends of the widths."""
    itemsize = ITEMSIZE[T]
    ptx = _compile_instances(
        T, cuda_shapes.binary_instances(itemsize), _representative(cuda_shapes.softmax_instances(itemsize)), tmp_path
    )
    assert "binary_cost_gradient" in ptx and "softmax_cost_gradient" in ptx and "softmax_residual_rows" in ptx


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.skipif(not os.environ.get("FASTLR_ALL_CUDA_INSTANCES"), reason="set FASTLR_ALL_CUDA_INSTANCES=1 (minutes)")
@pytest.mark.parametrize("T", ["float", "double"])
def test_every_instance_compiles(T, tmp_path):
    """Every softmax instance, and every binary one for any ``CUDA_ROW_GROUP_BYTES``."""
    binary = [(cuda_shapes.items_per_lane(32 * 2**k), group) for k in range(6) for group in GROUPS]
    _compile_instances(T, binary, cuda_shapes.softmax_instances(ITEMSIZE[T]), tmp_path)


def _compile_instances(T, binary_instances, softmax_instances, tmp_path):
    binary = "\n".join(BINARY.format(T=T, items=items, group=group) for items, group in binary_instances)
    softmax = "\n".join(SOFTMAX.format(T=T, items=i, classes=k, group=g) for i, k, g in softmax_instances)
    unit = tmp_path / "instances.cu"
    unit.write_text(INSTANTIATIONS.format(source=SOURCE, binary=binary, softmax=softmax, T=T))
    return _compile(unit, tmp_path)


def test_softmax_instances_cover_the_regimes_of_the_issue():
    """K ≤ 32 at the widths of small problems take the fused kernel, K = 10, n = 100 among
    them; wide W and K > 32 take the GEMM path (no fused instance)."""
    for itemsize in ITEMSIZE.values():
        assert cuda_shapes.softmax_shape(100, 10, itemsize) is not None
        assert cuda_shapes.softmax_shape(2048, 1000, itemsize) is None
        assert cuda_shapes.softmax_shape(100, 33, itemsize) is None
        for items, classes, group in cuda_shapes.softmax_instances(itemsize):
            assert group * cuda_shapes.next_power_of_two(classes) <= cuda_shapes.WARP_SIZE
            assert classes * items * itemsize <= cuda_shapes.SOFTMAX_REGISTER_BYTES


SPARSE_SOURCE = SOURCE.parent / "sparse.cu"
SPARSE_INSTANTIATIONS = """
#include "{source}"
{instances}
template __global__ void csr_finalize_binary<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void csr_finalize_softmax<{T}>(const double*, const double*, int, int, int, {T}*, {T}*);
"""
SPARSE_BINARY = (
    "template __global__ void csr_binary_rows<{T}, {lanes}>(const {T}*, const int*, const int*, const {T}*, "
    "const {T}*, const {T}*, const {T}*, int, long long, int, double*, double*, double*, int);"
)
SPARSE_SOFTMAX = (
    "template __global__ void csr_softmax_rows<{T}, {lanes}, {classes}>(const {T}*, const int*, const int*, "
    "const long long*, const {T}*, const {T}*, const {T}*, int, long long, int, double*, double*);"
)
SPARSE_PRODUCT = (
    "template __global__ void csr_rows_times_dense<{T}, {lanes}, {classes}>(const {T}*, const int*, const int*, "
    "long long, const double*, int, int, double*);"
)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("T", ["float", "double"])
def test_sparse_cuda_sources_compile_to_ptx_without_atomics(T, tmp_path):
    """Every lanes-per-row template the CSR companion can pick, the softmax's range of classes
    and the product's column counts; no atomic addition anywhere (the CSR passes are deterministic)."""
    lanes = (2, 4, 8, 16, 32)
    instances = [SPARSE_BINARY.format(T=T, lanes=k) for k in lanes]
    instances += [SPARSE_SOFTMAX.format(T=T, lanes=k, classes=c) for k in lanes for c in (2, 3, 16)]
    instances += [SPARSE_PRODUCT.format(T=T, lanes=k, classes=c) for k in lanes for c in (1, 3, 16)]
    unit = tmp_path / "sparse_instances.cu"
    unit.write_text(SPARSE_INSTANTIATIONS.format(source=SPARSE_SOURCE, instances="\n".join(instances), T=T))
    result = subprocess.run(
        [NVCC, "--ptx", "-std=c++17", "-arch=sm_90", "-Werror", "all-warnings", f"-I{SPARSE_SOURCE.parent}",
         str(unit), "-o", str(tmp_path / "out.ptx")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    assert all(name in ptx for name in ("csr_binary_rows", "csr_softmax_rows", "csr_rows_times_dense"))
    assert re.search(r"^\s*(atom|red)\.", ptx, re.MULTILINE) is None
