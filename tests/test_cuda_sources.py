"""The CUDA sources compile with nvcc, for every template the cupy backend uses.

Runs wherever nvcc is installed (no GPU needed): the GPU itself is exercised
by the cupy cases of the kernel tests and by tests/test_cupy.py.
"""

import pathlib
import shutil
import subprocess

import pytest

SOURCE = pathlib.Path(__file__).parents[1] / "kernels" / "cuda" / "logistic.cu"
NVCC = shutil.which("nvcc")

INSTANTIATIONS = """
#include "{source}"
{binary}
{softmax}
template __global__ void finalize_binary<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void finalize_softmax<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void logistic_rows<{T}>(const {T}*, const {T}*, const {T}*, int, long long, {T}*, {T}*);
template __global__ void sigmoid<{T}>(const {T}*, long long, {T}*);
template __global__ void softmax_rows<{T}>(const {T}*, long long, int, {T}*);
"""
BINARY = (
    "template __global__ void binary_cost_gradient<{T}, {items}, {group}>(const {T}*, const {T}*, const {T}*, "
    "const {T}*, const {T}*, int, long long, int, int, double*, double*, double*, int);"
)
SOFTMAX = (
    "template __global__ void softmax_cost_gradient<{T}, {items}, {classes}>(const {T}*, const long long*, "
    "const {T}*, const {T}*, const {T}*, int, long long, int, int, double*, double*);"
)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("T", ["float", "double"])
def test_cuda_sources_compile_to_ptx(T, tmp_path):
    binary = "\n".join(BINARY.format(T=T, items=items, group=group) for items in (1, 2, 4, 8, 16, 32) for group in (1, 2, 4, 8, 16, 32))
    softmax = "\n".join(
        SOFTMAX.format(T=T, items=items, classes=classes) for items, classes in [(1, 2), (4, 10), (2, 32), (32, 2)]
    )
    unit = tmp_path / "instances.cu"
    unit.write_text(INSTANTIATIONS.format(source=SOURCE, binary=binary, softmax=softmax, T=T))
    result = subprocess.run(
        [NVCC, "--ptx", "-std=c++17", "-arch=sm_90", "-Werror", "all-warnings", str(unit), "-o", str(tmp_path / "out.ptx")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    assert "binary_cost_gradient" in ptx and "softmax_cost_gradient" in ptx


SPARSE_SOURCE = SOURCE.parent / "sparse.cu"
SPARSE_INSTANTIATIONS = """
#include "{source}"
{binary}
{softmax}
template __global__ void csr_finalize_binary<{T}>(const double*, const double*, int, int, {T}*, {T}*);
template __global__ void csr_finalize_softmax<{T}>(const double*, const double*, int, int, int, {T}*, {T}*);
"""
SPARSE_BINARY = (
    "template __global__ void csr_binary_cost_gradient<{T}, {lanes}>(const {T}*, const int*, const int*, const {T}*, "
    "const {T}*, const {T}*, const {T}*, int, long long, int, double*, double*, double*, int);"
)
SPARSE_SOFTMAX = (
    "template __global__ void csr_softmax_cost_gradient<{T}, {lanes}, {classes}>(const {T}*, const int*, const int*, "
    "const long long*, const {T}*, const {T}*, const {T}*, int, long long, int, double*, double*);"
)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("T", ["float", "double"])
def test_sparse_cuda_sources_compile_to_ptx(T, tmp_path):
    """Every lanes-per-row template the CSR companion can pick, and the softmax's range of classes."""
    lanes = (2, 4, 8, 16, 32)
    binary = "\n".join(SPARSE_BINARY.format(T=T, lanes=k) for k in lanes)
    softmax = "\n".join(SPARSE_SOFTMAX.format(T=T, lanes=k, classes=c) for k in lanes for c in (2, 3, 16))
    unit = tmp_path / "sparse_instances.cu"
    unit.write_text(SPARSE_INSTANTIATIONS.format(source=SPARSE_SOURCE, binary=binary, softmax=softmax, T=T))
    result = subprocess.run(
        [NVCC, "--ptx", "-std=c++17", "-arch=sm_90", "-Werror", "all-warnings", f"-I{SPARSE_SOURCE.parent}",
         str(unit), "-o", str(tmp_path / "out.ptx")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    assert "csr_binary_cost_gradient" in ptx and "csr_softmax_cost_gradient" in ptx and "atom.global.add.f64" in ptx
