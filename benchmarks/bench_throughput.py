"""logpdf throughput on the issue's target workloads, beside a special-function roofline.

1-D target (issue): a random ``1-16-16-2`` ReLU network (``rng=0``, about 30
regions), J = 3, n = 2, 2e5 points drawn from the model, at noise_std 0.01,
0.1 and 1 (the number of terms that survive skipping grows with the noise).
Throughput counts region-component terms, points x regions x components per
second, whether a term is evaluated or skipped by its bound.

Roofline, in the same run and over the same number of terms: a numba loop
(``cache=True``, parallel over the same threads) doing only the special-function
work one term needs, ``exp(g + pwaffine._kernels.special.log_interval_mass(a, b))`` (an
``erfcx``/``erf`` evaluation, a log and an exp), on the standardised interval
ends ``(a, b)`` and Gaussian parts ``g`` of terms pwaffine actually evaluates on
this workload (reconstructed in numpy from the model's precomputed tables).
pwaffine's terms/s is reported as a fraction of the loop's; because skipped
terms cost no special functions, the fraction can exceed 1, so the fraction
per evaluated term is given too (the evaluated share is bracketed between two
bounds: terms within the skip margin of the final and of the first largest
term).

Baseline: the textbook closed form (``pwaffine._reference.logpdf_closed_form``:
scipy's ``multivariate_normal`` and ``log_ndtr``, every term), timed on a
subset and scaled per point.  Accuracy: max |log p error| against the 40-digit
closed form (``logpdf_mpmath``) on a subset.

2-D latents are benchmarked in ``bench_2d.py``.

Target (reported, never asserted): 1-D >= 1e8 terms/s.
"""

import argparse
import math
import sys

import numba
import numpy as np

from _common import (fmt_error, fmt_ratio, fmt_time, markdown_table, mpmath_reference,
                     n_terms, target_model_1d, timed)

from pwaffine._kernels import special as _special
from pwaffine.model import density_intervals
from pwaffine._reference import logpdf_closed_form

TARGET_1D = 1e8
#: Representative (a, b, g) triples cycled through by the roofline loop (a power of 2).
N_ARGS = 1 << 16


# --------------------------------------------------------------------------
# Roofline: the special-function work of one term, nothing else
# --------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def special_function_loop(a, b, g, n_terms, partial):
    """``sum_i exp(g[k] + log_interval_mass(a[k], b[k]))``, ``k = i mod len(a)``, ``i < n_terms``.

    Split into ``len(partial)`` parallel chunks; each writes its partial sum
    (so the work cannot be optimised away).
    """
    mask = a.shape[0] - 1
    n_chunks = partial.shape[0]
    per = (n_terms + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        acc = 0.0
        for i in range(c * per, min(n_terms, (c + 1) * per)):
            k = i & mask
            acc += math.exp(g[k] + _special.log_interval_mass(a[k], b[k]))
        partial[c] = acc


def term_arguments(model, X):
    """Every term's Gaussian part, standardised interval ends and bound, as pwaffine's kernel forms them.

    Returns ``(gauss, a, b, bound, log_skip)`` with arrays of shape
    ``(n_points, n_regions * n_components)``; see
    :mod:`pwaffine._kernels.intervals` for the notation.
    """
    t = density_intervals.build_tables(model.network.affine_regions(), model.prior,
                                      model.noise_vector)
    Xw = X * t.inv_noise
    r = Xw[:, None, :] - t.offset[None]  # (N, K, n)
    w = np.einsum("nkt,kt->nk", r, t.unit)
    d = np.einsum("nkt,nkt->nk", r - w[..., None] * t.unit[None], r - w[..., None] * t.unit[None])
    q = (w[..., None] - t.slope_mean[None]) * t.inv_sd[None]
    gauss = t.log_coef[None] - 0.5 * (d[..., None] + q * q)
    shift = t.std_slope[None] * w[..., None]
    a = t.lo_std[None] - shift
    b = t.hi_std[None] - shift
    bound = gauss - np.where(a > 0, 0.5 * a * a + np.log(2.0),
                             np.where(b < 0, 0.5 * b * b + np.log(2.0), 0.0))
    N = X.shape[0]
    return (gauss.reshape(N, -1), a.reshape(N, -1), b.reshape(N, -1), bound.reshape(N, -1),
            t.log_skip, t.log_const)


def evaluated_terms(model, X, rng):
    """Evaluated-term share (two bounds), and ``N_ARGS`` representative ``(a, b, g)`` of evaluated terms.

    Also returns the largest |log p| difference between this numpy
    reconstruction and ``model.logpdf`` (a check that the arguments are the
    kernel's).
    """
    gauss, a, b, bound, log_skip, log_const = term_arguments(model, X)
    mass = np.empty(a.size)
    _special.log_interval_mass_array(a.ravel().copy(), b.ravel().copy(), mass)
    term = gauss + mass.reshape(a.shape)
    top = term.max(axis=1, keepdims=True)
    first = np.take_along_axis(term, bound.argmax(axis=1)[:, None], axis=1)
    surely = bound >= top - log_skip      # evaluated whatever the order
    maybe = bound >= first - log_skip     # evaluated at most these
    check = np.abs(log_const + top[:, 0] + np.log(np.exp(term - top).sum(axis=1))
                   - model.logpdf(X)).max()
    pick = rng.choice(np.flatnonzero(surely.ravel()), N_ARGS)
    args = tuple(np.ascontiguousarray(v.ravel()[pick]) for v in (a, b, term - top))
    return float(surely.mean()), float(maybe.mean()), args, float(check)


def roofline_rate(args, count, repeat):
    """Terms per second of :func:`special_function_loop` over ``count`` terms."""
    partial = np.empty(4 * numba.get_num_threads())
    special_function_loop(*args, 1000, partial)  # compile or load the cache
    _, seconds = timed(lambda: special_function_loop(*args, count, partial), repeat)
    return count / seconds, seconds


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------
def bench_1d(noise, sizes, rng):
    model = target_model_1d(noise)
    X = model.sample(sizes["points"], rng=1)
    model.logpdf(X[:10])
    model.logpdf(X[:5000])  # serial and parallel kernels loaded before timing
    count = n_terms(model, len(X))
    _, t_ours = timed(lambda: model.logpdf(X), sizes["repeat"])
    rate = count / t_ours
    X_sub = X[:sizes["ref"]]
    ref = mpmath_reference(model, X_sub)
    err_ours = f"{fmt_error(model.logpdf(X_sub), ref)} vs mpmath ({len(X_sub)} points)"

    lo, hi, args, check = evaluated_terms(model, X[:sizes["args"]], rng)
    roof, t_roof = roofline_rate(args, count, sizes["repeat"])
    rate_eval = (lo * count / t_ours, hi * count / t_ours)

    X_tb = X[:sizes["textbook"]]
    values, t_tb = timed(lambda: logpdf_closed_form(model, X_tb), 1)
    t_tb *= len(X) / len(X_tb)

    workload = (f"1-16-16-2 ({model.network.affine_regions().n_regions} regions), J=3, n=2, "
                f"noise {noise:g}, {len(X)} points")
    met = "" if sizes["quick"] else ("met" if rate >= TARGET_1D else "NOT met")
    rows = [
        (workload, "pwaffine logpdf", err_ours, fmt_time(t_ours), f"{rate:.3g}", "1x",
         f"{rate / roof:.2f} (per evaluated term: {rate_eval[0] / roof:.2f}-{rate_eval[1] / roof:.2f};"
         f" {100 * lo:.1f}-{100 * hi:.1f}% of terms evaluated)", met),
        (workload, "roofline: exp + log_interval_mass per term (numba loop)", "- (no density)",
         fmt_time(t_roof), f"{roof:.3g}", fmt_ratio(t_roof / t_ours), "1", ""),
        (workload, f"textbook closed form, scipy (timed on {len(X_tb)} points, scaled)",
         f"{fmt_error(values[:len(X_sub)], ref)} vs mpmath", fmt_time(t_tb), f"{count / t_tb:.3g}",
         fmt_ratio(t_tb / t_ours), "", ""),
    ]
    return rows, {"noise": noise, "rate": rate, "roof": roof, "check": check, "share": (lo, hi)}


def main(quick=False, out=sys.stdout):
    sizes = {"quick": quick, "points": 5000 if quick else 200_000, "repeat": 1 if quick else 3,
             "ref": 2 if quick else 8, "args": 500 if quick else 4000,
             "textbook": 500 if quick else 4000,
             "points_2d": 300 if quick else 8192, "repeat_2d": 1 if quick else 2,
             "textbook_2d": 3 if quick else 20, "slices": 0 if quick else 1}
    noises = (0.1,) if quick else (0.01, 0.1, 1.0)
    rng = np.random.default_rng(0)
    rows, notes = [], []
    for noise in noises:
        r, info = bench_1d(noise, sizes, rng)
        rows += r
        notes.append(info)
    header = ("workload", "method", "max abs log error (reference)", "time", "terms/s",
              "ratio to pwaffine", "fraction of roofline", "target")
    table = markdown_table(header, rows)
    print("\n## logpdf throughput: target workloads and special-function roofline\n", file=out)
    print(f"Terms = points x regions x components (evaluated or skipped). Targets (reported, not "
          f"asserted): 1-D >= {TARGET_1D:.0e} terms/s (2-D: bench_2d.py). 1-D accuracy is against the 40-digit closed form "
          f"on {sizes['ref']} points. Threads: {numba.get_num_threads()} (pwaffine and the roofline); "
          "scipy baselines run on one.\n", file=out)
    if quick:
        print("Quick run: tiny sizes, nothing is judged.\n", file=out)
    print(table, file=out)
    worst = max(n["check"] for n in notes)
    print(f"\nThe roofline's arguments are reconstructed in numpy from the model's tables; "
          f"that reconstruction reproduces logpdf to {worst:.1e}.\n", file=out)
    for n in notes:
        share = n["share"][1]
        print(f"- 1-D, noise {n['noise']:g}: {100 * share:.1f}% of terms evaluated; if every "
              f"evaluated term cost what the roofline loop spends on one, the ceiling would be "
              f"{n['roof'] / share:.3g} terms/s (measured {n['rate']:.3g}).", file=out)
    return {"title": "logpdf throughput and roofline", "table": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    main(parser.parse_args().quick)
