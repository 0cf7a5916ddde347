"""Small shared timing helpers: median of N runs, ratio lines.

Benchmarks print ratios against a baseline measured in the same run; timings are
never asserted anywhere.
"""

import statistics
import time


def median_seconds(fn, repeat=5, warmup=1):
    """Median wall time in seconds of ``fn()`` over ``repeat`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratio_line(name, seconds, baseline_name, baseline_seconds, width=44):
    """One aligned line: ``name  12.3 ms  1.42x baseline_name``."""
    return (
        f"{name:<{width}} {seconds * 1e3:9.2f} ms  "
        f"{seconds / baseline_seconds:6.2f}x {baseline_name}"
    )


def print_ratio(name, seconds, baseline_name, baseline_seconds, width=44):
    print(ratio_line(name, seconds, baseline_name, baseline_seconds, width), flush=True)


def interleaved_times(fns, repeat=5, warmup=1):
    """``{name: [seconds, ...]}`` timing every ``fns[name]()`` in turn, ``repeat`` rounds.

    Round-robin rather than one path after the other, so that load from other
    processes on a shared machine falls on every path alike; the order is rotated
    every round, so that no path always runs right after the same other one (whose
    caches and freed memory it would inherit).
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names = list(fns)
    times = {name: [] for name in names}
    for r in range(repeat):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_medians(fns, repeat=5, warmup=1):
    """``{name: median seconds}`` of ``interleaved_times``."""
    return {name: statistics.median(ts) for name, ts in interleaved_times(fns, repeat, warmup).items()}
