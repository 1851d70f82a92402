"""Gaussian mass of convex polygons: the numba kernel against independent references.

References: closed forms (half-planes, strips, rotated rectangles), SciPy's
bivariate normal CDF and ``dblquad`` where they are accurate, and an mpmath
quadrature written independently of the kernel (Cartesian, not polar): the
polygon is rotated so that its point nearest the mean lies on the first axis
and ``int phi(t) P(lo(t) < V < up(t)) dt`` is integrated by tanh-sinh between
the vertices at 30 digits.
"""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats
from scipy.spatial import ConvexHull

from pwaffine._kernels import polygon_mass as _kernels
from pwaffine._kernels.polygon_fan import std_polygon_mass_fan
from pwaffine.model.gaussian_polygon import gaussian_polygon_log_mass

EPS = np.finfo(float).eps


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------
def _mp_interval(lo, hi):
    """P(lo < V < hi) for standard normal V, without cancellation in either tail."""
    if not hi > lo:
        return mp.mpf(0)
    if lo >= 0:
        return mp.ncdf(-lo) - mp.ncdf(-hi)
    if hi <= 0:
        return mp.ncdf(hi) - mp.ncdf(lo)
    return 1 - mp.ncdf(lo) - mp.ncdf(-hi)


def mp_log_mass(normals, offsets, mean=(0.0, 0.0), cov=((1.0, 0.0), (0.0, 1.0)), dps=30):
    """``log P(normals @ Z <= offsets)``, ``Z ~ N(mean, cov)``, by mpmath quadrature.

    Whitening (Cholesky in mpmath) and everything after it is done at ``dps``
    digits, so the only rounding is in the float inputs.
    """
    with mp.workdps(dps):
        tol = mp.mpf(10) ** (-dps // 2)
        m = [mp.mpf(float(v)) for v in mean]
        L = mp.cholesky(mp.matrix([[mp.mpf(float(v)) for v in row] for row in cov]))
        A, c = [], []
        for (a1, a2), b in zip(np.asarray(normals, float), np.asarray(offsets, float)):
            a1, a2, b = mp.mpf(float(a1)), mp.mpf(float(a2)), mp.mpf(float(b))
            # a.z <= b with z = m + L u:  (L^T a).u <= b - a.m
            w1, w2 = a1 * L[0, 0] + a2 * L[1, 0], a2 * L[1, 1]
            r = mp.sqrt(w1 * w1 + w2 * w2)
            A.append((w1 / r, w2 / r))
            c.append((b - a1 * m[0] - a2 * m[1]) / r)

        def feasible(p):
            return all(a * p[0] + b * p[1] <= ci + tol * (1 + abs(ci)) for (a, b), ci in zip(A, c))

        verts = []
        for i, k in itertools.combinations(range(len(A)), 2):
            (a1, b1), (a2, b2) = A[i], A[k]
            det = a1 * b2 - a2 * b1
            if det != 0:
                p = ((c[i] * b2 - c[k] * b1) / det, (a1 * c[k] - a2 * c[i]) / det)
                if feasible(p):
                    verts.append(p)
        # Frame: e towards the nearest point (a vertex or the foot of a perpendicular).
        if all(ci >= 0 for ci in c):
            e = A[min(range(len(c)), key=lambda k: c[k])]
        else:
            cands = [p for p in verts + [(a * ci, b * ci) for (a, b), ci in zip(A, c)] if feasible(p)]
            near = min(cands, key=lambda p: p[0] ** 2 + p[1] ** 2)
            r = mp.sqrt(near[0] ** 2 + near[1] ** 2)
            k = min(range(len(c)), key=lambda k: c[k])
            e = (near[0] / r, near[1] / r) if r > 0 else (-A[k][0], -A[k][1])
        B = [(a * e[0] + b * e[1], -a * e[1] + b * e[0]) for a, b in A]
        t_lo, t_hi = -mp.inf, mp.inf
        for (a, b), ci in zip(B, c):
            if abs(b) <= tol * abs(a):
                if a > 0:
                    t_hi = min(t_hi, ci / a)
                else:
                    t_lo = max(t_lo, ci / a)

        def g(t):
            lo, hi = -mp.inf, mp.inf
            for (a, b), ci in zip(B, c):
                if abs(b) > tol * abs(a):
                    if b > 0:
                        hi = min(hi, (ci - a * t) / b)
                    else:
                        lo = max(lo, (ci - a * t) / b)
            return mp.npdf(t) * _mp_interval(lo, hi)

        # Beyond |t| = |d| + 40 the integrand is below exp(-800) of its peak:
        # clip there so that far vertices (nearly parallel edges) cost nothing.
        t_near = max(mp.mpf(0), min(p[0] * e[0] + p[1] * e[1] for p in verts) if verts else 0)
        t_lo = max(t_lo, -(t_near + 40))
        t_hi = min(t_hi, t_near + 40)
        # Nodes: vertices, and where each line crosses v = 0 (a nearly vertical
        # line makes the integrand drop steeply there, far from its vertices).
        ts = [p[0] * e[0] + p[1] * e[1] for p in verts] + [ci / a for (a, b), ci in zip(B, c) if a != 0]
        nodes = sorted(set([t_lo, t_hi, mp.mpf(0)] + ts))
        nodes = [t for t in nodes if t_lo <= t <= t_hi]
        fine = []
        for a, b in zip(nodes[:-1], nodes[1:]):
            fine.append(a)
            if mp.isfinite(a) and mp.isfinite(b):
                fine.extend(a + (b - a) * j / 4 for j in range(1, 4))
            # Grade towards the end nearer the origin, on the scale 1/|t| of the decay there.
            near_a = mp.isfinite(a) and (not mp.isfinite(b) or abs(a) <= abs(b))
            anchor, sgn = (a, 1) if near_a else (b, -1)
            if mp.isfinite(anchor):
                for x in (1 / 8, 1 / 2, 2, 8):
                    y = anchor + sgn * x / max(1, abs(anchor))
                    if (y - a) * (b - y) > 0:
                        fine.append(y)
        fine = sorted(set(fine + [nodes[-1]]))
        # mp.quad's tolerance is absolute: scale the integrand to order one.
        probe = [x for x in fine if mp.isfinite(x)]
        scale = max(g(x) for x in probe + [(a + b) / 2 for a, b in zip(probe[:-1], probe[1:])])
        total = mp.quad(lambda x: g(x) / scale, fine, maxdegree=6)
        return float(mp.log(total) + mp.log(scale))


def mp_log_interval(a, b):
    """``log P(a < V < b)`` for standard normal V, in mpmath."""
    with mp.workdps(40):
        return float(mp.log(_mp_interval(mp.mpf(a), mp.mpf(b))))


def std_log_mass(normals, offsets):
    return gaussian_polygon_log_mass(normals, offsets, [0.0, 0.0], np.eye(2))


def unit_constraints(normals, offsets):
    """The constraints scaled to unit normals in float, exactly as the kernel receives them.

    At the sharp corners of thin far polygons, rounding the normals to unit
    length moves a vertex by about eps * d / angle; references fed these
    constraints see the same polygon as the kernel.
    """
    normals = np.asarray(normals, float)
    length = np.hypot(normals[:, 0], normals[:, 1])
    return normals / length[:, None], np.asarray(offsets, float) / length


def rel_err(got, ref):
    """Relative error of the mass, from its log."""
    return abs(math.expm1(got - ref))


def unit(theta):
    return np.array([np.cos(theta), np.sin(theta)])


def hull_constraints(points):
    """Normals and offsets of the convex hull of ``points``."""
    p = points[ConvexHull(points).vertices]  # counterclockwise
    q = np.roll(p, -1, axis=0)
    normals = np.column_stack([q[:, 1] - p[:, 1], p[:, 0] - q[:, 0]])
    return normals, np.einsum("ij,ij->i", normals, p)


# --------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------
@pytest.mark.parametrize("h", [-45.0, -38.0, -20.0, -5.0, -1e-3, 0.0, 0.7, 3.0, 9.0, 40.0])
@pytest.mark.parametrize("theta", [0.0, 1.0, -2.5])
def test_half_plane_is_log_ndtr(h, theta):
    n = unit(theta)
    got = _kernels.log_std_polygon_mass(n[:1], n[1:], np.array([h]), 1)
    assert abs(got - special.log_ndtr(h)) <= 2 * EPS * max(1.0, abs(got))


@pytest.mark.parametrize("b", [-60.0, -3.0, 0.5, 25.0])
def test_half_plane_general_gaussian(b):
    a = np.array([[2.0, -1.0]])
    mean = np.array([0.3, -0.2])
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    h = (b - a[0] @ mean) / np.sqrt(a[0] @ cov @ a[0])
    got = gaussian_polygon_log_mass(a, [b], mean, cov)
    # Whitening rounds h to about eps relative, which moves log Phi(h) by about h^2 eps.
    assert abs(got - special.log_ndtr(h)) <= 4 * EPS * max(1.0, h * h)


@pytest.mark.parametrize("lo, hi", [(-1.0, 2.0), (3.0, 3.5), (-41.0, -40.0), (30.0, 30.0 + 1e-6),
                                    (-1e-9, 1e-9), (-60.0, 60.0), (7.0, 9.0)])
def test_strip_closed_form(lo, hi):
    n = unit(0.7)
    got = std_log_mass(np.array([n, -n]), [hi, -lo])
    ref = mp_log_interval(lo, hi)
    # A strip is log_interval_mass(-h1, h0): a few ulp of the log, plus h^2 eps
    # from the rounded offsets.
    assert abs(got - ref) <= 4 * EPS * max(1.0, abs(ref), lo * lo, hi * hi)


@pytest.mark.parametrize("theta", [0.3, 2.0])
@pytest.mark.parametrize("centre", [(0.2, -0.5), (3.0, 1.0), (12.0, -7.0), (-25.0, 20.0)])
def test_rotated_rectangle_is_a_product(theta, centre):
    """A rectangle rotated by theta has mass P(a1 < V1 < b1) P(a2 < V2 < b2)."""
    e1, e2 = unit(theta), unit(theta + np.pi / 2)
    (c1, c2), (w1, w2) = centre, (0.6, 1.3)
    normals = np.array([e1, -e1, e2, -e2])
    got = std_log_mass(normals, [c1 + w1, w1 - c1, c2 + w2, w2 - c2])
    ref = mp_log_interval(c1 - w1, c1 + w1) + mp_log_interval(c2 - w2, c2 + w2)
    d2 = c1 * c1 + c2 * c2
    # Rounded rotated normals and offsets move the log mass by about d^2 eps.
    assert abs(got - ref) <= 8 * EPS * max(1.0, d2)


# --------------------------------------------------------------------------
# Rectangles against SciPy's bivariate normal CDF
# --------------------------------------------------------------------------
COVS = [np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[2.25, 0.8], [0.8, 0.49]]),
        np.array([[1.0, -0.9], [-0.9, 1.0]]), np.array([[0.3, 0.29], [0.29, 0.3]])]


@pytest.mark.parametrize("cov", COVS)
def test_rectangles_match_scipy(cov):
    rng = np.random.default_rng(7)
    mean = np.array([0.2, -0.1])
    mvn = stats.multivariate_normal(mean, cov)
    lower = rng.normal(size=(20, 2)) * np.sqrt(np.diag(cov))
    upper = lower + rng.uniform(0.05, 2.0, size=(20, 2)) * np.sqrt(np.diag(cov))
    ref = mvn.cdf(upper, lower_limit=lower)
    box = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    got = np.array([gaussian_polygon_log_mass(box, [u[0], -l[0], u[1], -l[1]], mean, cov)
                    for l, u in zip(lower, upper)])
    # SciPy (Genz's bivariate algorithm) is accurate to about 2e-16 absolute,
    # measured against mpmath on these rectangles; the relative tolerance is ours.
    np.testing.assert_allclose(np.exp(got), ref, rtol=2e-14, atol=4e-16)


@pytest.mark.parametrize("cov", COVS[1:])
@pytest.mark.parametrize("lower, upper", [((6.0, 5.0), (7.0, 9.0)), ((-30.0, -4.0), (-28.0, 0.0)),
                                          ((20.0, -20.0), (21.0, -19.5))])
def test_far_rectangles_match_mpmath(cov, lower, upper):
    """Far enough out that SciPy's absolute accuracy says nothing; mpmath instead."""
    box = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    offsets = [upper[0], -lower[0], upper[1], -lower[1]]
    mean = [0.2, -0.1]
    got = gaussian_polygon_log_mass(box, offsets, mean, cov)
    ref = mp_log_mass(box, offsets, mean, cov)
    # The float whitening rounds the offsets to ~eps relative: about |log P| eps in the log.
    assert abs(got - ref) <= 16 * EPS * max(1.0, abs(ref))


# --------------------------------------------------------------------------
# General polygons against the mpmath reference
# --------------------------------------------------------------------------
@st.composite
def triangles(draw, max_dist=6.0):
    """Triangles of any position and size whose angles are all at least ~0.3 rad."""
    centre = draw(st.floats(0.0, max_dist)) * unit(draw(st.floats(0.0, 2 * np.pi)))
    scale = draw(st.sampled_from([0.05, 0.3, 1.0, 3.0]))
    phase = draw(st.floats(0.0, 2 * np.pi))
    gaps = np.array(draw(st.lists(st.floats(0.6, 1.0), min_size=3, max_size=3)))
    angles = phase + 2 * np.pi * np.cumsum(gaps) / gaps.sum()
    radii = np.array(draw(st.lists(st.floats(0.5, 1.0), min_size=3, max_size=3)))
    points = centre + scale * radii[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    return hull_constraints(points)


@settings(max_examples=15)
@given(triangles())
def test_triangles_match_mpmath(constraints):
    normals, offsets = constraints
    got = std_log_mass(normals, offsets)
    ref = mp_log_mass(normals, offsets)
    assert rel_err(got, ref) <= 5e-14


@st.composite
def unbounded_polygons(draw, max_dist=6.0):
    """Wedges (opening < pi), half-strips, and wedges with their apex cut by 1-3 lines."""
    apex = draw(st.floats(0.0, max_dist)) * unit(draw(st.floats(0.0, 2 * np.pi)))
    a0 = draw(st.floats(0.0, 2 * np.pi))
    kind = draw(st.sampled_from(["wedge", "half-strip", "cut wedge"]))
    if kind == "half-strip":
        n = unit(a0)
        width = draw(st.sampled_from([0.1, 1.0, 3.0]))
        normals = np.array([n, -n, unit(a0 + np.pi / 2)])
        return normals, normals @ apex + np.array([width, width, 0.0])
    opening = draw(st.floats(0.2, np.pi - 0.05))
    angles = [a0, a0 + opening]
    cuts = []
    if kind == "cut wedge":
        k = draw(st.integers(1, 3))
        angles += sorted(draw(st.lists(st.floats(a0 + 0.05, a0 + opening - 0.05), min_size=k, max_size=k)))
        cuts = draw(st.lists(st.floats(0.1, 1.5), min_size=k, max_size=k))
    normals = np.array([unit(a) for a in angles])
    return normals, normals @ apex - np.array([0.0, 0.0] + cuts)


@settings(max_examples=15)
@given(unbounded_polygons())
def test_unbounded_polygons_match_mpmath(constraints):
    normals, offsets = constraints
    got = std_log_mass(normals, offsets)
    ref = mp_log_mass(normals, offsets)
    # The polar rule's accuracy is ~5e-14 relative; a wedge 3.9 standard deviations
    # out (normals 1.0 and 3.25 rad, offsets 3.876, -3.205) reaches 6.0e-14.
    assert rel_err(got, ref) <= 1e-13


@pytest.mark.parametrize("seed", range(4))
def test_moderate_polygons_match_dblquad(seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(6, 2)) * 0.8 + rng.normal(size=2)
    normals, offsets = hull_constraints(points)
    ny = normals[:, 1]

    def lower(x):
        return ((offsets - normals[:, 0] * x) / ny)[ny < 0].max()

    def upper(x):
        return ((offsets - normals[:, 0] * x) / ny)[ny > 0].min()

    # Vertical strips between the vertices, where the bounds are linear.
    xs = np.unique(points[ConvexHull(points).vertices, 0])
    ref = sum(integrate.dblquad(lambda y, x: np.exp(-(x * x + y * y) / 2) / (2 * np.pi),
                                a, b, lower, upper, epsabs=0.0, epsrel=1e-13)[0]
              for a, b in zip(xs[:-1], xs[1:]))
    # dblquad reaches about 1e-13 here (its own tolerance); the kernel is tested
    # to 5e-14 against mpmath above.
    assert rel_err(std_log_mass(normals, offsets), np.log(ref)) <= 1e-12


@pytest.mark.parametrize("dist", [10.0, 20.0, 30.0, 38.0])
@pytest.mark.parametrize("shape", ["triangle", "edge-on", "wedge", "cut wedge", "long thin"])
def test_far_tail_polygons(dist, shape):
    """Masses down to about 1e-314: the log stays accurate to far better than 1e-9."""
    d = unit(0.9)
    t = unit(0.9 + np.pi / 2)
    if shape == "triangle":  # nearest point a vertex
        points = np.array([dist * d, (dist + 1.5) * d + 0.8 * t, (dist + 0.7) * d - 1.1 * t])
        normals, offsets = hull_constraints(points)
    elif shape == "edge-on":  # nearest point inside an edge
        points = np.array([dist * d + 2 * t, dist * d - 1.5 * t, (dist + 2.0) * d])
        normals, offsets = hull_constraints(points)
    elif shape == "wedge":
        normals = np.array([-unit(0.5), -unit(1.4)])
        offsets = -dist * np.array([1.0, 0.97])
    elif shape == "cut wedge":
        normals = np.array([-unit(0.3), -unit(0.9), -unit(1.5)])
        offsets = -dist * np.array([1.05, 1.0, 1.1])
    else:  # a long needle pointing away from the origin
        points = np.array([dist * d, (dist + 8.0) * d + 0.05 * t, (dist + 8.0) * d - 0.05 * t])
        normals, offsets = hull_constraints(points)
    got = std_log_mass(normals, offsets)
    ref = mp_log_mass(*unit_constraints(normals, offsets))
    assert ref < -0.5 * (0.9 * dist) ** 2
    # The inputs carry relative rounding eps, which moves the log mass by about d^2 eps.
    assert abs(got - ref) <= 16 * EPS * dist * dist


def test_thin_sliver_near_origin():
    """A needle of width 1e-6 past the origin: conditioning ~ 1/width, not worse."""
    points = np.array([[0.2, 0.1], [2.5, 1.0 + 1e-6], [2.5, 1.0 - 1e-6]])
    normals, offsets = hull_constraints(points)
    got = std_log_mass(normals, offsets)
    ref = mp_log_mass(*unit_constraints(normals, offsets))
    # Rounding the offsets by eps moves the width by eps, i.e. the mass by eps/1e-6.
    assert rel_err(got, ref) <= 1e-16 / 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_thin_far_polygons_within_their_conditioning(seed):
    """Slivers 1e-4 thick up to 30 sd out: the error stays below what one-ulp
    changes of the offsets do to the exact mass (measured with mpmath)."""
    rng = np.random.default_rng(seed)
    centre = [2.0, 8.0, 30.0][seed] * unit(rng.uniform(0, 2 * np.pi))
    t = unit(rng.uniform(0, 2 * np.pi))
    points = centre + 0.3 * (np.outer(rng.uniform(-1, 1, 5), t)
                             + 1e-4 * np.outer(rng.normal(size=5), [-t[1], t[0]]))
    normals, offsets = unit_constraints(*hull_constraints(points))
    got = std_log_mass(normals, offsets)
    ref = mp_log_mass(normals, offsets)
    # First-order effect of one-ulp errors in the offsets, one at a time.
    bumps = EPS * np.diag(np.abs(offsets))
    sensitivity = sum(abs(mp_log_mass(normals, offsets + bump) - ref) for bump in bumps)
    assert abs(got - ref) <= sensitivity + 1e-14


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_cells_of_a_line_arrangement_sum_to_one(seed):
    """The cells cut out by a few lines tile the plane."""
    rng = np.random.default_rng(seed)
    n_lines = 3 + seed % 2
    normals = np.array([unit(a) for a in rng.uniform(0, 2 * np.pi, n_lines)])
    offsets = rng.normal(size=n_lines) * (1.0 if seed < 4 else 4.0)
    total = 0.0
    for signs in itertools.product([1.0, -1.0], repeat=n_lines):
        s = np.array(signs)
        total += np.exp(std_log_mass(s[:, None] * normals, s * offsets))
    assert abs(total - 1.0) <= 1e-14


@settings(max_examples=20)
@given(triangles(max_dist=30.0), st.floats(0.0, 2 * np.pi))
def test_rotation_invariance(constraints, theta):
    normals, offsets = constraints
    c, s = np.cos(theta), np.sin(theta)
    rotated = normals @ np.array([[c, s], [-s, c]])
    a, b = std_log_mass(normals, offsets), std_log_mass(rotated, offsets)
    # Each is within 5e-14 of the truth (tested above), and rotated normals are
    # rounded: about eps |log P| more.
    assert abs(a - b) <= 1e-13 + 8 * EPS * abs(a)


@settings(max_examples=20)
@given(triangles(max_dist=4.0),
       st.floats(-2.0, 2.0), st.floats(-2.0, 2.0),
       st.floats(0.2, 3.0), st.floats(0.2, 3.0), st.floats(-0.9, 0.9))
def test_affine_invariance(constraints, m1, m2, s1, s2, rho):
    """P(Z in Q) for Z ~ N(m, S) equals P(U in the whitened Q) for U ~ N(0, I)."""
    normals, offsets = constraints
    mean = np.array([m1, m2])
    cov = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    L = np.linalg.cholesky(cov)
    # Q' = L Q + mean has the same mass under N(mean, cov) as Q under N(0, I).
    moved = normals @ np.linalg.inv(L)
    a = std_log_mass(normals, offsets)
    b = gaussian_polygon_log_mass(moved, offsets + moved @ mean, mean, cov)
    assert abs(a - b) <= 64 * EPS * (1.0 + abs(a))


def test_constraint_order_scale_and_redundancy_do_not_matter():
    rng = np.random.default_rng(3)
    normals, offsets = hull_constraints(rng.normal(size=(7, 2)) + [1.0, 0.5])
    base = std_log_mass(normals, offsets)
    perm = rng.permutation(len(offsets))
    scale = rng.uniform(0.1, 10.0, len(offsets))
    redundant = np.array([[1.0, 1.0], [-0.3, 0.2]]), np.array([100.0, 50.0])
    shuffled_n = np.vstack([normals[perm] * scale[perm, None], redundant[0], normals[:2]])
    shuffled_b = np.concatenate([offsets[perm] * scale[perm], redundant[1], offsets[:2] + 1.0])
    assert abs(std_log_mass(shuffled_n, shuffled_b) - base) <= 4 * EPS * (1.0 + abs(base))


def test_empty_degenerate_and_unconstrained():
    box = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert std_log_mass(box, [1.0, -2.0]) == -np.inf  # 2 <= x <= 1
    assert std_log_mass(box, [1.0, -1.0]) == -np.inf  # the line x = 1
    tri = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    assert std_log_mass(tri, [0.0, 0.0, 0.0]) == -np.inf  # a single point
    assert gaussian_polygon_log_mass(np.zeros((0, 2)), [], [0.0, 0.0], np.eye(2)) == 0.0


# --------------------------------------------------------------------------
# Kernel conventions
# --------------------------------------------------------------------------
def _facets(normals, offsets):
    from pwaffine.model.gaussian_polygon import _polygon_facets, _whiten_constraints

    n, h = _whiten_constraints(np.asarray(normals, float), np.asarray(offsets, float),
                               np.zeros(2), np.eye(2))
    keep = _polygon_facets(n, h)
    return n[keep, 0].copy(), n[keep, 1].copy(), h[keep].copy()


def test_kernel_ignores_padding_and_starting_edge():
    nx, ny, h = _facets(*hull_constraints(np.array([[1.0, 0.2], [3.0, 1.0], [2.0, 2.5], [0.8, 1.5]])))
    m = nx.size
    ref = _kernels.log_std_polygon_mass(nx, ny, h, m)
    pad = np.full(3, np.nan)
    padded = _kernels.log_std_polygon_mass(np.r_[nx, pad], np.r_[ny, pad], np.r_[h, pad], m)
    assert padded == ref
    for k in range(1, m):
        shifted = _kernels.log_std_polygon_mass(np.roll(nx, k), np.roll(ny, k), np.roll(h, k), m)
        assert abs(shifted - ref) <= 4 * EPS * abs(ref)


def test_many_matches_scalar():
    rng = np.random.default_rng(11)
    polys = [_facets(*hull_constraints(rng.normal(size=(k, 2)) + rng.normal(size=2) * 3))
             for k in (3, 4, 6, 9)]
    polys.append(_facets(np.array([[1.0, 0.0]]), [0.5]))
    width = max(p[0].size for p in polys)
    tables = np.zeros((3, len(polys), width))
    n_edges = np.array([p[0].size for p in polys])
    for i, p in enumerate(polys):
        for t in range(3):
            tables[t, i, : p[t].size] = p[t]
    out = np.empty(len(polys))
    _kernels.log_std_polygon_mass_many(tables[0], tables[1], tables[2], n_edges, out)
    expected = [_kernels.log_std_polygon_mass(*p, p[0].size) for p in polys]
    np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
GOOD = dict(normals=[[1.0, 0.0], [0.0, 1.0]], offsets=[1.0, 2.0], mean=[0.0, 0.0],
            cov=[[1.0, 0.2], [0.2, 1.0]])


@pytest.mark.parametrize("change, match", [
    (dict(normals=[1.0, 0.0]), "normals must have shape"),
    (dict(normals=[[1.0, 0.0, 0.0]]), "normals must have shape"),
    (dict(offsets=[1.0]), "offsets must have shape"),
    (dict(offsets=[1.0, np.nan]), "offsets contains NaN"),
    (dict(normals=[[1.0, np.inf], [0.0, 1.0]]), "normals contains infinite"),
    (dict(normals=[[1.0, 0.0], [0.0, 0.0]]), r"normals\[1\] is zero"),
    (dict(mean=[0.0]), "mean must have shape"),
    (dict(mean=[0.0, np.inf]), "mean contains infinite"),
    (dict(cov=np.eye(3)), "cov must have shape"),
    (dict(cov=[[1.0, 2.0], [2.0, 1.0]]), "cov is not positive definite"),
    (dict(cov=[[1.0, 0.5], [0.1, 1.0]]), "cov is not symmetric"),
    (dict(cov=np.zeros((2, 2))), "cov is not positive definite"),
    (dict(offsets="abc"), "offsets must be an array of real numbers"),
])
def test_bad_input_raises(change, match):
    with pytest.raises(ValueError, match=match):
        gaussian_polygon_log_mass(**{**GOOD, **change})


# --------------------------------------------------------------------------
# The loose tier, the distance bound and the conditional moments
# --------------------------------------------------------------------------
def _random_polygons(seed, n=400):
    """Hulls of random points and cut wedges, near and far from the origin, fat and thin."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        dist = [0.0, 1.0, 4.0, 10.0, 30.0][i % 5]
        centre = dist * unit(rng.uniform(0, 2 * np.pi))
        if i % 3 == 0:  # a wedge, possibly cut
            a0, opening = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, np.pi - 0.1)
            normals = np.array([unit(a0), unit(a0 + opening)])
            offsets = normals @ centre
            if rng.random() < 0.5:
                cut = unit(a0 + opening / 2)
                normals = np.vstack([normals, cut])
                offsets = np.append(offsets, cut @ centre - rng.uniform(0.05, 2.0))
        else:
            scale = rng.choice([0.02, 0.3, 2.0])
            points = centre + scale * rng.normal(size=(rng.integers(3, 7), 2)) * [1.0, rng.choice([1.0, 0.05])]
            normals, offsets = hull_constraints(points)
        out.append(_facets(normals, offsets))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_loose_tier_is_within_its_stated_error(seed):
    worst = 0.0
    for nx, ny, h in _random_polygons(seed):
        m = nx.size
        full = _kernels.log_std_polygon_mass(nx, ny, h, m)
        loose = _kernels.log_std_polygon_mass_loose(nx, ny, h, m)
        worst = max(worst, rel_err(loose, full))
    assert worst <= _kernels.LOOSE_RTOL


@pytest.mark.parametrize("seed", range(2))
def test_distance_bound_holds_and_is_the_distance(seed):
    for nx, ny, h in _random_polygons(seed, 200):
        m = nx.size
        d2 = _kernels.polygon_distance_sq(nx, ny, h, m)
        # The bound used to skip terms: P <= Phi(-d) <= exp(-d^2 / 2) / 2.
        if d2 > 0:
            assert _kernels.log_std_polygon_mass(nx, ny, h, m) <= -0.5 * d2 - math.log(2) + 1e-12
        inside = np.all(h >= 0)
        assert (d2 == 0.0) == inside
        if not inside:
            assert d2 == pytest.approx(_brute_distance_sq(nx, ny, h), rel=1e-9, abs=1e-12)


def _brute_distance_sq(nx, ny, h):
    """Squared distance from the origin to a convex polygon: the nearest feasible foot or vertex."""
    normals = np.column_stack([nx, ny])
    candidates = [hk * n for n, hk in zip(normals, h)]
    for i in range(len(h)):
        for j in range(i + 1, len(h)):
            matrix = normals[[i, j]]
            if abs(np.linalg.det(matrix)) > 1e-12:
                candidates.append(np.linalg.solve(matrix, h[[i, j]]))
    feasible = [c for c in candidates if np.all(normals @ c <= h + 1e-9 * (1.0 + np.abs(h)))]
    return min(float(c @ c) for c in feasible)


@pytest.mark.parametrize("shift", [0.0, 2.0, 6.0, 25.0])
def test_conditional_moments_match_quadrature(shift):
    from scipy import integrate

    from pwaffine._kernels.polygon_moments import conditional_moments

    vertices = np.array([[0.5, -0.3], [2.0, 0.4], [0.3, 1.5]]) + shift * unit(0.7)
    nx, ny, h = _facets(*hull_constraints(vertices))
    log_mass = _kernels.log_std_polygon_mass(nx, ny, h, nx.size)
    got = conditional_moments(nx, ny, h, nx.size, log_mass)
    # Reference: the conditional density on the triangle, integrated by dblquad in
    # barycentric coordinates, relative to its value at the nearest vertex.
    A, B, C = vertices
    J = abs((B - A)[0] * (C - A)[1] - (B - A)[1] * (C - A)[0])
    ref_point = vertices[np.argmin(np.linalg.norm(vertices, axis=1))]
    w = lambda x, y: np.exp(-0.5 * (x * x + y * y - ref_point @ ref_point))  # noqa: E731

    def integral(g):
        fun = lambda v, u: g(*(A + u * (B - A) + v * (C - A))) * J  # noqa: E731
        return integrate.dblquad(fun, 0, 1, 0, lambda u: 1 - u, epsabs=0, epsrel=1e-12)[0]

    P = integral(w)
    want = [integral(lambda x, y: x * w(x, y)) / P, integral(lambda x, y: y * w(x, y)) / P,
            integral(lambda x, y: x * x * w(x, y)) / P, integral(lambda x, y: x * y * w(x, y)) / P,
            integral(lambda x, y: y * y * w(x, y)) / P]
    scale = 1.0 + shift**2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale)
    assert log_mass == pytest.approx(np.log(P) - 0.5 * ref_point @ ref_point - np.log(2 * np.pi),
                                     abs=1e-10)


# --------------------------------------------------------------------------
# The fan of Owen's T values: absolute error within its bound
# --------------------------------------------------------------------------
def _fan_within_bound(nx, ny, h, ref_log):
    """The fan's mass against a reference log mass (accurate to ~5e-14 relative)."""
    p, err = std_polygon_mass_fan(nx, ny, h, nx.size, -math.inf)
    ref = math.exp(ref_log)
    assert abs(p - ref) <= err + 1e-13 * ref, (p, ref, err)
    return p, err


@pytest.mark.parametrize("seed", range(3))
def test_fan_is_within_its_error_bound(seed):
    used = 0
    for nx, ny, h in _random_polygons(seed):
        p, err = _fan_within_bound(nx, ny, h, _kernels.log_std_polygon_mass(nx, ny, h, nx.size))
        used += err <= 1e-13 * p
    # The bound is tight enough to be of use: 160 of the 400 polygons lie within one
    # standard deviation, and most of those get a relative bound below 1e-13.
    assert used >= 100


@settings(max_examples=15)
@given(st.one_of(triangles(max_dist=4.0), unbounded_polygons(max_dist=4.0)))
def test_fan_matches_mpmath(constraints):
    normals, offsets = unit_constraints(*constraints)
    nx, ny, h = _facets(normals, offsets)
    p, err = _fan_within_bound(nx, ny, h, mp_log_mass(np.column_stack([nx, ny]), h))
    assert err <= 2e-14


@pytest.mark.parametrize("opening", [0.3, 1.5, 3.0])
@pytest.mark.parametrize("cut", [None, 0.0, 0.7])
def test_fan_with_the_origin_on_the_boundary(opening, cut):
    # A wedge with its apex at the origin (mass opening / 2pi), possibly cut by a
    # line through the apex's far side or through the origin itself.
    normals = np.array([unit(0.4), unit(0.4 + np.pi - opening)])
    offsets = np.zeros(2)
    if cut is not None:
        c = unit(0.4 + (np.pi - opening) / 2 - np.pi / 2 + np.pi)  # points away from the wedge
        normals = np.vstack([normals, -c])
        offsets = np.append(offsets, cut)
    nx, ny, h = _facets(normals, offsets)
    p, err = _fan_within_bound(nx, ny, h, _kernels.log_std_polygon_mass(nx, ny, h, nx.size))
    if cut is None:
        assert p == pytest.approx(opening / (2 * np.pi), abs=err)


@pytest.mark.parametrize("h0", [-3.0, -1e-200, 0.0, 1e-200, 2.0])
def test_fan_half_planes_and_strips(h0):
    q = 0.5 * math.erfc(-h0 / math.sqrt(2))
    p, err = std_polygon_mass_fan(np.array([0.6]), np.array([0.8]), np.array([h0]), 1, -math.inf)
    assert abs(p - q) <= err
    # The strip -1 <= n.u <= h0 + 2
    nx, ny, h = np.array([0.6, -0.6]), np.array([0.8, -0.8]), np.array([h0 + 2.0, 1.0])
    want = 0.5 * (math.erfc(-(h0 + 2) / math.sqrt(2)) - math.erfc(1 / math.sqrt(2)))
    p, err = std_polygon_mass_fan(nx, ny, h, 2, -math.inf)
    assert abs(p - want) <= err + 2 * EPS


@pytest.mark.parametrize("shift", [3.0, 8.0, 15.0])
def test_fan_stays_relative_far_out(shift):
    # Far polygons of three kinds: nearest to an edge, nearest to a vertex far
    # from the feet of its edges, and one with a far edge beyond 9.1 standard
    # deviations of the origin (dropped in absolute terms before).  The fan's
    # bound is relative to the mass, and holds against mpmath.
    cases = [
        (np.array([[-1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.0, -1.0]]), [-shift, 1.0, shift, 2.0]),
        (np.array([unit(np.pi + 0.3), unit(np.pi - 0.4), unit(0.2)]), [-shift, -0.5 * shift, shift + 1]),
        (np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]),
         [-shift, 0.5, max(9.2, shift + 1.2), 0.5]),
    ]
    for normals, offsets in cases:
        nx, ny, h = _facets(*unit_constraints(normals, np.array(offsets, float)))
        ref = mp_log_mass(np.column_stack([nx, ny]), h, dps=40)
        p, err = std_polygon_mass_fan(nx, ny, h, nx.size, -math.inf)
        assert abs(p - math.exp(ref)) <= err <= 1e-11 * math.exp(ref)


def test_triangle_that_the_panel_check_must_catch():
    # A term of the 2-D benchmark (noise 0.01): with the panel check at 1e-10 the
    # polar rule was off by 6.2e-13; mpmath and the fan agree to 1e-16.
    nx = np.array([-0.67360379, 0.07551323, -0.37362273])
    ny = np.array([-0.73909264, -0.9971448, 0.92758075])
    norm = np.hypot(nx, ny)
    nx, ny, h = nx / norm, ny / norm, np.array([2.89117013, 1.35400567, -0.47246666])
    ref = mp_log_mass(np.column_stack([nx, ny]), h)
    assert rel_err(_kernels.log_std_polygon_mass(nx, ny, h, 3), ref) <= 5e-14
    p, err = _fan_within_bound(nx, ny, h, ref)
    assert abs(p / math.exp(ref) - 1) <= 1e-15
