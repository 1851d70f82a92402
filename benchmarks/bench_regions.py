"""Benchmark: exact affine regions of networks with a 2-D input, versus network size.

Times :func:`pwaffine.polygons.polygon_regions` (float64, exact, unbounded
regions included) on random networks ``ReLUNetwork.random([2, w, ..., w, 5])``
for a grid of widths and depths, after warming the JIT, and prints the
2-32-32-5 case beside its 30 ms target.  If the optional ``regioncam`` package
is importable (it is not a pwaffine dependency), its enumeration of the same
networks is timed alongside; note that it works in float32 and only inside a
bounded box, here ``[-s, s]^2`` with ``s`` 1.5 times the largest vertex
coordinate found by pwaffine, so that it sees every region.

Usage::

    python benchmarks/bench_regions.py            # full grid
    python benchmarks/bench_regions.py --quick    # CI smoke run
"""

import argparse
import time

import numpy as np

from pwaffine import ReLUNetwork
from pwaffine.model.polygons import polygon_regions

#: The headline case and its target time.
HEADLINE_SIZES = (2, 32, 32, 5)
TARGET_MS = 30.0


def time_ms(fn, repeat):
    """Best and median wall time of ``fn()`` over ``repeat`` calls, in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return min(times), float(np.median(times))


def import_regioncam():
    try:
        import regioncam
    except ImportError:
        return None
    return regioncam


def regioncam_enumerate(regioncam, network, size):
    """Regions of ``network`` inside ``[-size, size]^2`` with regioncam (float32)."""
    rc = regioncam.Regioncam(size=size)
    for layer, (W, b) in enumerate(zip(network.weights, network.biases)):
        # regioncam takes (in_features, out_features) float32 matrices.
        rc.linear(np.ascontiguousarray(W.T, dtype=np.float32), b.astype(np.float32))
        if layer < network.n_layers - 1:
            rc.relu()
    return rc.num_faces


def bench_one(sizes, seed, repeat, regioncam):
    network = ReLUNetwork.random(list(sizes), rng=seed)
    regions = polygon_regions(network)
    best, median = time_ms(lambda: polygon_regions(network), repeat)
    row = {"sizes": "-".join(map(str, sizes)), "n_regions": regions.n_regions,
           "best_ms": best, "median_ms": median}
    if regioncam is not None:
        size = 1.5 * max(1.0, float(np.abs(regions.points).max()))
        row["rc_regions"] = regioncam_enumerate(regioncam, network, size)
        row["rc_best_ms"], _ = time_ms(
            lambda: regioncam_enumerate(regioncam, network, size), repeat)
    return row


def print_rows(rows):
    header = f"{'network':>16} {'regions':>8} {'best ms':>9} {'median ms':>10}"
    if "rc_regions" in rows[0]:
        header += f" {'regioncam regions':>18} {'regioncam best ms':>18}"
    print(header)
    for row in rows:
        line = (f"{row['sizes']:>16} {row['n_regions']:>8d} {row['best_ms']:>9.2f} "
                f"{row['median_ms']:>10.2f}")
        if "rc_regions" in row:
            line += f" {row['rc_regions']:>18d} {row['rc_best_ms']:>18.2f}"
        print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny grid, few repeats (CI smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help="timed calls per network")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random networks")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 20)
    widths = (8, 16) if args.quick else (8, 16, 32, 64)
    depths = (1, 2) if args.quick else (1, 2, 3)

    regioncam = import_regioncam()
    # Warm up: load (or compile) the numba kernels.
    start = time.perf_counter()
    polygon_regions(ReLUNetwork.random([2, 4, 4, 1], rng=0))
    print(f"JIT warm-up (compile or cache load): {time.perf_counter() - start:.2f} s")
    if regioncam is None:
        print("regioncam not importable: timing pwaffine only")
    else:
        print("regioncam: float32, regions inside a box [-s, s]^2 holding every vertex")

    rows = [bench_one((2, *([w] * depth), 5), args.seed, repeat, regioncam)
            for depth in depths for w in widths]
    print_rows(rows)

    headline = bench_one(HEADLINE_SIZES, args.seed, repeat, regioncam)
    verdict = "meets" if headline["best_ms"] < TARGET_MS else "MISSES"
    print(f"\n{headline['sizes']} (rng={args.seed}): {headline['n_regions']} regions in "
          f"{headline['best_ms']:.2f} ms best / {headline['median_ms']:.2f} ms median "
          f"-> {verdict} the {TARGET_MS:.0f} ms target")
    if "rc_regions" in headline:
        print(f"regioncam (float32, bounded): {headline['rc_regions']} regions in "
              f"{headline['rc_best_ms']:.2f} ms best")
    return rows, headline


if __name__ == "__main__":
    main()
