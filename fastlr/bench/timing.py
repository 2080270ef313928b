"""Timing for the benchmarks: medians of calibrated samples, and the machine's read roof.

Nothing here knows fastlr: :func:`measure` times any zero-argument callable
(after its warm-up, which the caller does), :func:`measure_roof` reads all of
X once each way of :data:`fastlr.bench.workloads.READ_PROBES`, keeping the
best sample of each: the roof is what the machine can do.
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


def samples(thunk, policy: TimingPolicy) -> list:
    """Seconds per call of ``thunk()`` in each sample, from ``time.perf_counter``.

    Calibration first, not kept: the number of calls per sample doubles until a
    sample lasts ``policy.min_sample_seconds`` (as ``timeit``'s autorange). It
    also warms up: the first calls touch fresh memory and wake threads.
    """
    calls = 1
    while _seconds_per_call(thunk, calls) * calls < policy.min_sample_seconds:
        calls *= 2
    taken = []
    deadline = time.perf_counter() + policy.max_seconds
    while len(taken) < policy.repeat and (not taken or time.perf_counter() < deadline):
        taken.append(_seconds_per_call(thunk, calls))
    return taken


def measure(thunk, policy: TimingPolicy) -> float:
    """Median seconds per call of ``thunk()`` (see :func:`samples`): the typical time of a kernel."""
    return statistics.median(samples(thunk, policy))


def _seconds_per_call(thunk, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        thunk()
    return (time.perf_counter() - start) / calls


def measure_roof(data, policy: TimingPolicy, probes=workloads.READ_PROBES) -> dict:
    """Read the input once each way of ``probes`` (:data:`fastlr.bench.workloads.READ_PROBES`,
    or the CSR ones of :mod:`fastlr.bench.sparse_workloads`).

    Returns the fastest sample of each probe, in seconds, by probe name. The
    roof is a bound, what the machine can do, so it is the best sample, not
    the median: on a loaded machine a median roof sits below what a kernel
    timed in a quieter moment reaches. :func:`roof_gbps` turns these into GB/s.
    """
    return {name: min(samples(probe(data), policy)) for name, probe in probes.items()}


def roof_gbps(nbytes: int, *read_seconds: dict) -> float:
    """The read bandwidth of the fastest probe over every measurement given, in GB/s of 10⁹ bytes."""
    return nbytes / min(min(seconds.values()) for seconds in read_seconds) / 1e9
