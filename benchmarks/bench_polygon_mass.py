"""Gaussian mass of convex polygons: the numba kernel beside SciPy and Owen's T, in one run.

Workloads (six, each ``n`` polygons): rectangles ``a <= z <= b`` under a
correlated 2-D normal, near the mean and 8-20 standard deviations out
(whitened they are parallelograms); well-shaped triangles and random
hexagon-like polygons (hulls of 8 points) whose nearest point is 0-3
standard deviations from the mean; triangles 10-30 standard deviations out;
unbounded wedges cut by one or two lines.

Methods, all given the same polygons:

* pwaffine: ``log_std_polygon_mass_many`` on padded facet tables (the
  whitening and facet reduction are done once, outside the timing), one
  thread, so the time is per call as the density kernel will see it;
* SciPy: ``multivariate_normal(mean, cov).cdf(b, lower_limit=a)``,
  vectorized (rectangles only: a rectangle is one call);
* Owen's T fan: the classical signed sum over edges of the triangles from the
  mean, ``angle / 2pi - [T(h, b/h) - T(h, a/h)]`` plus the recession angle,
  in numpy with ``scipy.special.owens_t``, vectorized over all edges.

Accuracy is the largest ``|log P - log P_ref|`` over a subset, against the
mpmath reference of ``tests/test_polygon_mass.py`` (an independent Cartesian
quadrature at 30 digits); ``nan`` means the method returned a mass <= 0.
"""

import argparse
import sys
from pathlib import Path

import numba
import numpy as np
from scipy import special, stats

from _common import best_time, markdown_table

from pwaffine._kernels import polygon_mass as _kernels
from pwaffine.model.gaussian_polygon import _polygon_facets, _whiten_constraints

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_polygon_mass import mp_log_mass  # noqa: E402

TARGET_US = 2.0
COV = np.array([[1.0, 0.6], [0.6, 0.8]])
BOX = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])


def _unit(theta):
    return np.array([np.cos(theta), np.sin(theta)])


def _hull(points):
    """Normals and offsets of the convex hull of ``points`` (gift wrapping is not needed: scipy)."""
    from scipy.spatial import ConvexHull

    hull = ConvexHull(points)
    return hull.equations[:, :2], -hull.equations[:, 2]


def workloads(n, rng):
    """``{name: (list of (normals, offsets), mean, cov, rectangles or None)}``."""
    out = {}
    for name, lo, hi in (("rectangles, near", 0.0, 1.5), ("rectangles, 8-20 sd", 8.0, 20.0)):
        corner = rng.uniform(lo, hi, n)[:, None] * np.array([_unit(a) for a in rng.uniform(0, 2 * np.pi, n)])
        lower = corner
        upper = corner + rng.uniform(0.2, 2.0, size=(n, 2))
        polys = [(BOX, np.array([u[0], -l[0], u[1], -l[1]])) for l, u in zip(lower, upper)]
        out[name] = (polys, np.zeros(2), COV, (lower, upper))

    def well_shaped(k, dist, scale):
        angles = rng.uniform(0, 2 * np.pi) + np.sort(rng.uniform(0, 2 * np.pi, k))
        points = scale * np.column_stack([np.cos(angles), np.sin(angles)]) * rng.uniform(0.5, 1.0, (k, 1))
        return points - points[np.argmin(points @ _unit(0.0))] + dist * _unit(0.0)

    def rotated(normals, offsets):
        theta = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(theta), np.sin(theta)
        return normals @ np.array([[c, s], [-s, c]]), offsets

    tri_near = [rotated(*_hull(well_shaped(3, d, s))) for d, s in
                zip(rng.uniform(0, 3, n), rng.uniform(0.3, 2.0, n))]
    poly_near = [rotated(*_hull(well_shaped(8, d, s))) for d, s in
                 zip(rng.uniform(0, 3, n), rng.uniform(0.3, 2.0, n))]
    tri_far = [rotated(*_hull(well_shaped(3, d, s))) for d, s in
               zip(rng.uniform(10, 30, n), rng.uniform(0.3, 2.0, n))]
    wedges = []
    for d in rng.uniform(0, 3, n):
        opening = rng.uniform(0.3, 2.8)
        angles = [0.0, opening] + list(np.sort(rng.uniform(0.1, opening - 0.1, rng.integers(1, 3))))
        normals = np.array([-_unit(a) for a in angles])
        offsets = -d - np.concatenate([[0.0, 0.0], rng.uniform(0.2, 1.0, len(angles) - 2)])
        wedges.append(rotated(normals, offsets))
    out["triangles, 0-3 sd"] = (tri_near, np.zeros(2), np.eye(2), None)
    out["hexagon-like, 0-3 sd"] = (poly_near, np.zeros(2), np.eye(2), None)
    out["triangles, 10-30 sd"] = (tri_far, np.zeros(2), np.eye(2), None)
    out["cut wedges, 0-3 sd"] = (wedges, np.zeros(2), np.eye(2), None)
    return out


def facet_tables(polys, mean, cov):
    """Whitened facets of each polygon in padded tables (what the density kernel will hold)."""
    chol = np.linalg.cholesky(cov)
    rows = []
    for normals, offsets in polys:
        unit, h = _whiten_constraints(normals, offsets, mean, chol)
        keep = _polygon_facets(unit, h)
        rows.append((unit[keep, 0], unit[keep, 1], h[keep]))
    width = max(r[0].size for r in rows)
    nx, ny, h = (np.zeros((len(rows), width)) for _ in range(3))
    n_edges = np.array([r[0].size for r in rows])
    for i, (a, b, c) in enumerate(rows):
        nx[i, : a.size], ny[i, : a.size], h[i, : a.size] = a, b, c
    return nx, ny, h, n_edges


def owens_t_fan(nx, ny, h, n_edges):
    """log P by the signed fan of triangles from the origin (Owen's T), vectorized."""
    k = np.arange(nx.shape[1])
    valid = k < n_edges[:, None]
    nxt = (k + 1) % n_edges[:, None]
    prv = (k - 1) % n_edges[:, None]
    take = np.take_along_axis
    nx1, ny1, h1 = take(nx, nxt, 1), take(ny, nxt, 1), take(h, nxt, 1)
    nx0, ny0, h0 = take(nx, prv, 1), take(ny, prv, 1), take(h, prv, 1)
    cs, sn = nx * nx1 + ny * ny1, nx * ny1 - ny * nx1          # turn to the next normal
    cs0, sn0 = nx0 * nx + ny0 * ny, nx0 * ny - ny0 * nx        # turn from the previous one
    with np.errstate(divide="ignore", invalid="ignore"):
        s_end = np.where(sn > 0, (h1 - h * cs) / sn, np.inf)
        s_start = np.where(sn0 > 0, (h * cs0 - h0) / sn0, -np.inf)
        ha = np.abs(h)
        span = np.arctan2(s_end, ha) - np.arctan2(s_start, ha)
        shadow = special.owens_t(ha, s_end / ha) - special.owens_t(ha, s_start / ha)
        tri = np.where(valid & (ha > 0), np.sign(h) * (span / (2 * np.pi) - shadow), 0.0)
    recession = np.where(valid & (sn <= 0), np.arctan2(-sn, -cs), 0.0)
    mass = tri.sum(1) + recession.sum(1) / (2 * np.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mass > 0, np.log(np.maximum(mass, 1e-320)), np.nan)


def _max_log_error(values, refs):
    err = np.abs(np.asarray(values) - np.asarray(refs))
    return float(np.nan if np.any(np.isnan(err)) else err.max())


def main(quick=False, out=sys.stdout):
    n = 200 if quick else 20_000
    n_ref = 2 if quick else 12
    repeat = 1 if quick else 5
    rng = np.random.default_rng(0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    rows, results = [], {}
    try:
        for name, (polys, mean, cov, rects) in workloads(n, rng).items():
            nx, ny, h, n_edges = facet_tables(polys, mean, cov)
            ours = np.empty(n)
            _kernels.log_std_polygon_mass_many(nx, ny, h, n_edges, ours)  # JIT / cache load
            t_ours = best_time(lambda: _kernels.log_std_polygon_mass_many(nx, ny, h, n_edges, ours),
                               repeat=repeat) / n
            t_owen = best_time(lambda: owens_t_fan(nx, ny, h, n_edges), repeat=repeat) / n
            owen = owens_t_fan(nx, ny, h, n_edges)
            refs = [mp_log_mass(*polys[i], mean, cov) for i in range(n_ref)]
            entry = {"n_edges": float(n_edges.mean()), "us_ours": t_ours * 1e6, "us_owen": t_owen * 1e6,
                     "err_ours": _max_log_error(ours[:n_ref], refs),
                     "err_owen": _max_log_error(owen[:n_ref], refs),
                     "owen_nonpositive": int(np.isnan(owen).sum())}
            if rects is not None:
                mvn = stats.multivariate_normal(mean, cov)
                lower, upper = rects
                t_scipy = best_time(lambda: mvn.cdf(upper, lower_limit=lower), repeat=repeat) / n
                with np.errstate(divide="ignore"):
                    scipy_log = np.log(mvn.cdf(upper[:n_ref], lower_limit=lower[:n_ref]))
                scipy_log[~np.isfinite(scipy_log)] = np.nan
                entry.update(us_scipy=t_scipy * 1e6, err_scipy=_max_log_error(scipy_log, refs))
            results[name] = entry
            rows.append((name, f"{entry['n_edges']:.1f}", f"{entry['us_ours']:.2f}",
                         f"{entry['us_scipy']:.2f}" if rects is not None else "-",
                         f"{entry['us_owen']:.2f}", f"{entry['err_ours']:.1e}",
                         f"{entry['err_scipy']:.1e}" if rects is not None else "-",
                         f"{entry['err_owen']:.1e}", f"{entry['owen_nonpositive']}/{n}"))
    finally:
        numba.set_num_threads(threads)
    header = ("workload", "mean edges", "pwaffine us/polygon", "SciPy us/rectangle",
              "Owen's T fan us/polygon", "pwaffine max abs dlog", "SciPy max abs dlog",
              "Owen's T max abs dlog", "Owen's T mass <= 0")
    table = markdown_table(header, rows)
    print("\n## Gaussian mass of convex polygons (log P, one thread)\n", file=out)
    print(f"{n} polygons per workload; errors against mpmath on the first {n_ref}. "
          f"Target: about {TARGET_US:g} us per polygon.\n", file=out)
    print(table, file=out)
    return {"title": "Gaussian polygon mass vs SciPy and Owen's T", "table": table, "results": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    main(parser.parse_args().quick)
