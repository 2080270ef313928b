"""Timing for the benchmarks: medians of calibrated samples, and the machine's read roof.

Nothing here knows fastlr: :func:`measure` times any zero-argument callable
(after its warm-up, which the caller does), :func:`measure_roof` reads all of
X once each way of :data:`fastlr.bench.workloads.READ_PROBES`.
"""

import statistics
import time
from dataclasses import dataclass

from fastlr.bench import workloads


@dataclass(frozen=True)
class TimingPolicy:
    """How long to measure one case.

    repeat : samples kept (at most); the reported time is their median
    min_sample_seconds : a sample repeats the call until it lasts this long, so
        that timer resolution and call overhead do not dominate small m
    max_seconds : stop taking samples after this long (one sample at least)
    """

    repeat: int
    min_sample_seconds: float
    max_seconds: float


FULL_POLICY = TimingPolicy(repeat=7, min_sample_seconds=0.05, max_seconds=30.0)
QUICK_POLICY = TimingPolicy(repeat=3, min_sample_seconds=0.002, max_seconds=1.0)


def timing_policy(quick: bool) -> TimingPolicy:
    return QUICK_POLICY if quick else FULL_POLICY


def measure(thunk, policy: TimingPolicy) -> float:
    """Median seconds per call of ``thunk()``, from ``time.perf_counter``.

    Calibration first, not kept: the number of calls per sample doubles until a
    sample lasts ``policy.min_sample_seconds`` (as ``timeit``'s autorange). It
    also warms up: the first calls touch fresh memory and wake threads.
    """
    calls = 1
    while _seconds_per_call(thunk, calls) * calls < policy.min_sample_seconds:
        calls *= 2
    samples = []
    deadline = time.perf_counter() + policy.max_seconds
    while len(samples) < policy.repeat and (not samples or time.perf_counter() < deadline):
        samples.append(_seconds_per_call(thunk, calls))
    return statistics.median(samples)


def _seconds_per_call(thunk, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        thunk()
    return (time.perf_counter() - start) / calls


def measure_roof(data, policy: TimingPolicy, probes=workloads.READ_PROBES) -> tuple:
    """Read the input once each way of ``probes`` (:data:`fastlr.bench.workloads.READ_PROBES`,
    or the CSR ones of :mod:`fastlr.bench.sparse_workloads`).

    Returns (seconds by probe name, roof): the roof is the best of them in GB/s,
    data.nbytes / min(seconds) / 1e9.
    """
    seconds = {name: measure(probe(data), policy) for name, probe in probes.items()}
    return seconds, data.nbytes / min(seconds.values()) / 1e9
