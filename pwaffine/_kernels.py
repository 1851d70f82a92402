"""All numba kernels of pwaffine.

Kernels take contiguous float64 arrays and scalars, check nothing and allocate
only their scratch space; the Python layer (``_integrals.py``) validates and
precomputes.  Every kernel is compiled with ``cache=True`` so the one-off
compilation cost is paid once per machine, not once per process.

Contents
--------
* scalar special functions: :func:`erfcx`, :func:`log_gauss_tail`,
  :func:`log_interval_mass` (log of a standard normal interval probability,
  accurate far into both tails);
* :func:`logpdf_intervals`: the exact log density of a model with a 1-D
  latent, a loop over points (parallel) x regions x components with
  bound-based skipping of terms that cannot change the result;
  :func:`score_intervals`: its gradient with respect to every parameter;
* region enumeration for a 2-D latent (:func:`split_polygons`,
  :func:`next_maps`, :func:`extract_regions`, :func:`locate_tree`);
* :func:`log_std_polygon_mass`: the standard bivariate normal mass of a
  convex polygon, in log space, accurate far into the tails;
* :func:`logpdf_polygons`: the exact log density of a model with a 2-D latent.
"""

import math

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, nogil=True, error_model="numpy")
_pjit = nb.njit(cache=True, nogil=True, error_model="numpy", parallel=True)

_SQRT_PI = math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_LOG_2 = math.log(2.0)
_LOG_HALF = math.log(0.5)

# Rational approximations of Cody (Math. Comp. 23, 1969), coefficients in
# increasing powers:  erf(x) = x P1(x^2)/Q1(x^2) for |x| < 0.46875,
# erfcx(x) = P2(x)/Q2(x) on [0.46875, 4], and
# erfcx(x) = (1/sqrt(pi) + P3(1/x^2)/(x^2 Q3(1/x^2))) / x beyond.
# Measured against mpmath: relative error <= 6.7e-16 on [0, 1e5].
_ERF_P1 = np.array([2.4266795523053175e2, 2.1979261618294152e1, 6.9963834886191355,
                    -3.5609843701815385e-2])
_ERF_Q1 = np.array([2.1505887586986120e2, 9.1164905404514901e1, 1.5082797630407787e1, 1.0])
_ERFCX_P2 = np.array([3.004592610201616005e2, 4.519189537118729422e2, 3.393208167343436870e2,
                      1.529892850469404039e2, 4.316222722205673530e1, 7.211758250883093659,
                      5.641955174789739711e-1, -1.368648573827167067e-7])
_ERFCX_Q2 = np.array([3.004592609569832933e2, 7.909509253278980272e2, 9.313540948506096211e2,
                      6.389802644656311665e2, 2.775854447439876434e2, 7.700015293522947295e1,
                      1.278272731962942351e1, 1.0])
_ERFCX_P3 = np.array([-2.99610707703542174e-3, -4.94730910623250734e-2, -2.26956593539686930e-1,
                      -2.78661308609647788e-1, -2.23192459734184686e-2])
_ERFCX_Q3 = np.array([1.06209230528467918e-2, 1.91308926107829841e-1, 1.05167510706793207,
                      1.98733201817135256, 1.0])
_ERF_SMALL = 0.46875
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)

# Beyond this, P(U > b) / P(U > a) < exp(-37) ~ 8.5e-17 is dropped.
_TAIL_RATIO_CUT = 37.0

# Intervals with (b - a) * (|mid| + 1) below this are integrated directly by
# 3-point Gauss-Legendre (error < 1e-22 there); wider ones lose at most
# ~eps / 1e-3 relative to cancellation in the tail-ratio formula.
_NARROW = 1e-3
_GL3_X = np.array([-math.sqrt(0.6), 0.0, math.sqrt(0.6)])
_GL3_W = np.array([5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0])
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Points per parallel work item of the density kernels.
_CHUNK = 64


# --------------------------------------------------------------------------
# Scalar special functions
# --------------------------------------------------------------------------
@_jit
def _erf_small(x):
    """``erf(x)`` for ``|x| < 0.46875`` (Cody's rational approximation)."""
    y = x * x
    num = ((_ERF_P1[3] * y + _ERF_P1[2]) * y + _ERF_P1[1]) * y + _ERF_P1[0]
    den = ((_ERF_Q1[3] * y + _ERF_Q1[2]) * y + _ERF_Q1[1]) * y + _ERF_Q1[0]
    return x * num / den


@_jit
def erfcx(x):
    """Scaled complementary error function ``exp(x**2) * erfc(x)`` for ``x >= 0``.

    ``exp(x**2) * erfc(x)`` directly below 0.46875, Cody's rational
    approximations above; relative error below 1e-15 on ``[0, inf)``.
    """
    if x < _ERF_SMALL:
        return math.exp(x * x) * math.erfc(x)
    if x < 4.0:
        num = 0.0
        den = 0.0
        for i in range(7, -1, -1):
            num = num * x + _ERFCX_P2[i]
            den = den * x + _ERFCX_Q2[i]
        return num / den
    if x == math.inf:
        return 0.0
    y = 1.0 / (x * x)
    num = 0.0
    den = 0.0
    for i in range(4, -1, -1):
        num = num * y + _ERFCX_P3[i]
        den = den * y + _ERFCX_Q3[i]
    return (_INV_SQRT_PI + y * num / den) / x


@_jit
def erf_pos(x):
    """``erf(x)`` for ``x >= 0`` (``inf`` allowed), absolute error ~1e-16."""
    if x < _ERF_SMALL:
        return _erf_small(x)
    return 1.0 - math.exp(-x * x) * erfcx(x)


@_jit
def log1mexp(d):
    """``log(1 - exp(d))`` for ``d <= 0``, without cancellation."""
    if d > -_LOG_2:
        return math.log(-math.expm1(d))
    return math.log1p(-math.exp(d))


@_jit
def log_gauss_tail(x):
    """``log P(U > x)`` for a standard normal ``U``; finite for every finite ``x``."""
    if x >= 0.0:
        return -0.5 * x * x + math.log(0.5 * erfcx(x * _INV_SQRT2))
    return math.log1p(-0.5 * math.erfc(-x * _INV_SQRT2))


@_jit
def _log_upper_interval(a, b):
    """``log P(a < U < b)`` for ``0 <= a < b <= inf``.

    ``P(a < U < b) = exp(-a^2/2) [erfcx(a') - erfcx(b') exp(-(b - a)(b + a)/2)] / 2``
    with ``a' = a / sqrt(2)``: the Gaussian factor of ``a`` is taken out
    exactly, so bounds hundreds of standard deviations out stay finite.
    """
    ea = erfcx(a * _INV_SQRT2)
    t = 0.5 * (b - a) * (b + a)
    if t > _TAIL_RATIO_CUT:
        return -0.5 * a * a + math.log(0.5 * ea)
    eb = erfcx(b * _INV_SQRT2)
    return -0.5 * a * a + math.log(0.5 * (ea - eb * math.exp(-t)))


@_jit
def log_interval_mass(a, b):
    """``log P(a < U < b)`` for a standard normal ``U``; ``a`` may be ``-inf``, ``b`` ``inf``.

    Four cases keep every subtraction benign: a narrow interval is integrated
    directly (3-point Gauss-Legendre on the density, relative to its value at
    the midpoint); otherwise both bounds in the upper tail (scaled ``erfcx``
    difference, finite for bounds hundreds of standard deviations out), both
    in the lower tail (by symmetry), or straddling zero (a sum of two ``erf``
    values of the same sign).  Relative error of the probability below 1e-13.  Returns ``-inf`` when ``b <= a``.
    """
    if not b > a:
        return -math.inf
    half = 0.5 * (b - a)
    mid = a + half
    if half * (abs(mid) + 1.0) < 0.5 * _NARROW:
        total = 0.0
        for i in range(3):
            u = half * _GL3_X[i]
            total += _GL3_W[i] * math.exp(-0.5 * u * (2.0 * mid + u))
        return math.log(half * total) - 0.5 * mid * mid - _LOG_SQRT_2PI
    if a >= 0.0:
        return _log_upper_interval(a, b)
    if b <= 0.0:
        return _log_upper_interval(-b, -a)
    return _LOG_HALF + math.log(erf_pos(b * _INV_SQRT2) + erf_pos(-a * _INV_SQRT2))


@_pjit
def log_interval_mass_array(a, b, out):
    """Elementwise :func:`log_interval_mass` over flat arrays."""
    for i in nb.prange(a.shape[0]):
        out[i] = log_interval_mass(a[i], b[i])


# --------------------------------------------------------------------------
# Density for a 1-D latent
# --------------------------------------------------------------------------
@_jit
def _sum_exp(term, top):
    """``sum(exp(term - top))``, 0 when every term is ``-inf``."""
    total = 0.0
    if top > -math.inf:
        for idx in range(term.shape[0]):
            if term[idx] > -math.inf:
                total += math.exp(term[idx] - top)
    return total


@_jit
def _interval_terms(
    X, i, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
    log_skip, line, gauss, term,
):
    """Region-component log terms of point ``i`` (see :func:`logpdf_intervals`).

    Fills ``line[k]`` (the point's coordinate along region k's line) and, per
    term ``idx = k * J + j``, ``gauss`` (the Gaussian part) and ``term`` (the
    log term, ``-inf`` where skipped).  The standardised interval ends of a
    term are ``lo_std - std_slope * line[k]`` and ``hi_std - std_slope *
    line[k]``.  Returns ``(top, total)``: the largest term and
    ``sum(exp(term - top))``.
    """
    n = X.shape[1]
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    best = -math.inf
    best_idx = 0
    for k in range(n_regions):
        w = 0.0
        for t in range(n):
            w += unit[k, t] * (X[i, t] - offset[k, t])
        d = 0.0
        for t in range(n):
            r = X[i, t] - offset[k, t] - w * unit[k, t]
            d += r * r
        line[k] = w
        for j in range(n_components):
            idx = k * n_components + j
            q = w - slope_mean[k, j]
            gpart = log_coef[k, j] - 0.5 * (d + q * q * inv_var[k, j])
            shift = std_slope[k, j] * w
            a = lo_std[k, j] - shift
            b = hi_std[k, j] - shift
            ub = gpart
            if a > 0.0:
                ub -= 0.5 * a * a + _LOG_2
            elif b < 0.0:
                ub -= 0.5 * b * b + _LOG_2
            gauss[idx] = gpart
            term[idx] = ub
            if ub > best:
                best = ub
                best_idx = idx
    top = -math.inf
    cut = -math.inf
    for sweep in range(2):
        for idx in range(n_terms):
            if (sweep == 0) != (idx == best_idx):
                continue
            if term[idx] < cut:
                term[idx] = -math.inf
                continue
            k = idx // n_components
            j = idx - k * n_components
            shift = std_slope[k, j] * line[k]
            value = gauss[idx] + log_interval_mass(lo_std[k, j] - shift, hi_std[k, j] - shift)
            term[idx] = value
            if value > top:
                top = value
                cut = top - log_skip
    return top, _sum_exp(term, top)


@_jit
def _logpdf_intervals_range(
    X, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
    log_const, log_skip, out, start, stop,
):
    """:func:`logpdf_intervals` for the points ``start:stop`` (serial)."""
    n_regions, n_components = log_coef.shape
    line = np.empty(n_regions)
    gauss = np.empty(n_regions * n_components)
    term = np.empty(n_regions * n_components)
    for i in range(start, stop):
        top, total = _interval_terms(
            X, i, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
            log_skip, line, gauss, term,
        )
        out[i] = log_const + top + math.log(total) if top > -math.inf else -math.inf


@_pjit
def logpdf_intervals(
    X, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
    log_const, log_skip, out,
):
    """Log density of ``x = f(z) + noise`` for a 1-D latent, in whitened coordinates.

    Notation (all in noise-whitened coordinates, ``x / noise_std``): region
    ``k`` maps ``z`` to ``g_k * unit_k * z + offset_k`` on ``(lower_k, upper_k)``.
    For a point ``x`` let ``w = unit_k . (x - offset_k)`` and ``d`` the squared
    distance from ``x`` to the line of region ``k``.  The term of region ``k``
    and component ``j`` is::

        log_coef[k, j] - (d + (w - slope_mean[k, j])**2 * inv_var[k, j]) / 2
            + log P(lo_std[k, j] - std_slope[k, j] w < U < hi_std[k, j] - std_slope[k, j] w)

    with ``U`` standard normal: the posterior of ``z`` is normal with mean
    affine in ``w``, and the interval ends are standardised by it.  Then
    ``out[i] = log_const + logsumexp`` of the terms.

    Skipping: a term's Gaussian part plus the bound ``P(U > t) <= exp(-t**2/2)/2``
    on its interval mass is an upper bound on it.  The largest bound's term
    is evaluated first; afterwards a term is skipped when its bound is below
    the largest term found so far minus ``log_skip``.  With
    ``log_skip = 40 + log(n_terms)`` the skipped terms together change the
    density by a relative ``exp(-40) ~ 4e-18`` at most.

    Parameters
    ----------
    X : (n_samples, n) whitened points.
    unit, offset : (K, n) unit direction and offset of each region's line.
    lo_std, hi_std, std_slope : (K, J) standardised interval ends (``-inf``/``inf``
        allowed) and their slope in ``w``.
    log_coef, slope_mean, inv_var : (K, J)
    log_const, log_skip : float
    out : (n_samples,) output.
    """
    n_samples = X.shape[0]
    n_chunks = (n_samples + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        _logpdf_intervals_range(
            X, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
            log_const, log_skip, out, chunk * _CHUNK, min(n_samples, (chunk + 1) * _CHUNK),
        )


@_jit
def logpdf_intervals_serial(
    X, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
    log_const, log_skip, out,
):
    """:func:`logpdf_intervals` on one thread (cheaper for small batches)."""
    _logpdf_intervals_range(
        X, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
        log_const, log_skip, out, 0, X.shape[0],
    )


@_jit
def _truncated_moments(a, b, log_mass):
    """Mean and second moment of a standard normal truncated to ``(a, b)``.

    ``log_mass = log P(a < U < b)``; the density ratios are formed in log
    space so that far-tail intervals do not overflow.
    """
    pa = 0.0
    qa = 0.0
    if a > -math.inf:
        pa = math.exp(-0.5 * a * a - _LOG_SQRT_2PI - log_mass)
        qa = a * pa
    pb = 0.0
    qb = 0.0
    if b < math.inf:
        pb = math.exp(-0.5 * b * b - _LOG_SQRT_2PI - log_mass)
        qb = b * pb
    return pa - pb, 1.0 + qa - qb


@_pjit
def score_intervals(
    X, slopes, unit, offset, lo_std, hi_std, std_slope,
    log_coef, log_weight, log_shape, slope_mean, inv_var, post_gain, post_shift, post_scale,
    means, variances, inv_noise, log_skip,
    log_p, d_weight, d_mean, d_var, d_linear, d_offset, d_noise,
):
    """Gradient of ``log p(x)`` with respect to the model's primitive parameters.

    For each point (whitened as in :func:`logpdf_intervals`) and each term
    ``(k, j)`` with responsibility ``w_kj = term_kj / p``, the posterior of ``z``
    truncated to region ``k`` has mean ``E1`` and second moment ``E2``; then,
    with ``r = x - c_k`` in whitened units and ``s_t`` the noise standard
    deviations::

        d/d weight_j   = sum_k term_kj / (weight_j p)          (raw partial)
        d/d mean_j     = sum_k w_kj (E1 - mean_j) / var_j
        d/d var_j      = sum_k w_kj ((E2 - 2 mean_j E1 + mean_j^2) / var_j - 1) / (2 var_j)
        d/d A_kt       = w_kj (r_t E1 - a_kt E2) / s_t          (A_k: region slope)
        d/d c_kt       = w_kj (r_t - a_kt E1) / s_t
        d/d s_t        = sum w_kj (r_t^2 - 2 a_kt r_t E1 + a_kt^2 E2 - 1) / s_t

    The breakpoints' own derivatives cancel because ``f`` is continuous.
    Components of weight 0 (``log_weight = -inf``) get their raw weight
    partial from all regions, unskipped.  ``log_p`` excludes the constant
    ``log_const`` of :func:`logpdf_intervals`.

    Parameters
    ----------
    slopes : (K, n) whitened region slopes; ``log_shape = log_coef - log_weight``
        (finite also for zero weights); ``means``, ``variances`` : (J,).
    Outputs ``d_weight``, ``d_mean``, ``d_var`` : (N, J); ``d_linear``,
    ``d_offset`` : (N, K, n); ``d_noise`` : (N, n); all overwritten.
    """
    n_samples, n = X.shape
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    n_chunks = (n_samples + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        line = np.empty(n_regions)
        gauss = np.empty(n_terms)
        term = np.empty(n_terms)
        for i in range(chunk * _CHUNK, min(n_samples, (chunk + 1) * _CHUNK)):
            top, total = _interval_terms(
                X, i, unit, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_var,
                log_skip, line, gauss, term,
            )
            lp = top + math.log(total)
            log_p[i] = lp
            for j in range(n_components):
                d_weight[i, j] = 0.0
                d_mean[i, j] = 0.0
                d_var[i, j] = 0.0
            for k in range(n_regions):
                for t in range(n):
                    d_linear[i, k, t] = 0.0
                    d_offset[i, k, t] = 0.0
            for t in range(n):
                d_noise[i, t] = 0.0
            for idx in range(n_terms):
                if term[idx] == -math.inf:
                    continue
                k = idx // n_components
                j = idx - k * n_components
                resp = math.exp(term[idx] - lp)
                log_mass = term[idx] - gauss[idx]
                shift = std_slope[k, j] * line[k]
                r1, r2 = _truncated_moments(lo_std[k, j] - shift, hi_std[k, j] - shift, log_mass)
                sd = 1.0 / post_scale[k, j]
                m = post_gain[k, j] * line[k] + post_shift[k, j]
                e1 = m + sd * r1
                e2 = m * m + 2.0 * m * sd * r1 + sd * sd * r2
                mu = means[j]
                var = variances[j]
                d_weight[i, j] += math.exp(term[idx] - lp - log_weight[j])
                d_mean[i, j] += resp * (e1 - mu) / var
                d_var[i, j] += resp * ((e2 - 2.0 * mu * e1 + mu * mu) / var - 1.0) / (2.0 * var)
                for t in range(n):
                    r = X[i, t] - offset[k, t]
                    a = slopes[k, t]
                    d_linear[i, k, t] += resp * (r * e1 - a * e2) * inv_noise[t]
                    d_offset[i, k, t] += resp * (r - a * e1) * inv_noise[t]
                    d_noise[i, t] += resp * (r * r - 2.0 * a * r * e1 + a * a * e2 - 1.0) * inv_noise[t]
            # Raw weight partials of absent components: p_j(x) / p(x), unskipped.
            for j in range(n_components):
                if log_weight[j] > -math.inf:
                    continue
                for k in range(n_regions):
                    w = line[k]
                    d = 0.0
                    for t in range(n):
                        r = X[i, t] - offset[k, t] - w * unit[k, t]
                        d += r * r
                    q = w - slope_mean[k, j]
                    shift = std_slope[k, j] * w
                    value = (log_shape[k, j] - 0.5 * (d + q * q * inv_var[k, j])
                             + log_interval_mass(lo_std[k, j] - shift, hi_std[k, j] - shift))
                    d_weight[i, j] += math.exp(value - lp)


# --------------------------------------------------------------------------
# Region enumeration for a 2-D latent: polygons cut along unit lines
# --------------------------------------------------------------------------
# Numba kernels for the affine regions of networks with a 2-D input.
#
# (Written to be appended to ``_kernels.py``: numba functions and constants only.)
#
# Geometry is done in homogeneous coordinates of the oriented projective plane:
# a vertex is ``(x, y, w)`` with ``w = 1`` for a finite point and ``w = 0`` for a
# point at infinity, i.e. a unit direction.  A convex polygon, bounded or not,
# is the cyclic counterclockwise list of its vertices, each carrying its
# *outgoing* edge: the outward unit normal ``(nx, ny)`` and offset ``off`` of the
# half-plane ``nx x + ny y <= off`` the edge lies on, plus an integer line id
# (``_AT_INFINITY`` for an edge on the line at infinity).  The whole plane is the
# "square at infinity" with vertices ``(1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, 0)``.
# With this encoding one clipping routine (Sutherland-Hodgman) serves bounded
# and unbounded polygons alike: the value of ``u . (x, y) + d w`` at a point at
# infinity is the slope of the line's function along that direction.
#
# Contents
# --------
# * :func:`split_polygons`: one layer of the enumeration; every polygon is cut
#   by the zero line of each unit of the layer, recording the activation
#   pattern of every piece and the cuts in a binary search tree;
#   :func:`next_maps` then gives each piece its next layer's maps;
# * :func:`extract_regions`: the non-redundant, angle-sorted half-plane
#   description of each final polygon, and :func:`halfplane_vertices` its
#   vertices and rays (computed from the half-planes, so the two agree);
# * :func:`locate_tree`: point location by descending the search tree.

# A vertex is on the zero line of a cut when |u . v + d w| is below this
# relative tolerance times |x| + |y| + |d| for a finite vertex, or below it for
# a point at infinity (a unit direction).  About 64 ulp: above the rounding
# error of a vertex that was itself computed as an intersection, far below any
# geometry a network's weights produce.  The scale is the vertex's own, not
# the polygon's: a polygon with a vertex at 1e15 (nearly parallel lines) must
# not snap its vertices near the origin onto lines 1 away.
_SIDE_RTOL = 2.0**-46

# An edge is tested for redundancy only where it and its two neighbours meet
# pairwise at angles whose sines exceed this.  The test accepts a corner
# within the cut tolerance of the edge's line; with angles theta between the
# three lines a wrongly pruned edge gives up a sliver of length ~tolerance /
# theta, which this keeps within ~1e-8 of the corner's distance from the
# origin (nearly parallel lines meet far away, and the sliver between them
# would otherwise reach back to the origin).
_PRUNE_MIN_TURN = 2.0**-20

# Unit roundoff of float64 (machine epsilon).
_F64_EPS = 2.0**-52

# Line id of an edge lying on the line at infinity.
_AT_INFINITY = -1


# --------------------------------------------------------------------------
# Growable storage
# --------------------------------------------------------------------------
@_jit
def _grow_rows(arr, need):
    """Return ``arr`` or a copy with at least ``need`` rows (2-D arrays)."""
    if need <= arr.shape[0]:
        return arr
    cap = max(need, 2 * arr.shape[0])
    out = np.empty((cap, arr.shape[1]), dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@_jit
def _grow_vec(arr, need):
    """Return ``arr`` or a copy with at least ``need`` entries (1-D arrays)."""
    if need <= arr.shape[0]:
        return arr
    cap = max(need, 2 * arr.shape[0])
    out = np.empty(cap, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


# --------------------------------------------------------------------------
# Clipping one polygon by one line
# --------------------------------------------------------------------------
@_jit
def _classify(V, start, cnt, u1, u2, d, sval, sig):
    """Sign of ``u . v + d w`` at each vertex, zero within the tolerance.

    Returns ``1 * (some vertex > 0) + 2 * (some vertex < 0)``.
    """
    code = 0
    for i in range(cnt):
        x = V[start + i, 0]
        y = V[start + i, 1]
        w = V[start + i, 2]
        s = u1 * x + u2 * y + d * w
        tol = _SIDE_RTOL * (abs(x) + abs(y) + abs(d)) if w != 0.0 else _SIDE_RTOL
        sval[i] = s
        if s > tol:
            sig[i] = 1
            code |= 1
        elif s < -tol:
            sig[i] = -1
            code |= 2
        else:
            sig[i] = 0
    return code


@_jit
def _crossings(V, E, L, start, cnt, u1, u2, d, sval, sig, cross):
    """Points where edges with strictly opposite end signs meet the line.

    A finite crossing is the intersection of the cut with the edge's own line
    (:func:`_intersect`), accurate relative to its own size even on an edge
    whose ends are far away (two nearly parallel lines meet at 1e15: the ends
    are then known to ~0.1 only).  The two polygons sharing an edge store its
    line with opposite signs, which leaves the computed intersection
    bit-identical, so they agree on the crossing.  Crossings on
    the line at infinity, and the rare ill-conditioned case whose solution
    falls outside the edge, use ``R = |s_Q| P + |s_P| Q`` (normalised), a
    convex combination symmetric in ``P, Q``.
    """
    for i in range(cnt):
        j = i + 1 if i + 1 < cnt else 0
        if sig[i] * sig[j] >= 0:
            continue
        p = start + i
        q = start + j
        if L[p] != _AT_INFINITY:
            n1 = E[p, 0]
            n2 = E[p, 1]
            off = E[p, 2]
            x, y = _intersect(u1, u2, -d, n1, n2, off)
            if math.isfinite(x) and math.isfinite(y):
                if _on_segment(V, p, q, x, y):
                    cross[i, 0] = x + 0.0
                    cross[i, 1] = y + 0.0
                    cross[i, 2] = 1.0
                    continue
        a = abs(sval[j])
        b = abs(sval[i])
        rx = a * V[p, 0] + b * V[q, 0]
        ry = a * V[p, 1] + b * V[q, 1]
        rw = a * V[p, 2] + b * V[q, 2]
        if rw > 0.0:
            cross[i, 0] = rx / rw + 0.0
            cross[i, 1] = ry / rw + 0.0
            cross[i, 2] = 1.0
        else:
            h = math.hypot(rx, ry)
            cross[i, 0] = rx / h + 0.0
            cross[i, 1] = ry / h + 0.0
            cross[i, 2] = 0.0


@_jit
def _intersect(a1, a2, ra, b1, b2, rb):
    """Solve ``a . z = ra, b . z = rb`` by Gaussian elimination with partial pivoting.

    Backward stable: the result is within a few ulp of *both* lines even when
    they are nearly parallel (Cramer's rule is not).  Negating a row (``b, rb``
    -> ``-b, -rb``) negates every intermediate exactly and leaves the result
    unchanged.  Returns non-finite values for parallel lines.
    """
    if abs(b1) > abs(a1):
        a1, a2, ra, b1, b2, rb = b1, b2, rb, a1, a2, ra
    if a1 == 0.0:
        return math.nan, math.nan
    f = b1 / a1
    y = (rb - f * ra) / (b2 - f * a2)
    x = (ra - a2 * y) / a1
    return x, y


@_jit
def _on_segment(V, p, q, x, y):
    """Whether ``(x, y)`` lies on the edge from vertex ``p`` to ``q`` (up to ~64 ulp).

    Tested on the projection onto the edge direction, so the test is symmetric
    in ``p, q``; an end at infinity leaves that side of the edge open.
    """
    if V[p, 2] == 0.0 and V[q, 2] == 0.0:
        return False
    if V[p, 2] != 0.0 and V[q, 2] != 0.0:
        tx = V[q, 0] - V[p, 0]
        ty = V[q, 1] - V[p, 1]
    elif V[q, 2] == 0.0:
        tx = V[q, 0]
        ty = V[q, 1]
    else:
        tx = -V[p, 0]
        ty = -V[p, 1]
    pos = tx * x + ty * y
    slack = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(x) + abs(y))
    if V[p, 2] != 0.0:
        lo = tx * V[p, 0] + ty * V[p, 1]
        slack_p = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(V[p, 0]) + abs(V[p, 1]))
        if pos < lo - slack - slack_p:
            return False
    if V[q, 2] != 0.0:
        hi = tx * V[q, 0] + ty * V[q, 1]
        slack_q = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(V[q, 0]) + abs(V[q, 1]))
        if pos > hi + slack + slack_q:
            return False
    return math.isfinite(pos)


@_jit
def _emit_piece(V, E, L, start, cnt, sig, cross, side, u1, u2, d, line_id, pos):
    """Write the part of a polygon on one side of a line at row ``pos``.

    ``side = -1`` keeps ``u . z + d <= 0``, ``side = 1`` keeps ``>= 0``; both
    pieces are built from the same vertex signs, so they tile the polygon.
    Vertices between two edges on one line are removed unless both their
    neighbours are at infinity.  Returns the number of vertices written
    (``V, E, L`` must have room for ``4 * cnt + 3`` more rows).
    """
    nx = side * -u1 + 0.0  # + 0.0: no negative zeros, so atan2 stays in (-pi, pi]
    ny = side * -u2 + 0.0
    off = side * d + 0.0
    n = pos
    for i in range(cnt):
        j = i + 1 if i + 1 < cnt else 0
        ti = sig[i] * side
        tj = sig[j] * side
        if ti >= 0:
            finite = V[start + i, 2] != 0.0
            h = i - 1 if i > 0 else cnt - 1
            if ti == 0 and finite and sig[h] * side < 0:
                # Arriving along the cut at a vertex on the line: keep a
                # zero-length piece of the edge before it.  The vertex is on
                # the line only up to the tolerance, so that edge may still
                # bound this piece; extract_regions drops it if redundant.
                V[n] = V[start + i]
                E[n] = E[start + h]
                L[n] = L[start + h]
                n += 1
            V[n, 0] = V[start + i, 0]
            V[n, 1] = V[start + i, 1]
            V[n, 2] = V[start + i, 2]
            if ti > 0 or tj >= 0 or finite:
                E[n, 0] = E[start + i, 0]
                E[n, 1] = E[start + i, 1]
                E[n, 2] = E[start + i, 2]
                L[n] = L[start + i]
            else:  # leaves the boundary here, along the cut
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
            n += 1
            if ti == 0 and finite and tj < 0:
                # Leaving along the cut: likewise a zero-length piece of the
                # edge after the vertex (written above), then the cut.
                V[n] = V[start + i]
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
                n += 1
        if ti * tj < 0:
            V[n, 0] = cross[i, 0]
            V[n, 1] = cross[i, 1]
            V[n, 2] = cross[i, 2]
            if tj > 0:  # entering the kept side: continue along edge i
                E[n, 0] = E[start + i, 0]
                E[n, 1] = E[start + i, 1]
                E[n, 2] = E[start + i, 2]
                L[n] = L[start + i]
            else:
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
            n += 1
    count = n - pos
    # A cut edge between two points at infinity is the whole line; the segment
    # between antipodal points is ambiguous, so put a finite point on it.
    for k in range(count):
        a = pos + k
        b = pos + (k + 1) % count
        if L[a] == line_id and V[a, 2] == 0.0 and V[b, 2] == 0.0:
            for r in range(pos + count, a + 1, -1):
                V[r] = V[r - 1]
                E[r] = E[r - 1]
                L[r] = L[r - 1]
            V[a + 1, 0] = -d * u1 + 0.0
            V[a + 1, 1] = -d * u2 + 0.0
            V[a + 1, 2] = 1.0
            E[a + 1, 0] = nx
            E[a + 1, 1] = ny
            E[a + 1, 2] = off
            L[a + 1] = line_id
            count += 1
            break
    # Such a point is dropped again once a cut has made one of its neighbours
    # finite: kept, its sign (tolerance relative to its own size) could
    # disagree with its collinear neighbours' and split off a degenerate piece.
    k = 0
    while k < count and count > 3:
        a = pos + k
        prev = pos + (k - 1) % count
        nxt = pos + (k + 1) % count
        if V[a, 2] != 0.0 and L[prev] == L[a] and (V[prev, 2] != 0.0 or V[nxt, 2] != 0.0):
            for r in range(a, pos + count - 1):
                V[r] = V[r + 1]
                E[r] = E[r + 1]
                L[r] = L[r + 1]
            count -= 1
        else:
            k += 1
    return count


@_jit
def _find_anchor(V, E, L, start, cnt, u1, u2, d, code):
    """A point on an edge whose sign contradicts the vertex signs, if any.

    A vertex's tolerance grows with its distance from the origin, so a polygon
    whose vertices are all far away (a long strip between nearly parallel
    lines) can look like it lies on the line while it crosses it near the
    origin.  The foot of the origin on each edge line, when strictly inside
    the edge, is tested with its own (small) tolerance.  Returns the edge and
    the point, or ``(-1, 0, 0)``: the first foot that is strictly signed when
    no vertex is (``code == 0``), or strictly of the sign no vertex has.
    """
    for i in range(cnt):
        p = start + i
        if L[p] == _AT_INFINITY:
            continue
        q = start + (i + 1) % cnt
        nx = E[p, 0]
        ny = E[p, 1]
        fx = E[p, 2] * nx
        fy = E[p, 2] * ny
        # Position along the edge's direction (-ny, nx); the foot is at 0.
        if V[p, 2] != 0.0:
            tp = -ny * V[p, 0] + nx * V[p, 1]
            if not tp < -_SIDE_RTOL * (abs(V[p, 0]) + abs(V[p, 1])):
                continue
        if V[q, 2] != 0.0:
            tq = -ny * V[q, 0] + nx * V[q, 1]
            if not tq > _SIDE_RTOL * (abs(V[q, 0]) + abs(V[q, 1])):
                continue
        s = u1 * fx + u2 * fy + d
        tol = _SIDE_RTOL * (abs(fx) + abs(fy) + abs(d))
        if (s > tol and code != 1) or (s < -tol and code != 2):
            return i, fx, fy
    return -1, 0.0, 0.0


# --------------------------------------------------------------------------
# One layer of the enumeration
# --------------------------------------------------------------------------
@_jit
def split_polygons(ptr, V, E, L, slot, A, c, node_line, node_child, n_nodes, next_line):
    """Cut every polygon by the zero lines of one layer's units.

    Parameters
    ----------
    ptr : (n_poly + 1,) int64 vertex CSR pointers.
    V, E : (n_vert, 3) vertices ``(x, y, w)`` and outgoing edges ``(nx, ny, off)``.
    L : (n_vert,) int64 line id of each outgoing edge.
    slot : (n_poly,) int64 tree slot ``2 * node + side`` of each polygon.
    A, c : (n_poly, n_units, 2), (n_poly, n_units) pre-activation maps.
    node_line, node_child : search tree, ``(cap, 3)`` float64 and ``(cap, 2)`` int64.
    n_nodes, next_line : int, used tree nodes and next free line id.

    Returns
    -------
    ptr, V, E, L, slot, parent, active, node_line, node_child, n_nodes, next_line
        The pieces, each piece's polygon of origin and activation pattern
        (uint8 of shape (n_pieces, n_units)), and the grown tree.

    Notes
    -----
    Each polygon's pieces live in a scratch buffer while the units are applied
    one after the other; a piece entirely on one side of a unit's line (every
    vertex sign >= 0, or <= 0) is not cut and takes the activation of that
    side.  A unit whose gradient is zero on the polygon is active iff its
    constant is positive.
    """
    n_poly = ptr.shape[0] - 1
    n_units = c.shape[1]
    # Output.
    o_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    o_V = np.empty((max(16, 2 * V.shape[0]), 3))
    o_E = np.empty((o_V.shape[0], 3))
    o_L = np.empty(o_V.shape[0], dtype=np.int64)
    o_slot = np.empty(max(4, 2 * n_poly), dtype=np.int64)
    o_parent = np.empty(o_slot.shape[0], dtype=np.int64)
    o_active = np.empty((o_slot.shape[0], n_units), dtype=np.uint8)
    n_out = 0
    n_vert_out = 0
    # Scratch for the pieces of one polygon.
    s_V = np.empty((256, 3))
    s_E = np.empty((256, 3))
    s_L = np.empty(256, dtype=np.int64)
    p_start = np.empty(64, dtype=np.int64)
    p_cnt = np.empty(64, dtype=np.int64)
    p_slot = np.empty(64, dtype=np.int64)
    p_bits = np.empty((64, n_units), dtype=np.uint8)
    sval = np.empty(64)
    sig = np.empty(64, dtype=np.int64)
    cross = np.empty((64, 3))

    for p in range(n_poly):
        cnt0 = ptr[p + 1] - ptr[p]
        s_V = _grow_rows(s_V, cnt0)
        s_E = _grow_rows(s_E, cnt0)
        s_L = _grow_vec(s_L, cnt0)
        for i in range(cnt0):
            s_V[i] = V[ptr[p] + i]
            s_E[i] = E[ptr[p] + i]
            s_L[i] = L[ptr[p] + i]
        top = cnt0
        n_pieces = 1
        p_start[0] = 0
        p_cnt[0] = cnt0
        p_slot[0] = slot[p]
        for j in range(n_units):
            a1 = A[p, j, 0]
            a2 = A[p, j, 1]
            norm = math.hypot(a1, a2)
            d = c[p, j] / norm if norm > 0.0 else math.inf
            if not (norm > 0.0 and math.isfinite(d)):
                bit = 1 if c[p, j] > 0.0 else 0
                for q in range(n_pieces):
                    p_bits[q, j] = bit
                continue
            u1 = a1 / norm
            u2 = a2 / norm
            line_id = next_line
            next_line += 1
            for q in range(n_pieces):
                start = p_start[q]
                cnt = p_cnt[q]
                if sval.shape[0] < cnt:
                    sval = np.empty(2 * cnt)
                    sig = np.empty(2 * cnt, dtype=np.int64)
                    cross = np.empty((2 * cnt, 3))
                code = _classify(s_V, start, cnt, u1, u2, d, sval, sig)
                for _ in range(cnt):
                    if code == 3:
                        break
                    # Vertices far out have wide tolerances: check the point of
                    # each edge nearest the origin before trusting them, and
                    # add it as a vertex if it disagrees.
                    e, ax, ay = _find_anchor(s_V, s_E, s_L, start, cnt, u1, u2, d, code)
                    if e < 0:
                        break
                    need = top + cnt + 1
                    s_V = _grow_rows(s_V, need)
                    s_E = _grow_rows(s_E, need)
                    s_L = _grow_vec(s_L, need)
                    for i in range(cnt + 1):
                        src = start + (i if i <= e else i - 1)
                        s_V[top + i] = s_V[src]
                        s_E[top + i] = s_E[src]
                        s_L[top + i] = s_L[src]
                    s_V[top + e + 1, 0] = ax
                    s_V[top + e + 1, 1] = ay
                    s_V[top + e + 1, 2] = 1.0
                    start = top
                    cnt += 1
                    top += cnt
                    p_start[q] = start
                    p_cnt[q] = cnt
                    if sval.shape[0] < cnt:
                        sval = np.empty(2 * cnt)
                        sig = np.empty(2 * cnt, dtype=np.int64)
                        cross = np.empty((2 * cnt, 3))
                    code = _classify(s_V, start, cnt, u1, u2, d, sval, sig)
                if code != 3:
                    # Entirely on one side (a piece with every vertex on the
                    # line has no area; call it active).
                    p_bits[q, j] = 0 if code == 2 else 1
                    continue
                _crossings(s_V, s_E, s_L, start, cnt, u1, u2, d, sval, sig, cross)
                need = top + 8 * cnt + 8
                s_V = _grow_rows(s_V, need)
                s_E = _grow_rows(s_E, need)
                s_L = _grow_vec(s_L, need)
                n_neg = _emit_piece(s_V, s_E, s_L, start, cnt, sig, cross, -1,
                                    u1, u2, d, line_id, top)
                n_pos = _emit_piece(s_V, s_E, s_L, start, cnt, sig, cross, 1,
                                    u1, u2, d, line_id, top + n_neg)
                # Search tree: a node for the cut, the pieces in its two slots.
                node_line = _grow_rows(node_line, n_nodes + 1)
                node_child = _grow_rows(node_child, n_nodes + 1)
                node_line[n_nodes, 0] = u1
                node_line[n_nodes, 1] = u2
                node_line[n_nodes, 2] = d
                node_child[n_nodes, 0] = -1
                node_child[n_nodes, 1] = -1
                parent_slot = p_slot[q]
                node_child[parent_slot // 2, parent_slot % 2] = n_nodes
                if n_pieces + 1 > p_start.shape[0]:
                    p_start = _grow_vec(p_start, n_pieces + 1)
                    p_cnt = _grow_vec(p_cnt, n_pieces + 1)
                    p_slot = _grow_vec(p_slot, n_pieces + 1)
                    p_bits = _grow_rows(p_bits, n_pieces + 1)
                p_start[q] = top
                p_cnt[q] = n_neg
                p_slot[q] = 2 * n_nodes
                p_bits[n_pieces] = p_bits[q]
                p_start[n_pieces] = top + n_neg
                p_cnt[n_pieces] = n_pos
                p_slot[n_pieces] = 2 * n_nodes + 1
                p_bits[q, j] = 0
                p_bits[n_pieces, j] = 1
                n_pieces += 1
                n_nodes += 1
                top += n_neg + n_pos
        # Copy the pieces out.
        total = 0
        for q in range(n_pieces):
            total += p_cnt[q]
        o_V = _grow_rows(o_V, n_vert_out + total)
        o_E = _grow_rows(o_E, n_vert_out + total)
        o_L = _grow_vec(o_L, n_vert_out + total)
        o_slot = _grow_vec(o_slot, n_out + n_pieces)
        o_parent = _grow_vec(o_parent, n_out + n_pieces)
        o_active = _grow_rows(o_active, n_out + n_pieces)
        o_ptr = _grow_vec(o_ptr, n_out + n_pieces + 1)
        for q in range(n_pieces):
            for i in range(p_cnt[q]):
                o_V[n_vert_out] = s_V[p_start[q] + i]
                o_E[n_vert_out] = s_E[p_start[q] + i]
                o_L[n_vert_out] = s_L[p_start[q] + i]
                n_vert_out += 1
            o_slot[n_out] = p_slot[q]
            o_parent[n_out] = p
            o_active[n_out] = p_bits[q]
            n_out += 1
            o_ptr[n_out] = n_vert_out
    return (
        o_ptr[: n_out + 1].copy(), o_V[:n_vert_out].copy(), o_E[:n_vert_out].copy(),
        o_L[:n_vert_out].copy(), o_slot[:n_out].copy(), o_parent[:n_out].copy(),
        o_active[:n_out].copy(), node_line, node_child, n_nodes, next_line,
    )


@_jit
def next_maps(A, c, parent, active, slope, W, b, snap, A_out, c_out):
    """Pre-activation maps of the next layer on every piece.

    Piece ``i`` inherits ``A[parent[i]], c[parent[i]]``; its activations scale
    unit ``u`` by ``1`` (active) or ``slope``, and the next layer gives
    ``A_out[i] = W @ (g * A)``, ``c_out[i] = W @ (g * c) + b``.  With ``snap``
    (hidden layers), an entry whose magnitude does not exceed its
    rounding-error bound ``(n_units + 1) * eps * sum |terms|`` is set to zero:
    a cancellation then gives an exactly constant unit, or an exact zero
    coordinate, instead of a line at ~1e16.  Written as loops rather than a
    batched matrix product, which small matrices on a busy machine make slow
    through BLAS threading.
    """
    n_pieces = parent.shape[0]
    n_units = c.shape[1]
    n_next = W.shape[0]
    gamma = (n_units + 1) * _F64_EPS
    h0 = np.empty(n_units)
    h1 = np.empty(n_units)
    hc = np.empty(n_units)
    for i in range(n_pieces):
        p = parent[i]
        for u in range(n_units):
            g = 1.0 if active[i, u] else slope
            h0[u] = g * A[p, u, 0]
            h1[u] = g * A[p, u, 1]
            hc[u] = g * c[p, u]
        for o in range(n_next):
            s0 = 0.0
            s1 = 0.0
            sc = b[o]
            m0 = 0.0
            m1 = 0.0
            mc = abs(b[o])
            for u in range(n_units):
                w = W[o, u]
                s0 += w * h0[u]
                s1 += w * h1[u]
                sc += w * hc[u]
                if snap:
                    m0 += abs(w * h0[u])
                    m1 += abs(w * h1[u])
                    mc += abs(w * hc[u])
            if snap:
                if abs(s0) <= gamma * m0:
                    s0 = 0.0
                if abs(s1) <= gamma * m1:
                    s1 = 0.0
                if abs(sc) <= gamma * mc:
                    sc = 0.0
            A_out[i, o, 0] = s0
            A_out[i, o, 1] = s1
            c_out[i, o] = sc


# --------------------------------------------------------------------------
# Final descriptions
# --------------------------------------------------------------------------
@_jit
def extract_regions(ptr, V, E, L):
    """Half-plane descriptions of the final polygons.

    Consecutive edges on the same line are merged and edges at infinity
    dropped.  An edge between two edges that meet in a proper corner ``X``
    (turning by less than ``pi``; the three lines pairwise at angles above
    ``_PRUNE_MIN_TURN``) is redundant when ``X`` satisfies its constraint up
    to the cut tolerance;
    such edges (the zero-length edges kept at vertices on a cut) are removed
    until none is left.  The rest are
    sorted by normal angle (``atan2(ny, nx)`` in ``(-pi, pi]``); of two edges
    whose angles differ by at most ``_SIDE_RTOL`` (parallel for the cuts, and
    far more than the ulp by which two ``atan2`` implementations may differ)
    only the tighter constraint is kept, and the other is counted as dropped.

    Returns
    -------
    edge_ptr, normals, offsets, n_dropped
    """
    n_poly = ptr.shape[0] - 1
    n_vert = V.shape[0]
    edge_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    normals = np.empty((n_vert, 2))
    offsets = np.empty(n_vert)
    n_edges = 0
    n_dropped = 0
    idx = np.empty(64, dtype=np.int64)
    gap = np.empty(64, dtype=np.bool_)
    nxt = np.empty(64, dtype=np.int64)
    prv = np.empty(64, dtype=np.int64)
    ang = np.empty(64)
    for k in range(n_poly):
        s = ptr[k]
        cnt = ptr[k + 1] - s
        if idx.shape[0] < cnt:
            idx = np.empty(2 * cnt, dtype=np.int64)
            gap = np.empty(2 * cnt, dtype=np.bool_)
            nxt = np.empty(2 * cnt, dtype=np.int64)
            prv = np.empty(2 * cnt, dtype=np.int64)
            ang = np.empty(2 * cnt)
        # Edges in boundary order, one per run of a line; gap[t]: the
        # boundary passes through infinity just before edge t.
        i0 = 0
        for i in range(cnt):
            if L[s + i] != L[s + (i - 1) % cnt]:
                i0 = i
                break
        m = 0
        last = _AT_INFINITY
        pending = False
        for t in range(cnt):
            i = s + (i0 + t) % cnt
            if L[i] == _AT_INFINITY:
                pending = True
            elif m == 0 or L[i] != last:
                idx[m] = i
                gap[m] = pending
                pending = False
                m += 1
            last = L[i]
        if m > 1 and not pending and not gap[0] and L[idx[0]] == L[idx[m - 1]]:
            m -= 1
        if m > 0:
            gap[0] = gap[0] or pending
        # Prune redundant edges.
        for t in range(m):
            nxt[t] = (t + 1) % m
            prv[t] = (t - 1) % m
        alive = m
        head = 0
        changed = True
        while changed and alive >= 3:
            changed = False
            t = head
            for _ in range(alive):
                a = prv[t]
                b = nxt[t]
                c = nxt[t]
                if not gap[t] and not gap[b]:
                    ea = idx[a]
                    eb = idx[b]
                    et = idx[t]
                    turn = E[ea, 0] * E[eb, 1] - E[ea, 1] * E[eb, 0]
                    turn_a = E[ea, 0] * E[et, 1] - E[ea, 1] * E[et, 0]
                    turn_b = E[et, 0] * E[eb, 1] - E[et, 1] * E[eb, 0]
                    if min(turn, abs(turn_a), abs(turn_b)) > _PRUNE_MIN_TURN:
                        x, y = _intersect(E[ea, 0], E[ea, 1], E[ea, 2],
                                          E[eb, 0], E[eb, 1], E[eb, 2])
                        slack = E[et, 0] * x + E[et, 1] * y - E[et, 2]
                        tol = _SIDE_RTOL * (abs(x) + abs(y) + abs(E[et, 2]))
                        if slack <= tol:
                            nxt[a] = b
                            prv[b] = a
                            if head == t:
                                head = b
                            alive -= 1
                            changed = True
                            if alive < 3:
                                break
                t = c
        # Sort by angle (for a convex boundary this only rotates it; a
        # boundary made slightly non-convex by rounding gets sorted too).
        t = head
        for r in range(alive):
            ang[r] = math.atan2(E[idx[t], 1], E[idx[t], 0])
            prv[r] = idx[t]
            t = nxt[t]
        order = np.argsort(ang[:alive])
        prev = -math.inf
        for r in range(alive):
            i = prv[order[r]]
            a = ang[order[r]]
            if a > prev + _SIDE_RTOL:
                normals[n_edges, 0] = E[i, 0]
                normals[n_edges, 1] = E[i, 1]
                offsets[n_edges] = E[i, 2]
                n_edges += 1
                prev = a
            else:
                # Parallel for the cuts: keep the tighter constraint.
                if E[i, 2] < offsets[n_edges - 1]:
                    normals[n_edges - 1, 0] = E[i, 0]
                    normals[n_edges - 1, 1] = E[i, 1]
                    offsets[n_edges - 1] = E[i, 2]
                n_dropped += 1
        edge_ptr[k + 1] = n_edges
    return edge_ptr, normals[:n_edges].copy(), offsets[:n_edges].copy(), n_dropped


@_jit
def _is_antiparallel(n, m):
    """Whether unit vectors ``n, m`` point in opposite directions within ``_SIDE_RTOL``."""
    return n[0] * m[0] + n[1] * m[1] < 0.0 and abs(n[0] * m[1] - n[1] * m[0]) <= _SIDE_RTOL


@_jit
def halfplane_vertices(edge_ptr, normals, offsets):
    """Vertices and rays of every region, from its sorted half-planes.

    The largest angular gap between cyclically consecutive normals decides:
    below ``pi`` (less the parallel tolerance) the region is bounded and its
    vertices are the intersections
    of consecutive edge lines; otherwise the gap is the region's opening to
    infinity, the chain of edges after it gives the vertices, and the first
    and last edge directions give the two rays (``rays[0]`` leaving the last
    vertex, ``rays[1]`` leading to the first).  Without a vertex (the plane,
    a half-plane, or a strip of two antiparallel normals) the points are the
    feet of the origin on the lines (the origin for the plane) and the rays
    span the recession cone.

    Returns
    -------
    point_ptr, points, ray_ptr, rays
    """
    n_poly = edge_ptr.shape[0] - 1
    n_edges = normals.shape[0]
    point_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    points = np.empty((n_edges + n_poly, 2))
    ray_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    rays = np.empty((n_edges + 4 * n_poly, 2))
    n_points = 0
    n_rays = 0
    for k in range(n_poly):
        s = edge_ptr[k]
        m = edge_ptr[k + 1] - s
        if m == 0:
            points[n_points, 0] = 0.0
            points[n_points, 1] = 0.0
            n_points += 1
            rays[n_rays, 0] = 1.0
            rays[n_rays, 1] = 0.0
            rays[n_rays + 1, 0] = 0.0
            rays[n_rays + 1, 1] = 1.0
            rays[n_rays + 2, 0] = -1.0
            rays[n_rays + 2, 1] = 0.0
            rays[n_rays + 3, 0] = 0.0
            rays[n_rays + 3, 1] = -1.0
            n_rays += 4
        elif m == 1 or (m == 2 and _is_antiparallel(normals[s], normals[s + 1])):
            for e in range(s, s + m):
                points[n_points, 0] = offsets[e] * normals[e, 0] + 0.0
                points[n_points, 1] = offsets[e] * normals[e, 1] + 0.0
                n_points += 1
            rays[n_rays, 0] = -normals[s, 1] + 0.0
            rays[n_rays, 1] = normals[s, 0] + 0.0
            rays[n_rays + 1, 0] = normals[s, 1] + 0.0
            rays[n_rays + 1, 1] = -normals[s, 0] + 0.0
            n_rays += 2
            if m == 1:
                rays[n_rays, 0] = -normals[s, 0] + 0.0
                rays[n_rays, 1] = -normals[s, 1] + 0.0
                n_rays += 1
        else:
            # Largest gap between consecutive normal angles (cyclically).
            gap_end = 0
            gap = -1.0
            for t in range(m):
                a = math.atan2(normals[s + t, 1], normals[s + t, 0])
                b = math.atan2(normals[s + (t + 1) % m, 1], normals[s + (t + 1) % m, 0])
                g = b - a if t + 1 < m else b + 2.0 * math.pi - a
                if g > gap:
                    gap = g
                    gap_end = (t + 1) % m
            # Directions within the cut tolerance count as parallel, as in
            # the cuts: a gap of pi up to that opens to infinity.
            bounded = gap < math.pi - _SIDE_RTOL
            n_vertices = m if bounded else m - 1
            for t in range(n_vertices):
                e = s + (gap_end + t) % m
                f = s + (gap_end + t + 1) % m
                x, y = _intersect(normals[e, 0], normals[e, 1], offsets[e],
                                  normals[f, 0], normals[f, 1], offsets[f])
                points[n_points, 0] = x + 0.0
                points[n_points, 1] = y + 0.0
                n_points += 1
            if not bounded:
                last = s + (gap_end + m - 1) % m
                first = s + gap_end
                rays[n_rays, 0] = -normals[last, 1] + 0.0
                rays[n_rays, 1] = normals[last, 0] + 0.0
                rays[n_rays + 1, 0] = normals[first, 1] + 0.0
                rays[n_rays + 1, 1] = -normals[first, 0] + 0.0
                n_rays += 2
        point_ptr[k + 1] = n_points
        ray_ptr[k + 1] = n_rays
    return point_ptr, points[:n_points].copy(), ray_ptr, rays[:n_rays].copy()


# --------------------------------------------------------------------------
# Point location
# --------------------------------------------------------------------------
@_pjit
def locate_tree(Z, node_line, node_child, out):
    """Region of each point by descending the tree of cuts.

    At node ``t`` a point goes to child 1 if ``u . z + d > 0`` (the unit is
    active) and to child 0 otherwise; a negative child ``-(k + 1)`` is region
    ``k``.  Node 0 is a root with a zero line, so every point takes its
    child 0.
    """
    for i in nb.prange(Z.shape[0]):
        x = Z[i, 0]
        y = Z[i, 1]
        t = 0
        while True:
            s = node_line[t, 0] * x + node_line[t, 1] * y + node_line[t, 2]
            nxt = node_child[t, 1] if s > 0.0 else node_child[t, 0]
            if nxt < 0:
                out[i] = -nxt - 1
                break
            t = nxt


# --------------------------------------------------------------------------
# Standard bivariate normal mass of a convex polygon
# --------------------------------------------------------------------------
# Numba kernels: standard bivariate normal mass of a convex polygon.
#
# This module is meant to be appended to ``_kernels.py``; it holds only numba
# functions and module constants.
#
# Method
# ------
# For ``U ~ N(0, I_2)`` in polar coordinates the radial integral is elementary,
# ``int_a^b r exp(-r^2/2) dr = exp(-a^2/2) - exp(-b^2/2)``, so
#
#     P(U in Q) = (1/2pi) int [exp(-r_in(theta)^2/2) - exp(-r_out(theta)^2/2)] dtheta
#
# where the ray of direction ``theta`` meets ``Q`` in ``[r_in, r_out]``.  Every
# piece below is positive, so summing them cancels nothing (the classical fan of
# signed triangles from the origin, Owen's T function, cancels to nothing beyond
# about eight standard deviations):
#
# * origin inside ``Q``: one fan triangle per edge, ``1 - exp(-r_out^2/2)`` (kind
#   ``_PG_T``), plus ``angle/2pi`` for the directions of the recession cone;
# * origin outside: a ray enters through a *near* edge (``h < 0``) and leaves
#   through a *far* edge (``h > 0``) or never.  The angular range is swept once,
#   split at the vertices of both chains, and each piece is integrated along its
#   near edge: ``exp(-r_in^2/2)`` (kind ``_PG_E``, the edge's Gaussian "shadow")
#   where rays never leave, ``exp(-r_in^2/2) (1 - exp(-Delta))`` with
#   ``Delta = (r_out^2 - r_in^2)/2`` (kind ``_PG_M``) where ``Delta < 1``, and
#   the difference of the near and far shadows where ``Delta >= 1`` (at most a
#   factor 1.6 lost to cancellation; this avoids the essential singularity of
#   ``exp(-Delta)`` where rays become parallel to the far edge, and the jump of
#   ``1 - exp(-Delta)`` next to tangent vertices far in the tail).  Everything
#   is scaled by ``exp(d^2/2)``, ``d`` the distance to ``Q``, so nothing
#   underflows: the log stays accurate hundreds of standard deviations out.
#
# Along a line at distance ``|h|`` with coordinate ``s`` (``s = 0`` at the foot
# of the perpendicular), ``dtheta = |h| ds / (h^2 + s^2)`` and ``r^2 = h^2 + s^2``:
# a shadow integrand is Gaussian in ``s`` (unit width, or exponential decay at
# rate ``|s|`` away from the foot) times a Cauchy factor with poles at
# ``+-i|h|``; in the merged integrand ``Delta ~ r^2`` cancels those poles, but it
# has one where ``n_far . u(s) = 0``.  Quadrature is Gauss-Legendre (16 points;
# 8 on panels that are easy a priori) on panels sized a priori from measured
# error tables: the log-Gaussian falls by at most ``_PG_DROP1`` (first panel of
# a run) across a panel, which is at most ``_PG_LMAX`` long and no longer than
# its distance to the poles.  For shadows with ``|h| < 1`` the part ``|s| < 1``
# is mapped by ``s = |h| sinh(y)``, which removes the poles.  Each panel is also
# checked from the decay of its Legendre coefficients and bisected if the check
# fails.  Tails beyond ``exp(-cut)`` of the scale are dropped with a rigorous
# bound; if the dropped mass is not negligible against the result, ``cut`` is
# raised and the sum recomputed.
#
# Measured against mpmath: relative error below ~5e-14 for well-conditioned
# polygons near the mean; ``|log P|`` error of a few ``eps d^2`` far out (the
# conditioning of rounded inputs); for thin polygons, within the effect of
# one-ulp changes of the offsets.

_PG_N = 16
_PG_X, _PG_W = np.polynomial.legendre.leggauss(_PG_N)
# Nodes and weights on [0, 1].
_PG_U = 0.5 * (_PG_X + 1.0)
_PG_V = 0.5 * _PG_W
# Rows k = N-4 .. N-1 of the discrete Legendre transform: c_k = sum_i TAIL[k, i] f(x_i)
# are the top Legendre coefficients of the interpolant through the nodes.
_PG_TAIL = np.array(
    [(k + 0.5) * _PG_W * np.polynomial.legendre.Legendre.basis(k)(_PG_X) for k in range(_PG_N - 4, _PG_N)]
)
# The same for 8 points, used on panels that are easy a priori (see _pg_is_easy).
_PG_X8, _PG_W8 = np.polynomial.legendre.leggauss(8)
_PG_U8 = 0.5 * (_PG_X8 + 1.0)
_PG_V8 = 0.5 * _PG_W8
_PG_TAIL8 = np.array(
    [(k + 0.5) * _PG_W8 * np.polynomial.legendre.Legendre.basis(k)(_PG_X8) for k in range(4, 8)]
)

_PG_INV_2PI = 1.0 / (2.0 * math.pi)
_PG_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)

# Integrand kinds (see module docstring).
_PG_E = 0
_PG_M = 1
_PG_T = 2

# Panel design for 16 nodes (measured against mpmath: relative error <= 2e-15
# on exp(-s^2/2) for panels at most 5 long whose log-Gaussian falls by at most
# 20).  The first panel of a run may fall by _PG_DROP1; later ones carry less
# than exp(-20) of the run and may fall by _PG_DROP2.
_PG_DROP1 = 20.0
_PG_DROP2 = 45.0
_PG_LMAX = 5.0
# Shadows with |h| < _PG_HY: the part |s| < _PG_S1 in y = asinh(s/|h|), in
# panels of at most _PG_YSTEP (measured: <= 2e-15 relative).
_PG_HY = 1.0
_PG_S1 = 1.0
_PG_YSTEP = 3.0
# Fan triangles with |h| < _PG_HY: the part |s| < _PG_T1 directly (its
# integrand is entire), the rest as angle minus shadow.
_PG_T1 = 1.0
# Merged pieces: the direct integrand only where Delta < _PG_DELTA_SPLIT, on
# panels at most _PG_POLE_FRAC of their distance to the far-edge pole.
_PG_POLE_FRAC = 0.5
_PG_DELTA_SPLIT = 1.0
# Panel check: the estimated error must be below this fraction of the panel
# (or of its run so far); failing panels are bisected.
_PG_CHECK = 1e-10
# Top coefficients below this (relative to max |f|) are rounding noise.
_PG_NOISE = 1e-13
_PG_MAX_PANELS = 256
# Lines closer than this to the origin are treated as passing through it
# (moving them by 1e-150 changes the mass by ~1e-150 relative to the polygon's
# size); beyond it h^2 cannot underflow.
_PG_TINY_H = 1e-150
# Initial tail cut (log scale) and the allowed dropped fraction of the result.
_PG_CUT = 45.0
_PG_DROP_FRAC = 2e-16


# --------------------------------------------------------------------------
# Integrand and panels
# --------------------------------------------------------------------------
@_jit
def _pg_integrand(x, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a):
    """Scaled integrand at ``x`` for one piece of the angular sweep.

    s-mode: ``s = s0 + x`` along a line at distance ``ha``; the Gaussian exponent
    ``r^2 - d^2 = c0 + x (x + 2 s0)`` is formed from the offset ``x`` so it stays
    accurate far from the origin.  y-mode: ``s = ha sinh(x)`` and
    ``r^2 - d^2 = ha^2 cosh(x)^2 + c0``.  For kind ``_PG_M`` the far edge (offset
    ``hj``) has slack ``sl_a + sl_b s`` at the entry point and ``n_far . u = w_a - sl_b s``.
    """
    if ymode:
        ey = math.exp(x)
        iy = 1.0 / ey
        s = 0.5 * ha * (ey - iy)
        ch = 0.5 * (ey + iy)
        r2 = (ha * ch) * (ha * ch)
        rm = r2 + c0
        jac = _PG_INV_2PI / ch
    else:
        s = s0 + x
        r2 = ha * ha + s * s
        if kind == _PG_T:
            q = 0.5 * r2
            g = 1.0 if q < 1e-300 else -math.expm1(-q) / q
            return 0.5 * ha * _PG_INV_2PI * g
        rm = c0 + x * (x + 2.0 * s0)
        jac = ha * _PG_INV_2PI / r2
    if kind == _PG_T:
        return jac * -math.expm1(-0.5 * r2)
    val = jac * math.exp(-0.5 * rm)
    if kind == _PG_M:
        # In s-mode the slack is formed from the offset x: its constant part
        # then carries the same rounding at every node, so the integrand stays
        # smooth even where the slack nearly cancels (next to tangent vertices).
        # Slack of the far constraint and w = n_far . u (w + slack = hj), both
        # formed directly: either may be tiny.
        if ymode:
            slack = sl_a + sl_b * s
            w = w_a - sl_b * s
        else:
            slack = (sl_a + sl_b * s0) + sl_b * x
            w = (w_a - sl_b * s0) - sl_b * x
        if slack <= 0.0:
            return 0.0
        if w > 0.0:
            val *= -math.expm1(-r2 * slack * (hj + w) / (2.0 * w * w))
    return val


@_jit
def _pg_panel(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a):
    """Gauss-Legendre on ``[xa, xb]`` (8 points if ``small``, else 16).

    Returns (integral, mean, estimated relative error).  The estimate
    extrapolates the decay of the top four Legendre coefficients of the
    interpolant through the nodes to the degree where the rule fails.
    """
    if small:
        us, vs, tail = _PG_U8, _PG_V8, _PG_TAIL8
    else:
        us, vs, tail = _PG_U, _PG_V, _PG_TAIL
    n = us.shape[0]
    width = xb - xa
    acc = 0.0
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    fmax = 0.0
    for i in range(n):
        f = _pg_integrand(xa + width * us[i], ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        acc += vs[i] * f
        t0 += tail[0, i] * f
        t1 += tail[1, i] * f
        t2 += tail[2, i] * f
        t3 += tail[3, i] * f
        fmax = max(fmax, abs(f))
    if not acc > 0.0:
        return 0.0, 0.0, 0.0
    top = max(abs(t2), abs(t3))
    low = max(abs(t0), abs(t1))
    if top <= _PG_NOISE * fmax:
        # Converged to rounding: c_k carries about (2k + 1) eps max|f| of noise.
        rel = 0.0
    elif top < low:
        # Coefficients decaying like rho^-k: the Gauss error is about c_{2n}.
        ratio = top / low
        rel = top * ratio ** (0.5 * (n + 1)) / acc
    else:
        rel = math.inf
    return width * acc, acc, rel


@_jit
def _pg_is_easy(a, b, kind, ha, pole):
    """Whether 8 points suffice for a shadow integrand on the s-panel ``[a, b]``.

    Measured (<= 5e-16 relative): at most 1 long, the log-Gaussian falls by at
    most 3 across it, and the poles ``+-i ha`` are at least 3 lengths away.
    Merged integrands always get 16 points.
    """
    length = b - a
    if kind != _PG_E or length > 1.0 or abs(b * b - a * a) > 6.0:
        return False
    gap = max(0.0, a, -b)  # distance from s = 0 to the panel
    return ha * ha + gap * gap >= 9.0 * length * length


@_jit
def _pg_adaptive(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, floor):
    """Integral over ``[xa, xb]``, bisecting panels that fail the error check.

    The check is a safety net: panels are sized a priori (see ``_PG_DROP1``)
    so that the rule is accurate to about 1e-15, and the extrapolated error
    estimate of :func:`_pg_panel` is pessimistic by several orders for these
    entire integrands.  A panel passes when its estimate is below ``_PG_CHECK``
    times the larger of its value and ``floor`` (the run's integral so far).
    """
    value, mean, rel = _pg_panel(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
    allowed = _PG_CHECK * max(value, floor)
    if rel * value <= allowed:
        return value
    if small:
        value, mean, rel = _pg_panel(xa, xb, False, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        allowed = _PG_CHECK * max(value, floor)
        if rel * value <= allowed:
            return value
    # Error allowed per unit length for the sub-panels.
    density = allowed / (xb - xa)
    stack = np.empty(2 * _PG_MAX_PANELS)
    stack[0] = xa
    stack[1] = 0.5 * (xa + xb)
    stack[2] = 0.5 * (xa + xb)
    stack[3] = xb
    top = 2
    total = 0.0
    n_panels = 0
    while top > 0:
        top -= 1
        a = stack[2 * top]
        b = stack[2 * top + 1]
        v, m, r = _pg_panel(a, b, False, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        n_panels += 1
        full = top + 2 > _PG_MAX_PANELS or n_panels > _PG_MAX_PANELS
        if r * v <= density * (b - a) or r <= _PG_CHECK or full:
            total += v
        else:
            mid = 0.5 * (a + b)
            stack[2 * top] = a
            stack[2 * top + 1] = mid
            stack[2 * top + 2] = mid
            stack[2 * top + 3] = b
            top += 2
    return total


@_jit
def _pg_s_step(p, kind, ha, s_pole, drop):
    """Length of the next s-mode panel from ``p`` outwards (away from ``s = 0``).

    The log of ``exp(-s^2/2)`` may fall by at most ``drop`` across it, it is at
    most ``_PG_LMAX`` long (curvature), and at most as long as its distance
    to the poles ``+-i ha`` of the Cauchy factor (cancelled in ``_PG_M`` by
    ``1 - exp(-Delta)``, ``Delta ~ r^2``, away from the origin) and to ``s_pole``.
    """
    ap = abs(p)
    step = min(_PG_LMAX, 2.0 * drop / (ap + math.sqrt(ap * ap + 2.0 * drop)))
    if kind != _PG_M:
        step = min(step, max(ha, ap))
    return min(step, max(_PG_POLE_FRAC * abs(p - s_pole), 1e-3 * step))


@_jit
def _pg_y_step(p, ha, y_pole, drop):
    """Length of the next y-mode panel from ``p`` outwards (away from ``y = 0``).

    ``r^2 = ha^2 cosh(y)^2``: the log-Gaussian may fall by at most ``drop``,
    the panel is at most ``_PG_YSTEP`` long (the weight ``sech(y)``) and no
    longer than its distance to ``y_pole``.
    """
    ap = min(abs(p), 300.0)
    ch = math.cosh(ap)
    step = min(_PG_YSTEP, math.acosh(math.sqrt(ch * ch + 2.0 * drop / (ha * ha))) - ap)
    return min(step, max(_PG_POLE_FRAC * abs(p - y_pole), 1e-3 * step))


@_jit
def _pg_run(p, end, direction, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, value, n_run):
    """Integrate from ``p`` (the end nearer the Gaussian's centre) outwards to ``end``.

    ``n_run`` panels of this run are already done and summed in ``value``.  The
    first panel may drop by ``_PG_DROP1``; later ones carry less than
    ``exp(-_PG_DROP1)`` of the run and may drop by ``_PG_DROP2``.  Parts beyond
    ``exp(-cut)`` of the scale are dropped with a bound.  Returns (integral,
    bound on the dropped part).
    """
    clipped = 0.0
    while (end - p) * direction > 0.0:
        ap = abs(p)
        if ymode:
            ch = math.cosh(min(ap, 300.0))
            rm = (ha * ch) * (ha * ch) + c0
            log_bound = -ap - 0.5 * rm - math.log(math.pi)
            if log_bound < -cut:
                clipped += math.exp(log_bound)
                break
        else:
            rm = c0 + (p - s0) * (p + s0)
            if 0.5 * rm > cut:
                # int_p^end exp(-(s^2 - p^2)/2) ds <= min(|end - p|, 1/|p|, sqrt(pi/2))
                tail = min(abs(end - p), _PG_SQRT_HALF_PI)
                if ap > 0.0:
                    tail = min(tail, 1.0 / ap)
                clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * math.exp(-0.5 * rm) * tail
                break
        drop = _PG_DROP1 if n_run == 0 else _PG_DROP2
        if ymode:
            step = _pg_y_step(p, ha, pole, drop)
        else:
            step = _pg_s_step(p, kind, ha, pole, drop)
        q = p + direction * step
        if (end - q) * direction < 0.0:
            q = end
        if q == p:
            break
        lo = min(p, q)
        hi = max(p, q)
        small = False
        if not ymode:
            small = _pg_is_easy(lo, hi, kind, ha, pole)
            lo -= s0
            hi -= s0
        value += _pg_adaptive(lo, hi, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, value)
        p = q
        n_run += 1
    return value, clipped


@_jit
def _pg_range(a, b, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut):
    """Integral over ``a <= x <= b`` (s or y; infinite ends allowed).

    Starts at the point nearest the Gaussian's centre and runs outwards both
    ways; when the whole range fits in the first panel of both runs and is at
    most ``_PG_LMAX`` (s) or ``_PG_YSTEP`` (y) long, it is a single panel.
    """
    if not b > a:
        return 0.0, 0.0
    c = min(max(0.0, a), b)
    if ymode:
        reach_hi = _pg_y_step(c, ha, pole, _PG_DROP1)
        reach_lo = _pg_y_step(-c, ha, -pole, _PG_DROP1)
        width = _PG_YSTEP
    else:
        reach_hi = _pg_s_step(c, kind, ha, pole, _PG_DROP1)
        reach_lo = _pg_s_step(c, kind, ha, pole, _PG_DROP1)
        width = _PG_LMAX
    if b - c <= reach_hi and c - a <= reach_lo and b - a <= width:
        off = 0.0 if ymode else s0
        rm = c0 + (c - s0) * (c + s0) if not ymode else (ha * math.cosh(c)) ** 2 + c0
        if 0.5 * rm > cut:
            return 0.0, 0.5 * math.exp(-0.5 * rm)
        small = False if ymode else _pg_is_easy(a, b, kind, ha, pole)
        return _pg_adaptive(a - off, b - off, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, 0.0), 0.0
    v1, c1 = _pg_run(c, b, 1.0, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, 0.0, 0)
    v2, c2 = _pg_run(c, a, -1.0, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, 0.0, 0)
    return v1 + v2, c1 + c2


@_jit
def _pg_line_piece(s_lo, s_hi, kind, ha, d2, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut):
    """Integral of kind ``_PG_E`` / ``_PG_M`` along a near line over ``[s_lo, s_hi]``.

    For ``ha < _PG_HY`` the part ``|s| < _PG_S1`` is integrated in
    ``y = asinh(s / ha)``, which removes the Cauchy poles at ``+-i ha``;
    everything else in ``s``.  ``_PG_M`` has no such poles (``Delta ~ r^2``
    cancels them) unless its own pole ``s_pole`` is central too, where the
    ray and ``n_far . u`` vanish together: only then does it use the y-map.
    """
    if not s_hi > s_lo:
        return 0.0, 0.0
    # Whole piece beyond the cut: bound it by its angular width (< pi) / 2pi.
    sm = min(max(0.0, s_lo), s_hi)
    rm_min = c0 + (sm - s0) * (sm + s0)
    if 0.5 * rm_min > cut:
        return 0.0, 0.5 * math.exp(-0.5 * rm_min)
    if ha >= _PG_HY or (kind == _PG_M and not abs(s_pole) < _PG_S1):
        return _pg_range(s_lo, s_hi, False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
    value = 0.0
    clipped = 0.0
    ca = max(s_lo, -_PG_S1)
    cb = min(s_hi, _PG_S1)
    if ca < cb:
        y_pole = math.asinh(s_pole / ha) if math.isfinite(s_pole) else math.inf
        ya = math.asinh(ca / ha)
        yb = math.asinh(cb / ha)
        v, c = _pg_range(ya, yb, True, kind, ha, 0.0, -d2, sl_a, sl_b, hj, w_a, y_pole, cut)
        value += v
        clipped += c
    if s_lo < -_PG_S1:
        v, c = _pg_range(s_lo, min(s_hi, -_PG_S1), False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
        value += v
        clipped += c
    if s_hi > _PG_S1:
        v, c = _pg_range(max(s_lo, _PG_S1), s_hi, False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
        value += v
        clipped += c
    return value, clipped


@_jit
def _pg_span(ha, a, b):
    """Angle subtended from the origin by ``a <= s <= b`` on a line at distance ``ha``."""
    if a == -math.inf:
        if b == math.inf:
            return math.pi
        return math.atan2(ha, -b)
    if b == math.inf:
        return math.atan2(ha, a)
    return math.atan2(ha * (b - a), ha * ha + a * b)


@_jit
def _pg_triangle(ha, a, b, cut):
    """Mass of the fan triangle from the origin to ``a <= s <= b`` on a line at distance ``ha``.

    ``(1/2pi) int (1 - exp(-r^2/2)) dtheta``: for ``ha >= 1`` as angle/2pi minus
    the shadow beyond the line (at most 61% of it); for ``ha < 1`` the part
    ``|s| < 1`` directly (its integrand ``ha g((h^2+s^2)/2) / 4pi`` with
    ``g(q) = (1 - exp(-q))/q`` is entire) and the rest as angle minus shadow.
    """
    if not b > a:
        return 0.0, 0.0
    if ha >= _PG_HY:
        shadow, clipped = _pg_range(a, b, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        return _pg_span(ha, a, b) * _PG_INV_2PI - shadow, clipped
    value = 0.0
    clipped = 0.0
    ca = max(a, -_PG_T1)
    cb = min(b, _PG_T1)
    if ca < cb:
        value += _pg_adaptive(ca, cb, False, False, _PG_T, ha, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    if a < -_PG_T1:
        ob = min(b, -_PG_T1)
        shadow, c = _pg_range(a, ob, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        value += _pg_span(ha, a, ob) * _PG_INV_2PI - shadow
        clipped += c
    if b > _PG_T1:
        oa = max(a, _PG_T1)
        shadow, c = _pg_range(oa, b, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        value += _pg_span(ha, oa, b) * _PG_INV_2PI - shadow
        clipped += c
    return value, clipped


# --------------------------------------------------------------------------
# Polygon geometry
# --------------------------------------------------------------------------
@_jit
def _pg_corner(nx, ny, k, m):
    """Index of the next edge and cos / sin of the turn from normal ``k`` to it.

    The sine is formed as ``n_k x (n_k1 -+ n_k)``: for nearly (anti)parallel
    normals the difference (sum) is exact, so the sine keeps its relative
    accuracy at the sharp corners of thin polygons.
    """
    k1 = k + 1 if k + 1 < m else 0
    cs = nx[k] * nx[k1] + ny[k] * ny[k1]
    if cs > 0.0:
        sn = nx[k] * (ny[k1] - ny[k]) - ny[k] * (nx[k1] - nx[k])
    else:
        sn = nx[k] * (ny[k1] + ny[k]) - ny[k] * (nx[k1] + nx[k])
    return k1, cs, sn


@_jit
def _pg_s_end(nx, ny, h, k, m):
    """Coordinate along edge ``k`` (direction ``(-ny, nx)``) of its end; ``inf`` if unbounded.

    ``(h_k1 - h_k cos)/sin``; for a small turn written as
    ``(h_k1 - h_k)/sin + h_k sin/(1 + cos)`` to avoid cancelling ``h_k cos``.
    """
    k1, cs, sn = _pg_corner(nx, ny, k, m)
    if not sn > 0.0:
        return math.inf
    if cs > 0.0:
        return (h[k1] - h[k]) / sn + h[k] * sn / (1.0 + cs)
    return (h[k1] - h[k] * cs) / sn


@_jit
def _pg_s_start(nx, ny, h, k, m):
    """Coordinate along edge ``k`` of its start; ``-inf`` if unbounded (see :func:`_pg_s_end`)."""
    km = k - 1 if k > 0 else m - 1
    _, cs, sn = _pg_corner(nx, ny, km, m)
    if not sn > 0.0:
        return -math.inf
    if cs > 0.0:
        return (h[k] - h[km]) / sn - h[k] * sn / (1.0 + cs)
    return (h[k] * cs - h[km]) / sn


@_jit
def _pg_end_point(nx, ny, h, k, m):
    """End vertex of edge ``k``, or its direction ``t_k`` when the edge is unbounded."""
    s = _pg_s_end(nx, ny, h, k, m)
    if s == math.inf:
        return -ny[k], nx[k]
    return h[k] * nx[k] - s * ny[k], h[k] * ny[k] + s * nx[k]


@_jit
def _pg_start_point(nx, ny, h, k, m):
    """Start vertex of edge ``k`` (the end vertex of edge ``k - 1``), or direction ``-t_k``."""
    km = k - 1 if k > 0 else m - 1
    _, _, sn = _pg_corner(nx, ny, km, m)
    if sn > 0.0:
        return _pg_end_point(nx, ny, h, km, m)
    return ny[k], -nx[k]


@_jit
def _pg_tau(ex, ey, px, py):
    """Angular coordinate ``tan(angle from e)`` of the point or direction ``p``."""
    num = ex * py - ey * px
    den = ex * px + ey * py
    if den > 0.0:
        return num / den
    return math.inf if num > 0.0 else -math.inf


@_jit
def _pg_s_on(nx, ny, h, i, px, py):
    """Coordinate along line ``i`` where the ray through ``p`` meets it."""
    den = nx[i] * px + ny[i] * py
    num = h[i] * (nx[i] * py - ny[i] * px)
    if den < 0.0:
        return num / den
    return -math.inf if num > 0.0 else math.inf


@_jit
def _pg_delta(s, r_h2, sl_a, sl_b, hj, w_a):
    """``(r_out^2 - r_in^2) / 2`` for the ray through ``s`` on the near line (``inf`` if it never exits)."""
    slack = sl_a + sl_b * s
    w = w_a - sl_b * s
    if not w > 0.0:
        return math.inf
    return (r_h2 + s * s) * max(slack, 0.0) * (hj + w) / (2.0 * w * w)


@_jit
def _pg_split_point(a, b, r_h2, sl_a, sl_b, hj, w_a):
    """A point between ``a`` (Delta below ``_PG_DELTA_SPLIT``) and ``b`` (above) where Delta crosses it.

    Only roughly located: every split is exact, the threshold only bounds the
    cancellation in ``E_i - E_j``.
    """
    for _ in range(20):
        mid = 0.5 * (a + b)
        if _pg_delta(mid, r_h2, sl_a, sl_b, hj, w_a) < _PG_DELTA_SPLIT:
            a = mid
        else:
            b = mid
    return b


@_jit
def _pg_shadow_diff(nx, ny, h, m, i, j, s_a, s_b, d2, s0, c0, cut):
    """``E_i - E_j`` for the rays entering edge ``i`` at ``s_a <= s <= s_b`` and leaving through edge ``j``.

    ``E_i`` is the Gaussian shadow of edge ``i`` over those rays, ``E_j`` that of
    edge ``j``, integrated in its own coordinate ``s_j = t_j . p`` with
    ``p = (h_j / w) u(s)`` the exit point and ``w = n_j . u(s)``.
    """
    if not s_b > s_a:
        return 0.0, 0.0
    hi = h[i]
    hj = h[j]
    near, c_near = _pg_line_piece(s_a, s_b, _PG_E, -hi, d2, s0, c0, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
    tx = -ny[i]
    ty = nx[i]
    cos_ij = nx[j] * nx[i] + ny[j] * ny[i]
    nj_ti = nx[j] * tx + ny[j] * ty
    tj_ni = -ny[j] * nx[i] + nx[j] * ny[i]
    tj_ti = -ny[j] * tx + nx[j] * ty
    s_far_lo = math.inf
    s_far_hi = -math.inf
    for s in (s_a, s_b):
        w = hi * cos_ij + s * nj_ti
        num = hj * (hi * tj_ni + s * tj_ti)
        if w > 0.0:
            sj = num / w
        else:
            sj = math.inf if num > 0.0 else -math.inf
        s_far_lo = min(s_far_lo, sj)
        s_far_hi = max(s_far_hi, sj)
    s_far_lo = max(s_far_lo, _pg_s_start(nx, ny, h, j, m))
    s_far_hi = min(s_far_hi, _pg_s_end(nx, ny, h, j, m))
    sc = min(max(0.0, s_far_lo), s_far_hi)
    c0_far = (hj * hj + sc * sc) - d2
    far, c_far = _pg_line_piece(s_far_lo, s_far_hi, _PG_E, hj, d2, sc, c0_far,
                                0.0, 0.0, 0.0, 0.0, math.inf, cut)
    return near - far, c_near + c_far


@_jit
def _pg_between(nx, ny, h, m, i, j, s_lo, s_hi, d2, s0, c0, cut):
    """Mass of the rays entering near edge ``i`` at ``s_lo <= s <= s_hi`` and leaving through far edge ``j``.

    The direct integrand ``exp(-r_in^2/2) (1 - exp(-Delta))``,
    ``Delta = (r_out^2 - r_in^2)/2``, is used only where ``Delta`` is below
    ``_PG_DELTA_SPLIT``: next to tangent vertices (``Delta -> 0``) and in thin
    necks.  Elsewhere the mass is the difference of the shadows of the two
    edges, ``E_i - E_j``, each a plain Gaussian line integral in its own
    coordinate, and ``E_j <= E_i exp(-1)``, so at most a factor 1.6 is lost to
    cancellation.  This keeps away from the essential singularity of
    ``exp(-Delta)`` where the ray is parallel to edge ``j`` (``s_pole``), from
    ``1 - exp(-Delta)`` jumping from 0 to 1 within ``~1/d`` of a tangent vertex
    far in the tail, and from ``exp(-r_out^2/2)`` decaying much faster than
    ``exp(-r_in^2/2)``.  ``Delta`` is assumed to have no interior maximum
    (it grows towards the pole and falls towards the tangent vertex).
    """
    hi = h[i]
    hj = h[j]
    ha = -hi
    tx = -ny[i]
    ty = nx[i]
    w_a = hi * (nx[j] * nx[i] + ny[j] * ny[i])
    sl_a = hj - w_a
    sl_b = -(nx[j] * tx + ny[j] * ty)
    r_h2 = hi * hi
    s_pole = math.inf
    if sl_b != 0.0:
        s_pole = w_a / sl_b  # where w = n_j . u(s) vanishes
    # Infinite ends: beyond |s| = s_cut the shadow of edge i, which bounds
    # this mass, is below exp(-cut) of the scale.
    clipped = 0.0
    s_cut = math.sqrt(max(0.0, 2.0 * cut - c0 + s0 * s0))
    if s_hi > s_cut:
        p = max(s_cut, s_lo)
        tail = math.exp(-0.5 * (c0 + (p - s0) * (p + s0))) * _PG_SQRT_HALF_PI
        clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * tail
        s_hi = p
    if s_lo < -s_cut:
        p = min(-s_cut, s_hi)
        tail = math.exp(-0.5 * (c0 + (p - s0) * (p + s0))) * _PG_SQRT_HALF_PI
        clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * tail
        s_lo = p
    if not s_hi > s_lo:
        return 0.0, clipped
    # A point with small Delta: an end, the point nearest the foot, or the middle.
    small = math.nan
    for s in (s_lo, s_hi, min(max(0.0, s_lo), s_hi), 0.5 * (s_lo + s_hi)):
        if _pg_delta(s, r_h2, sl_a, sl_b, hj, w_a) < _PG_DELTA_SPLIT:
            small = s
            break
    if math.isnan(small):
        v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_lo, s_hi, d2, s0, c0, cut)
        return v, c + clipped
    # The direct integrand on [s_left, s_right] around it, shadow differences outside.
    s_left = s_lo
    if _pg_delta(s_lo, r_h2, sl_a, sl_b, hj, w_a) >= _PG_DELTA_SPLIT:
        s_left = _pg_split_point(small, s_lo, r_h2, sl_a, sl_b, hj, w_a)
    s_right = s_hi
    if _pg_delta(s_hi, r_h2, sl_a, sl_b, hj, w_a) >= _PG_DELTA_SPLIT:
        s_right = _pg_split_point(small, s_hi, r_h2, sl_a, sl_b, hj, w_a)
    value, c = _pg_line_piece(s_left, s_right, _PG_M, ha, d2, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
    clipped += c
    v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_lo, s_left, d2, s0, c0, cut)
    value += v
    clipped += c
    v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_right, s_hi, d2, s0, c0, cut)
    return value + v, clipped + c


@_jit
def _pg_inside(nx, ny, h, m, cut):
    """Mass (unscaled) when the origin lies in the closed polygon: a fan of triangles."""
    total = 0.0
    clipped = 0.0
    for k in range(m):
        _, cs, sn = _pg_corner(nx, ny, k, m)
        if sn <= 0.0:
            # Directions in the recession cone never leave Q.
            total += math.atan2(-sn, -cs) * _PG_INV_2PI
        if h[k] > _PG_TINY_H:
            v, c = _pg_triangle(h[k], _pg_s_start(nx, ny, h, k, m), _pg_s_end(nx, ny, h, k, m), cut)
            total += v
            clipped += c
    return total, clipped


@_jit
def _pg_outside(nx, ny, h, m, cut):
    """Scaled mass ``P(U in Q) exp(d^2/2)`` when the origin is outside; returns (mass, clipped, d^2)."""
    # Distance to Q: the nearest point lies on a near edge (h < 0).
    d2 = math.inf
    k_min = 0
    for k in range(m):
        if h[k] < h[k_min]:
            k_min = k
        if h[k] < -_PG_TINY_H:
            sc = min(max(0.0, _pg_s_start(nx, ny, h, k, m)), _pg_s_end(nx, ny, h, k, m))
            d2 = min(d2, h[k] * h[k] + sc * sc)
    # Reference direction: Q lies in the half-plane e.u >= -h[k_min] > 0.
    ex = -nx[k_min]
    ey = -ny[k_min]
    # First near edge in increasing angle (the near chain is walked backwards),
    # first far edge (the far chain is walked forwards).
    i = -1
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            k1, _, sn = _pg_corner(nx, ny, k, m)
            if sn <= 0.0 or h[k1] >= -_PG_TINY_H:
                i = k
                break
    j = -1
    for k in range(m):
        km = k - 1 if k > 0 else m - 1
        if h[k] > _PG_TINY_H and h[km] <= _PG_TINY_H:
            j = k
            break
    if j >= 0:
        px, py = _pg_start_point(nx, ny, h, j, m)
        tau_lo_j = _pg_tau(ex, ey, px, py)
        fx, fy = _pg_end_point(nx, ny, h, j, m)
        tau_hi_j = _pg_tau(ex, ey, fx, fy)
    else:
        tau_lo_j = math.inf
        tau_hi_j = math.inf
        fx = 0.0
        fy = 0.0
    n_far = 1

    px, py = _pg_end_point(nx, ny, h, i, m)
    tau_cur = _pg_tau(ex, ey, px, py)
    total = 0.0
    clipped = 0.0
    for _ in range(m):
        s_start = _pg_s_start(nx, ny, h, i, m)
        s_end = _pg_s_end(nx, ny, h, i, m)
        s_cur = s_end
        sx, sy = _pg_start_point(nx, ny, h, i, m)
        tau_hi_i = _pg_tau(ex, ey, sx, sy)
        ha = -h[i]
        s0 = min(max(0.0, s_start), s_end)
        c0 = (h[i] * h[i] + s0 * s0) - d2
        while tau_cur < tau_hi_i:
            # Retire far edges that end before the current direction.
            while j >= 0 and tau_hi_j <= tau_cur:
                jn = j + 1 if j + 1 < m else 0
                if h[jn] > _PG_TINY_H and n_far < m:
                    j = jn
                    n_far += 1
                    tau_lo_j = tau_hi_j
                    _, _, sn = _pg_corner(nx, ny, j - 1 if j > 0 else m - 1, m)
                    if sn <= 0.0:
                        qx, qy = _pg_start_point(nx, ny, h, j, m)
                        tau_lo_j = _pg_tau(ex, ey, qx, qy)
                    fx, fy = _pg_end_point(nx, ny, h, j, m)
                    tau_hi_j = _pg_tau(ex, ey, fx, fy)
                else:
                    j = -1
            kind = _PG_E
            if j >= 0 and tau_lo_j <= tau_cur:
                kind = _PG_M
                if tau_hi_j < tau_hi_i:
                    tau_next = tau_hi_j
                    s_next = _pg_s_on(nx, ny, h, i, fx, fy)
                else:
                    tau_next = tau_hi_i
                    s_next = s_start
            elif j >= 0 and tau_lo_j < tau_hi_i:
                tau_next = tau_lo_j
                qx, qy = _pg_start_point(nx, ny, h, j, m)
                s_next = _pg_s_on(nx, ny, h, i, qx, qy)
            else:
                tau_next = tau_hi_i
                s_next = s_start
            s_next = min(max(s_next, s_start), s_cur)
            if kind == _PG_M:
                v, c = _pg_between(nx, ny, h, m, i, j, s_next, s_cur, d2, s0, c0, cut)
            else:
                v, c = _pg_line_piece(s_next, s_cur, _PG_E, ha, d2, s0, c0, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
            total += v
            clipped += c
            tau_cur = tau_next
            s_cur = s_next
        # Next near edge (backwards) while the chain continues through a bounded corner.
        inext = i - 1 if i > 0 else m - 1
        _, _, sn = _pg_corner(nx, ny, inext, m)
        if h[inext] < -_PG_TINY_H and sn > 0.0:
            i = inext
        else:
            break
    return total, clipped, d2


# --------------------------------------------------------------------------
# Public kernels
# --------------------------------------------------------------------------
@_jit
def log_std_polygon_mass(nx, ny, h, n_edges):
    """``log P(U in Q)`` for ``U ~ N(0, I_2)`` and ``Q = {u : nx[i] u1 + ny[i] u2 <= h[i], i < n_edges}``.

    The normals ``(nx[i], ny[i])`` must be unit vectors sorted strictly
    counterclockwise by angle, every constraint a facet, and ``Q`` must have an
    interior; entries beyond ``n_edges`` are ignored.  ``Q`` may be unbounded
    (half-plane, strip, wedge, ...) and any distance from the origin: the
    relative error is below ~5e-14 near the origin and the error of the log a
    few ``eps d^2`` at distance ``d`` (the conditioning of rounded inputs), so
    the log stays finite and accurate where the mass underflows.  See the
    module docstring for the method.
    """
    m = n_edges
    if m == 1:
        return log_interval_mass(-math.inf, h[0])
    if m == 2:
        _, cs, sn = _pg_corner(nx, ny, 0, 2)
        if sn == 0.0 and cs < 0.0:
            # A strip: n_1 = -n_0, so -h_1 <= n_0.u <= h_0.
            return log_interval_mass(-h[1], h[0])
    inside = True
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            inside = False
    cut = _PG_CUT
    total = 0.0
    d2 = 0.0
    for _ in range(4):
        if inside:
            total, clipped = _pg_inside(nx, ny, h, m, cut)
        else:
            total, clipped, d2 = _pg_outside(nx, ny, h, m, cut)
        if not total > 0.0:
            cut += 200.0
        elif clipped > _PG_DROP_FRAC * total:
            cut += math.log(clipped / (_PG_DROP_FRAC * total)) + 2.0
        else:
            break
    if not total > 0.0:
        # Only for polygons so thin that their mass underflows even after scaling.
        return -0.5 * d2 - 745.0
    return math.log(total) - 0.5 * d2


@_pjit
def log_std_polygon_mass_many(nx, ny, h, n_edges, out):
    """:func:`log_std_polygon_mass` for each row of padded ``(n_polygons, max_edges)`` tables."""
    for p in nb.prange(out.shape[0]):
        out[p] = log_std_polygon_mass(nx[p], ny[p], h[p], n_edges[p])


# --------------------------------------------------------------------------
# Density for a 2-D latent
# --------------------------------------------------------------------------
# Numba kernel: density for a 2-D latent (to be concatenated into _kernels.py).

@_jit
def _polygon_terms(
    X, i, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
    log_skip, line, gauss, term, h,
):
    """Region-component log terms of point ``i`` for a 2-D latent.

    Per region ``k``: ``line[k] = basis_k^T (x - offset_k)`` (coordinates of
    ``x`` in the region's image plane) and ``d`` its squared distance to that
    plane.  Per term ``(k, j)``: the Gaussian part ``log_coef - (d + |chol_inv
    (line - proj_mean)|^2) / 2``, and the standardised posterior polygon with
    offsets ``h_e = h0[j, e] + hw[j, e] . line``.  Same skipping rule as
    :func:`_interval_terms`, with ``P(U in Q) <= min_e Phi(h_e)``.  Returns
    ``(top, total)``.
    """
    n = X.shape[1]
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    best = -math.inf
    best_idx = 0
    for k in range(n_regions):
        w0 = 0.0
        w1 = 0.0
        for t in range(n):
            r = X[i, t] - offset[k, t]
            w0 += basis[k, t, 0] * r
            w1 += basis[k, t, 1] * r
        d = 0.0
        for t in range(n):
            r = X[i, t] - offset[k, t] - basis[k, t, 0] * w0 - basis[k, t, 1] * w1
            d += r * r
        line[k, 0] = w0
        line[k, 1] = w1
        for j in range(n_components):
            idx = k * n_components + j
            v0 = w0 - proj_mean[k, j, 0]
            v1 = w1 - proj_mean[k, j, 1]
            y0 = chol_inv[k, j, 0, 0] * v0
            y1 = chol_inv[k, j, 1, 0] * v0 + chol_inv[k, j, 1, 1] * v1
            gpart = log_coef[k, j] - 0.5 * (d + y0 * y0 + y1 * y1)
            hmin = math.inf
            for e in range(edge_ptr[k], edge_ptr[k + 1]):
                he = h0[j, e] + hw[j, e, 0] * w0 + hw[j, e, 1] * w1
                if he < hmin:
                    hmin = he
            ub = gpart
            if hmin < 0.0:
                ub -= 0.5 * hmin * hmin + _LOG_2
            gauss[idx] = gpart
            term[idx] = ub
            if ub > best:
                best = ub
                best_idx = idx
    top = -math.inf
    cut = -math.inf
    for sweep in range(2):
        for idx in range(n_terms):
            if sweep == 0 and idx != best_idx:
                continue
            if sweep == 1 and idx == best_idx:
                continue
            if sweep == 1 and term[idx] < cut:
                term[idx] = -math.inf
                continue
            k = idx // n_components
            j = idx - k * n_components
            lo = edge_ptr[k]
            m = edge_ptr[k + 1] - lo
            value = gauss[idx]
            if m > 0:
                for e in range(m):
                    h[e] = h0[j, lo + e] + hw[j, lo + e, 0] * line[k, 0] + hw[j, lo + e, 1] * line[k, 1]
                value += log_std_polygon_mass(nx[j, lo:lo + m], ny[j, lo:lo + m], h, m)
            term[idx] = value
            if value > top:
                top = value
                cut = top - log_skip
    return top, _sum_exp(term, top)


@_jit
def _logpdf_polygons_range(
    X, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
    log_const, log_skip, max_edges, out, start, stop,
):
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    line = np.empty((n_regions, 2))
    gauss = np.empty(n_terms)
    term = np.empty(n_terms)
    h = np.empty(max(max_edges, 1))
    for i in range(start, stop):
        top, total = _polygon_terms(
            X, i, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
            log_skip, line, gauss, term, h,
        )
        out[i] = log_const + top + math.log(total) if top > -math.inf else -math.inf


@_pjit
def logpdf_polygons(
    X, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
    log_const, log_skip, max_edges, out,
):
    """Log density of ``x = f(z) + noise`` for a 2-D latent, in whitened coordinates.

    Region ``k``'s whitened map ``A_k`` has thin SVD ``basis_k R_k``
    (``basis_k``: ``(n, 2)`` orthonormal columns, zero columns for rank < 2).
    For component ``j`` the term is ``log N(x; A_k mu_j + c_k, I + A_k Sigma_j
    A_k^T)`` written with the coordinates ``line = basis_k^T (x - c_k)`` and
    the distance ``d`` to the image plane, plus the log standard-normal mass
    of the posterior polygon, whose half-planes ``n_e . u <= h_e`` have fixed
    normals ``(nx[j, e], ny[j, e])`` and offsets affine in ``line``.  Terms are
    combined by logsumexp with bound-based skipping as for 1-D latents.
    """
    n_samples = X.shape[0]
    n_chunks = (n_samples + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        _logpdf_polygons_range(
            X, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
            log_const, log_skip, max_edges, out,
            chunk * _CHUNK, min(n_samples, (chunk + 1) * _CHUNK),
        )


@_jit
def logpdf_polygons_serial(
    X, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
    log_const, log_skip, max_edges, out,
):
    """:func:`logpdf_polygons` on one thread."""
    _logpdf_polygons_range(
        X, basis, offset, edge_ptr, log_coef, chol_inv, proj_mean, h0, hw, nx, ny,
        log_const, log_skip, max_edges, out, 0, X.shape[0],
    )
