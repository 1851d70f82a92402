"""Run every benchmark and write benchmarks/RESULTS.md.

``python benchmarks/run.py`` runs the full benchmarks (several minutes on 2
cores) and writes ``benchmarks/RESULTS.md`` and the plots
``figures/bench_*.png``; ``--quick`` runs tiny versions (a CI smoke test that
the code still runs, well under a minute; no speed is judged, RESULTS.md and
the figures are not written).  ``--only NAME ...`` runs some modules (and does
not write RESULTS.md).

Each module in ``BENCHMARKS`` exposes ``main(quick=False, out=sys.stdout)``,
prints a markdown section to ``out`` and returns ``{"title", "table"}``;
``bench_regions`` (its own ``main(argv)`` and plain-text output) is wrapped by
:func:`_run_regions` without changing what it measures.

* ``bench_accuracy_1d``: accuracy-matched comparison, 1-D latent (quad, dense
  grid, Monte Carlo; small noise and far tails).
* ``bench_throughput``: terms/s on the 1-D and 2-D target workloads beside a
  special-function roofline.
* ``bench_scaling``: logpdf time vs points, regions, components, observed dimension.
* ``bench_population_nll``: population NLL per surface point and the Figure 1 slices.
* ``bench_regions``: 2-D region enumeration vs network size.
* ``bench_polygon_mass``: Gaussian polygon mass vs SciPy and Owen's T.

``bench_logpdf_1d`` (the first 1-D throughput benchmark, with the older 4e7
terms/s target) is superseded by ``bench_throughput`` and ``bench_accuracy_1d``
on the same workload; it still runs with ``--only bench_logpdf_1d``.
"""

import argparse
import contextlib
import datetime
import importlib
import inspect
import io
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import load_average, machine, markdown_table  # noqa: E402

BENCHMARKS = [
    "bench_accuracy_1d",
    "bench_throughput",
    "bench_2d",
    "bench_scaling",
    "bench_population_nll",
    "bench_regions",
    "bench_polygon_mass",
]


def _run_regions(module, quick, out):
    """``bench_regions.main(argv)`` in the ``main(quick, out)`` convention: its rows as a table."""
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        rows, headline = module.main(["--quick"] if quick else [])
    table_rows = []
    for row in rows + [headline]:
        workload = f"network {row['sizes']} (rng=0)" + (" (headline)" if row is headline else "")
        table_rows.append((workload, "pwaffine polygon_regions (float64, exact, unbounded regions)",
                           f"{row['n_regions']} regions (exact enumeration)",
                           f"{row['best_ms']:.2f} ms best / {row['median_ms']:.2f} ms median", "1x"))
        if "rc_regions" in row:
            table_rows.append((workload, "regioncam (float32, bounded box)",
                               f"{row['rc_regions']} regions", f"{row['rc_best_ms']:.2f} ms best",
                               f"{row['rc_best_ms'] / row['best_ms']:.2g}x"))
    header = ("workload", "method", "accuracy", "time", "ratio to pwaffine")
    table = markdown_table(header, table_rows)
    print("\n## Affine regions of networks with a 2-D input (bench_regions.py)\n", file=out)
    target = module.TARGET_MS
    if quick:
        verdict = "quick run: not judged"
    else:
        verdict = "met" if headline["best_ms"] < target else "NOT met"
    print(f"Target: {'-'.join(map(str, module.HEADLINE_SIZES))} in < {target:g} ms ({verdict}). "
          "Output of the script:\n", file=out)
    print("```\n" + log.getvalue().strip() + "\n```\n", file=out)
    print(table, file=out)
    if "rc_regions" not in headline:
        print("\nNo baseline in this run: the optional `regioncam` package is not installed.",
              file=out)
    return {"title": "Affine regions, 2-D input", "table": table}


_ADAPTERS = {"bench_regions": _run_regions}


def run_benchmark(name, quick, out):
    """Import benchmark module ``name`` and run it in the ``main(quick, out)`` convention."""
    module = importlib.import_module(name)
    if name in _ADAPTERS:
        return _ADAPTERS[name](module, quick, out)
    if "quick" not in inspect.signature(module.main).parameters:
        raise TypeError(f"{name}.main must take (quick=False, out=sys.stdout)")
    return module.main(quick=quick, out=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="run only these benchmark modules")
    args = parser.parse_args(argv)
    names = args.only or BENCHMARKS
    report = io.StringIO()
    load_start = load_average()
    t_start = time.perf_counter()
    for name in names:
        buffer = io.StringIO()
        t0 = time.perf_counter()
        run_benchmark(name, args.quick, buffer)
        print(buffer.getvalue())
        print(f"[{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
        report.write(buffer.getvalue() + "\n")
    elapsed = time.perf_counter() - t_start
    load_end = load_average()
    print(f"[all: {elapsed:.1f} s]", file=sys.stderr)
    if not args.quick and not args.only:
        stamp = datetime.date.today().isoformat()
        text = (f"# pwaffine benchmark results\n\nGenerated by `make bench` on {stamp} in "
                f"{elapsed / 60:.1f} min; {machine()}.\n"
                f"1-minute load average {load_start:.2f} at the start, {load_end:.2f} at the end "
                "(on a shared machine, a load near or above the core count makes every time "
                "pessimistic, pwaffine's multi-threaded ones most).\n"
                "Every baseline is timed in the same run as pwaffine; the JIT is warmed up "
                "first; times are the best of repeats.\n"
                + report.getvalue())
        (HERE / "RESULTS.md").write_text(text)
        print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
