"""Timing and reporting helpers shared by the benchmark scripts."""

import platform
import time

import numpy as np


def best_time(fn, repeat=3, number=1):
    """Best wall time of ``repeat`` runs of ``number`` calls of ``fn``, in seconds per call."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def machine():
    """One line describing the machine the numbers come from."""
    import os

    import numba

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")


def markdown_table(header, rows):
    """Format rows (sequences of str/float) as a GitHub markdown table."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
