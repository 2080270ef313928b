#!/usr/bin/env bash
# One GPU session, prepared to run unattended on a machine with a CUDA device
# and no network (the image's python3 holds CuPy, PyTorch and scikit-learn):
#   1. install this checkout into that python3 (no dependencies fetched),
#   2. the GPU tests (every test parametrized on the cupy backend),
#   3. the device race (python -m fastlr.bench.gpu --race) and the kernel sweep.
# Records go to $OUT (the device tool's output folder), else benchmarks/results:
# gpu_tests.log, gpu_race_<device>.json, gpu_race.log, gpu_<device>.json.
#   bash benchmarks/gpu_session.sh [--quick]
set -uo pipefail
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export SCIPY_ARRAY_API=1  # scikit-learn's array-API peer needs it before SciPy is imported
PYTHON=${PYTHON:-python3}
QUICK=${1:-}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu_nvidia_smi.txt"
"$PYTHON" -m pip install --no-deps --no-build-isolation -q -e . || exit 1
"$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests 2>&1 | tee "$OUT/gpu_tests.log"
"$PYTHON" -m fastlr.bench.gpu --race $QUICK --output "$OUT" 2>&1 | tee "$OUT/gpu_race.log"
if [ -z "$QUICK" ]; then
  "$PYTHON" -m fastlr.bench.gpu --m 10000000 --n 100 --dtype float32 --repeats 10 --fit-m 10000000 \
    --output "$OUT" 2>&1 | tee "$OUT/gpu_sweep.log"
fi
