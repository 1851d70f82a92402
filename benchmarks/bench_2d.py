"""2-D latents: logpdf throughput and where each term's time goes, the gradient's cost, the population NLL.

Workload (the 2-D issue's): ``ReLUNetwork.random([2, 8, 8, 3], rng=0)``, J = 3,
n = 3, 50,000 points drawn from the model, at noise 0.01, 0.1, 0.2 (the
target's) and 1; every thread.  Throughput counts region-component terms,
points x regions x components per second, whether a term is evaluated or
skipped.  Baseline in the same run: the textbook closed form
(``pwaffine._reference.logpdf_closed_form``: every term, scipy's
``multivariate_normal`` and the polygon mass), timed on a subset and scaled.

Where the time goes: on a subset of points, every term is classified as the
kernel treats it (skipped by its first bound, skipped by the distance bound,
loose polygon mass, full polygon mass, whole-plane region); the polygon masses
of each class are then timed alone on one thread, so the table shows how many
terms of each kind a point has and what each costs.

Gradient: ``logpdf_grad`` against ``logpdf`` on the same 5,000 points (target:
at most 4x).  Population NLL: ``PopulationNLL`` of a ``2-8-8-2`` network
(noise 0.2), the truth against itself and against a perturbed model.
"""

import math
import sys
import time

import numba
import numpy as np

from _common import markdown_table, timed

from pwaffine import GaussianMixture, PopulationNLL, PushforwardModel, ReLUNetwork
from pwaffine._kernels import polygons as kp
from pwaffine._kernels.polygon_mass import log_std_polygon_mass_many, polygon_distance_sq
from pwaffine._reference import logpdf_closed_form

TARGET = 2e7
GRADIENT_TARGET = 4.0


def model_2d(noise_std, n_outputs=3):
    network = ReLUNetwork.random([2, 8, 8, n_outputs], rng=0)
    prior = GaussianMixture([0.3, 0.5, 0.2], [[-1.0, 0.5], [0.0, 0.0], [1.5, -0.5]],
                            [0.3 * np.eye(2), [[0.5, 0.1], [0.1, 0.4]], 0.2 * np.eye(2)])
    return PushforwardModel(prior, network, noise_std)


def classify_terms(model, X):
    """Count each kind of term and collect the polygons whose mass the kernel computes."""
    model.logpdf(X[:2])
    t = model._tables
    tables = t.kernel_tables()
    Xw = np.ascontiguousarray(X * t.inv_noise)
    work = kp._new_work(tables)
    J = t.log_coef.shape[1]
    counts = {"skipped (first bound)": 0, "skipped (distance bound)": 0, "whole plane": 0,
              "loose mass": 0, "full mass": 0}
    polys = {"loose mass": [], "full mass": []}
    for i in range(len(X)):
        kp._prepare_terms(Xw, i, tables, work)
        gauss, bound, line = work[0].copy(), work[1].copy(), work[2]
        top, _ = kp.term_sum(Xw, i, tables, work, t.log_skip)
        cut = top - t.log_skip
        for idx in range(len(gauss)):
            if bound[idx] < cut:
                counts["skipped (first bound)"] += 1
                continue
            k, j = divmod(idx, J)
            lo, hi = t.edge_ptr[k], t.edge_ptr[k + 1]
            if hi == lo:
                counts["whole plane"] += 1
                continue
            nx, ny = t.nx[j, lo:hi].copy(), t.ny[j, lo:hi].copy()
            h = t.h0[j, lo:hi] + t.hw[j, lo:hi] @ line[k]
            d2 = polygon_distance_sq(nx, ny, h, hi - lo)
            ub = -0.5 * d2 - math.log(2.0) if d2 > 0 else 0.0
            floor = cut - gauss[idx]
            kind = ("skipped (distance bound)" if ub < floor else
                    "loose mass" if ub - floor < kp.LOOSE_WINDOW else "full mass")
            counts[kind] += 1
            if kind in polys:
                polys[kind].append((nx, ny, h))
    return counts, polys


def time_masses(polys, loose):
    """Seconds per polygon mass on one thread (full, or the loose tier)."""
    if not polys:
        return float("nan")
    width = max(p[0].size for p in polys)
    table = np.zeros((3, len(polys), width))
    n_edges = np.array([p[0].size for p in polys])
    for i, p in enumerate(polys):
        for c in range(3):
            table[c, i, :p[c].size] = p[c]
    out = np.empty(len(polys))

    def run():
        log_std_polygon_mass_many(table[0], table[1], table[2], n_edges, out, loose)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        run()
        _, seconds = timed(run, 3)
    finally:
        numba.set_num_threads(previous)
    return seconds / len(polys)


def main(quick=False, out=sys.stdout):
    n_points = 500 if quick else 50_000
    noises = (0.2,) if quick else (0.01, 0.1, 0.2, 1.0)
    threads = numba.get_num_threads()
    rows, breakdown = [], []
    for noise in noises:
        model = model_2d(noise)
        X = model.sample(n_points, rng=1)
        model.logpdf(X[:10])
        model.logpdf(X[:5000])
        K = model.network.affine_regions().n_regions
        J = model.prior.n_components
        count = len(X) * K * J
        _, seconds = timed(lambda: model.logpdf(X), 1 if quick else 3)
        rate = count / seconds
        X_tb = X[:3 if quick else 40]
        _, t_tb = timed(lambda: logpdf_closed_form(model, X_tb), 1)
        per_point_tb = t_tb / len(X_tb)
        verdict = "" if quick else ("met" if rate >= TARGET else "NOT met")
        rows.append((f"2-8-8-3 ({K} regions), J=3, n=3, noise {noise:g}, {len(X)} points",
                     f"{seconds:.3g} s", f"{rate:.3g}", f"{1e9 * threads / rate:.0f} ns",
                     f"{per_point_tb / (seconds / len(X)):.3g}x", verdict))
        counts, polys = classify_terms(model, X[:50 if quick else 300])
        total = sum(counts.values())
        t_full = time_masses(polys["full mass"], loose=False)
        t_loose = time_masses(polys["loose mass"], loose=True)
        breakdown.append((f"{noise:g}",) + tuple(f"{100 * counts[k] / total:.1f}%" for k in counts)
                         + (f"{1e9 * t_full:.0f} ns", f"{1e9 * t_loose:.0f} ns",
                            f"{1e9 * (counts['full mass'] * t_full + counts['loose mass'] * t_loose) / total:.0f} ns"))
    # Gradient against logpdf on the same points.
    model = model_2d(0.2)
    X = model.sample(500 if quick else 5000, rng=2)
    model.logpdf(X[:10])
    model.logpdf_grad(X[:10])
    _, t_logpdf = timed(lambda: model.logpdf(X), 1 if quick else 3)
    _, t_grad = timed(lambda: model.logpdf_grad(X), 1 if quick else 3)
    grad_ratio = t_grad / t_logpdf
    # Population NLL of a 2-8-8-2 network (quick: a 2-3-2 network, so CI stays short).
    truth = model_2d(0.2, n_outputs=2)
    if quick:
        truth = PushforwardModel(truth.prior, ReLUNetwork.random([2, 3, 2], rng=0), 0.2)
    other = truth.with_parameters({"prior.means[0,0]": -0.8})
    start = time.perf_counter()
    nll = PopulationNLL(truth)
    entropy = nll(truth)
    t_first = time.perf_counter() - start
    start = time.perf_counter()
    kl = nll(other) - entropy
    t_other = time.perf_counter() - start

    print("\n## 2-D latents: throughput, where the time goes, gradient, population NLL "
          "(bench_2d.py)\n", file=out)
    print(f"Threads: {threads}. Target (issue): >= {TARGET:.0e} terms/s at noise 0.2; the "
          "gradient at most 4x the logpdf.\n", file=out)
    print(markdown_table(("workload", "logpdf time", "terms/s", "thread time per term",
                          "textbook closed form / pwaffine per point", "target"), rows), file=out)
    print("\nWhere each term goes (fractions of all terms of a point) and what a polygon mass "
          "costs on one thread:\n", file=out)
    print(markdown_table(("noise", *counts, "time of a full mass", "time of a loose mass",
                          "mass time per term (average)"), breakdown), file=out)
    print(f"\nGradient: logpdf_grad {t_grad:.3g} s against logpdf {t_logpdf:.3g} s on "
          f"{len(X)} points: {grad_ratio:.2f}x (target <= {GRADIENT_TARGET:g}x: "
          f"{'met' if grad_ratio <= GRADIENT_TARGET else 'NOT met'}).", file=out)
    print(f"\nPopulation NLL, {truth.network} ({truth.network.affine_regions().n_regions} "
          f"regions), noise 0.2: entropy {entropy:.10f} nats in {t_first:.2f} s (domain and the "
          f"truth's density on the starting nodes included); another model "
          f"(KL {kl:.3g}) in {t_other:.2f} s.", file=out)
    return {"title": "2-D latents", "rate": rows}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
