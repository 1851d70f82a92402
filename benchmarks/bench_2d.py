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
skipped and paid from the error budget's pool, loose polygon mass, full
polygon mass, whole-plane region); the polygon masses of each class are then
timed alone on one thread, so the table shows how many terms of each kind a
point has and what each costs.

Gradient: ``logpdf_grad`` against ``logpdf`` on the same 5,000 points (target:
at most 4x).  Population NLL: ``PopulationNLL`` of a ``2-8-8-2`` network
(noise 0.2), the truth against itself and against a perturbed model.
"""

import math
import sys
import time

import numba
import numpy as np
from scipy import special
from _common import markdown_table, timed

from pwaffine import GaussianMixture, PopulationNLL, PushforwardModel, ReLUNetwork
from pwaffine._kernels import polygons as kp
from pwaffine._kernels.owens_t import owens_t
from pwaffine._kernels.polygon_fan import _edge_range, std_polygon_mass_fan
from pwaffine._kernels.polygon_mass import log_std_polygon_mass_loose, log_std_polygon_mass_polar
from pwaffine._reference import logpdf_closed_form

TARGET = 2e7
GRADIENT_TARGET = 4.0


def model_2d(noise_std, n_outputs=3):
    network = ReLUNetwork.random([2, 8, 8, n_outputs], rng=0)
    prior = GaussianMixture([0.3, 0.5, 0.2], [[-1.0, 0.5], [0.0, 0.0], [1.5, -0.5]],
                            [0.3 * np.eye(2), [[0.5, 0.1], [0.1, 0.4]], 0.2 * np.eye(2)])
    return PushforwardModel(prior, network, noise_std)


def classify_terms(model, X):
    """Count each kind of term, as the kernel records it, and collect the polygons whose mass it computes.

    The kernel writes each term's treatment to ``work[5]``
    (``polygons.TIER_*``); every polar mass (loose or full) follows a fan
    whose error did not fit, which the time of a term counts too.
    """
    model.logpdf(X[:2])
    t = model._tables
    names = {kp.TIER_FIRST_BOUND: "skipped (first bound)",
             kp.TIER_DISTANCE: "skipped (distance bound or share)",
             kp.TIER_POOL: "skipped (pool)", kp.TIER_WHOLE_PLANE: "whole plane",
             kp.TIER_FAN: "fan mass", kp.TIER_LOOSE: "loose mass", kp.TIER_FULL: "full mass"}
    counts = dict.fromkeys(names.values(), 0)
    polys = {"fan mass": [], "loose mass": [], "full mass": []}
    for _, work in t.point_terms(X):
        for idx, code in enumerate(work[5]):
            name = names[int(code)]
            counts[name] += 1
            if name in polys:
                polys[name].append(t.polygon(idx, work[2]))
    return counts, polys


@numba.njit(cache=True)
def _masses(nx, ny, h, n_edges, out, tier):
    for p in range(out.shape[0]):
        if tier == 0:
            out[p] = std_polygon_mass_fan(nx[p], ny[p], h[p], n_edges[p], -math.inf)[0]
        elif tier == 1:
            out[p] = log_std_polygon_mass_loose(nx[p], ny[p], h[p], n_edges[p])
        else:
            out[p] = log_std_polygon_mass_polar(nx[p], ny[p], h[p], n_edges[p])


TIERS = {"fan": 0, "loose": 1, "full": 2}


@numba.njit(cache=True)
def _t_many(h, a, out):
    for i in range(out.shape[0]):
        out[i] = owens_t(h[i], a[i])


@numba.njit(cache=True)
def _exp_many(x, out):
    for i in range(out.shape[0]):
        out[i] = math.exp(-x[i])


def owens_t_arguments(polys):
    """The ``(h, a)`` of every Owen's T value the fan evaluates for these polygons.

    Counted as the fan's classical form: one value for a segment of one sign
    within ``|a| <= 1``, else one value at each end; nothing for lines beyond
    9.1 standard deviations.  (``edge_shadow`` also integrates short, flat
    segments beyond ``|a| = 1`` by one rule, and far ones as two Gauss-Laguerre
    tails, so this counts what the classical fan needs, not ours.)
    """
    hs, as_ = [], []
    for nx, ny, h in polys:
        for k in range(nx.size):
            habs = abs(h[k])
            if habs <= 1e-150 or 0.5 * habs * habs > 41.4:
                continue
            lo, hi = _edge_range(nx, ny, h, k, nx.size)
            lo, hi = lo / habs, hi / habs
            if -1 <= lo and hi <= 1 and (lo >= 0 or hi <= 0):
                hs.append(habs)
                as_.append(hi - lo)  # one rule over a segment as long
            else:
                hs += [habs, habs]
                as_ += [hi, lo]
    return np.array(hs), np.array(as_)


def roofline(total, polys, threads):
    """Owen's T values per term, and what they cost: ours, SciPy's (Patefield-Tandy), an exp.

    The floor counts one Owen's T value per edge within 9.1 standard
    deviations of the posterior mean (every such edge casts a shadow that no
    elementary function gives), at the cost of the faster of the two
    implementations; the fan as written evaluates more (two per edge whose
    segment crosses the foot of the perpendicular or |a| = 1).  ``total``
    counts every term of the points, skipped ones included.
    """
    needing = polys["fan mass"] + polys["full mass"] + polys["loose mass"]
    shadows = sum(int(np.sum(0.5 * p[2] ** 2 <= 41.4)) for p in needing)
    h, a = owens_t_arguments(needing)
    out = np.empty(h.size)
    _t_many(h, a, out)
    _, t_ours = timed(lambda: _t_many(h, a, out), 3)
    _, t_scipy = timed(lambda: special.owens_t(h, a), 3)
    x = np.ascontiguousarray(0.5 * h * h)
    _exp_many(x, out)
    _, t_exp = timed(lambda: _exp_many(x, out), 3)
    t_best = min(t_ours, t_scipy) / h.size
    floor = shadows / total * t_best
    return (f"{len(needing) / total:.2f}", f"{shadows / max(len(needing), 1):.1f}",
            f"{h.size / max(len(needing), 1):.1f}", f"{1e9 * t_ours / h.size:.0f} ns",
            f"{1e9 * t_scipy / h.size:.0f} ns", f"{1e9 * t_exp / h.size:.1f} ns",
            f"{1e9 * floor:.0f} ns", f"{threads / floor:.3g}")


def time_masses(polys, tier):
    """Seconds per polygon mass on one thread, by the kernel's ``tier`` ("fan", "loose", "full")."""
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
        _masses(table[0], table[1], table[2], n_edges, out, TIERS[tier])
    run()
    _, seconds = timed(run, 3)
    return seconds / len(polys)


def main(quick=False, out=sys.stdout):
    n_points = 500 if quick else 50_000
    noises = (0.2,) if quick else (0.01, 0.1, 0.2, 1.0)
    threads = numba.get_num_threads()
    rows, breakdown, roof = [], [], []
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
        t_full = time_masses(polys["full mass"], "full")
        t_loose = time_masses(polys["loose mass"], "loose")
        t_fan = time_masses(polys["fan mass"], "fan")
        n_fan = counts["fan mass"] + counts["full mass"] + counts["loose mass"]  # each polar mass tried the fan
        mass_time = sum(n * t for n, t in ((counts["full mass"], t_full), (counts["loose mass"], t_loose),
                                           (n_fan, t_fan)) if n)
        roof.append((f"{noise:g}",) + roofline(total, polys, threads))
        breakdown.append((f"{noise:g}",) + tuple(f"{100 * counts[k] / total:.1f}%" for k in counts)
                         + tuple("-" if math.isnan(t) else f"{1e9 * t:.0f} ns" for t in (t_fan, t_full, t_loose))
                         + (f"{1e9 * mass_time / total:.0f} ns",))
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
    print(markdown_table(("noise", *counts, "time of a fan mass", "time of a full mass",
                          "time of a loose mass", "mass time per term (average)"), breakdown), file=out)
    print("\nA floor from the special functions a polygon mass cannot avoid: one Owen's T value "
          "for each edge within 9.1 standard deviations (its Gaussian shadow), at the cost of the "
          "faster of ours and SciPy's vectorised `owens_t` (Patefield and Tandy's algorithm); "
          "per term over all terms of a point, skipped ones included, and in terms/s on the "
          "machine's threads, before any other work:\n", file=out)
    print(markdown_table(("noise", "masses per term", "edges with a shadow per mass",
                          "Owen's T per mass (fan as written)", "our Owen's T", "SciPy's Owen's T",
                          "one exp", "floor per term (thread time)", "floor: terms/s"), roof), file=out)
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
