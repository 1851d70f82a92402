"""Density of ``x = f(z) + noise`` for a 2-D latent: a sum over convex polygons.

Region ``k``'s whitened map ``A_k`` (``x / noise_std`` coordinates) has thin
SVD ``basis_k R_k``: ``basis_k`` has shape ``(n, 2)`` with orthonormal columns
(a zero column for each missing rank, and for ``n = 1`` a zero second column).
For a point ``x``, ``line = basis_k^T (x - c_k)`` are its coordinates in the
region's image plane and ``d`` its squared distance to that plane.  For
component ``j`` the term is ``log N(x; A_k mu_j + c_k, I + A_k Sigma_j A_k^T)``
written with ``line`` and ``d``::

    log_coef[k, j] - (d + |white[k, j] (line - proj_mean[k, j])|^2) / 2

plus the log standard-normal mass of the posterior polygon, whose half-planes
``n_e . u <= h_e`` have fixed unit normals ``(nx[j, e], ny[j, e])`` and offsets
``h_e = h0[j, e] + hw[j, e] . line`` affine in ``line``.  A term's upper bound
uses ``P(U in Q) <= min_e P(n_e . U <= h_e) <= exp(-h^2/2)/2`` for ``h < 0``.

``white[k, j]`` is a 2x2 matrix whose ``white^T white`` is the inverse
covariance of ``line``.  ``tables`` is the tuple ``(basis, perp, offset,
edge_ptr, log_coef, white, proj_mean, h0, hw, nx, ny)``, ``perp`` an orthonormal
basis of the complement of the image plane (zero-padded to ``(K, n, n)``; see
:func:`~.terms.distance_sq`); region ``k`` owns edges ``edge_ptr[k]:edge_ptr[k+1]``.
"""

import math

import numba as nb
import numpy as np

from ._jit import kernel, parallel_kernel
from .polygon_fan import FAN_MIN_MASS, std_polygon_mass_fan
from .polygon_geometry import polygon_distance_sq
from .polygon_mass import log_std_polygon_mass, log_std_polygon_mass_loose, log_std_polygon_mass_polar
from .polygon_moments import conditional_moments
from .terms import CHUNK, distance_sq, make_density_kernels
from .views import borrowed, keep_alive

__all__ = ["logpdf_parallel", "logpdf_serial", "score_parallel", "term_sum"]

_LOG_2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# Beyond d^2 = 2/pi the Mills bound phi(d)/d is below exp(-d^2/2)/2.
_TWO_OVER_PI = 2.0 / math.pi
#: Terms whose bound is less than this many nats above the skipping floor get
#: the loose polygon mass (see :func:`_log_term_mass`).
LOOSE_WINDOW = 16.0
#: Error budget of a point's terms (see :func:`_log_term_mass`): the terms
#: computed by the fan of edge shadows and those skipped as within their share
#: or paid from the skips' pool change the density by at most this, relative.
#: The density's contract is 1e-12 relative; the rest is left to the polar
#: masses (about 1e-13 each, relative), the skipping threshold (exp(-40)) and
#: the loose tier (4e-15).  A quarter goes to equal shares, a quarter to the
#: fan's pool, half to the skips' pool.
FAN_RTOL = 8e-13
_LOG_SHARES = math.log(0.25 * FAN_RTOL)
_FAN_POOL = 0.25 * FAN_RTOL
_SKIP_POOL = 0.5 * FAN_RTOL
_LOG_SKIP_POOL = math.log(_SKIP_POOL)
# Where work[4] keeps the log of what each pool has spent (see _new_work).
_FAN_SPENT, _SKIP_SPENT = 0, 3
#: The fan drops shadow integrands below this fraction of a term's share.
_LOG_FLOOR_SHARE = math.log(1e-3)

#: How the kernel treated each term of the last point, in ``work[5]`` (for
#: benchmarks and tests): skipped by its first bound, skipped by the distance
#: bound or its share of the budget, a whole-plane region, a fan mass, a
#: loose or a full polar mass (after the fan's error did not fit), skipped
#: and paid from the skips' pool.
TIER_FIRST_BOUND, TIER_DISTANCE, TIER_WHOLE_PLANE, TIER_FAN, TIER_LOOSE, TIER_FULL, TIER_POOL = range(7)


@kernel
def _new_work(tables):
    edge_ptr, log_coef = tables[3], tables[4]
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    max_edges = 1
    for k in range(n_regions):
        max_edges = max(max_edges, edge_ptr[k + 1] - edge_ptr[k])
    # work[4]: the log of the fan's pool spent so far, a term's share of the
    # budget relative to the largest term, in log and linear units, and the
    # log of the skips' pool spent so far (see _log_term_mass).
    log_share = _LOG_SHARES - math.log(n_terms)
    budget = np.array([-math.inf, log_share, math.exp(log_share), -math.inf])
    return (np.empty(n_terms), np.empty(n_terms), np.empty((n_regions, 2)), np.empty(max_edges),
            budget, np.zeros(n_terms, np.int8))


@kernel(inline=True)
def _spend(budget, slot, gauss, amount, capacity):
    """Pay ``amount`` from the pool whose log spend is ``budget[slot]`` if the pool then stays within ``capacity``; whether it did.

    ``amount`` and ``capacity`` are in units of ``exp(gauss)``, the spend in log space.
    """
    spent = math.exp(budget[slot] - gauss) + amount
    if spent <= capacity:
        budget[slot] = gauss + math.log(spent)
        return True
    return False


@kernel
def _prepare_terms(X, i, tables, work):
    """Gaussian parts and bounds of every term of point ``i``; ``work[2][k]`` = ``line`` of region k."""
    basis, perp, offset, edge_ptr, log_coef, white, proj_mean, h0, hw, nx, ny = tables
    gauss, bound, line, tier = work[0], work[1], work[2], work[5]
    n = X.shape[1]
    n_regions, n_components = log_coef.shape
    for k in range(n_regions):
        w0 = 0.0
        w1 = 0.0
        for t in range(n):
            r = X[i, t] - offset[k, t]
            w0 += basis[k, t, 0] * r
            w1 += basis[k, t, 1] * r
        d = distance_sq(X, i, offset, perp, k)
        line[k, 0] = w0
        line[k, 1] = w1
        for j in range(n_components):
            idx = k * n_components + j
            v0 = w0 - proj_mean[k, j, 0]
            v1 = w1 - proj_mean[k, j, 1]
            y0 = white[k, j, 0, 0] * v0 + white[k, j, 0, 1] * v1
            y1 = white[k, j, 1, 0] * v0 + white[k, j, 1, 1] * v1
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
            bound[idx] = ub
            tier[idx] = TIER_FIRST_BOUND


@kernel
def _polygon_h(tables, work, k, j):
    """Offsets of term ``(k, j)``'s standardised polygon into ``work[3]``; returns its edge count."""
    edge_ptr, h0, hw = tables[3], tables[7], tables[8]
    line, h = work[2], work[3]
    lo = edge_ptr[k]
    m = edge_ptr[k + 1] - lo
    for e in range(m):
        h[e] = h0[j, lo + e] + hw[j, lo + e, 0] * line[k, 0] + hw[j, lo + e, 1] * line[k, 1]
    return m


@kernel(inline=True)
def _log_term_mass(idx, tables, work, floor, ceiling):
    """The term's polygon mass, at the accuracy its share of the density needs.

    The point's error budget is ``FAN_RTOL exp(top)`` (``top`` the largest
    term so far, which only grows; the density is at least ``exp(top)``), in
    three parts:

    * **shares** (a quarter): each of the ``n_terms`` terms may carry an
      error of ``FAN_RTOL / (4 n_terms) exp(top)``.  A term whose upper
      bound is within its share is skipped: first its bound from
      :func:`_prepare_terms` (still in ``work[1]``), then the distance ``d``
      from the posterior mean to the polygon, which gives
      ``P <= Q(d) <= min(exp(-d^2/2)/2, phi(d)/d)`` (also checked against
      ``floor``, the skipping threshold of :mod:`.terms`);
    * **the skips' pool** (a half): a term whose upper bound exceeds its
      share is still skipped while the bounds of the terms skipped this way
      add up to at most ``FAN_RTOL / 2 exp(top)`` (``work[4][3]``, in log
      space), first come, first served.  Most terms the fan computes lie
      many nats below ``top`` (at noise 0.2 on the benchmark's network this
      skips 7% of the fan masses);
    * **the fan's pool** (a quarter): a fan mass whose error exceeds its
      share spends from it (``work[4][0]``).  It is kept apart from the
      skips' pool: spent on skips, it left the fan's errors of the terms
      near the top without a budget, and nine times as many terms went to
      the polar quadrature.

    Both pools are reset at the point's first term, where ``ceiling = -inf``.

    The fan of edge shadows (:func:`~.polygon_fan.std_polygon_mass_fan`, a
    few Owen's T values per edge) gives ``P`` with a bound ``err`` on its
    absolute error, so the term ``exp(gauss) P`` carries at most
    ``exp(gauss) err``; it may drop shadow integrands below a thousandth of
    the term's share.  Its mass is accepted when that error fits the
    term's share or the fan's pool (with ``top`` including this term's lower
    bound ``gauss + log(P - err)``; compared in units of ``exp(gauss)``, so
    that only a spend from a pool takes an exp and a log); all accepted and
    skipped terms together change the density by at most
    ``FAN_RTOL = 8e-13`` relative.  Every term not skipped tries the
    fan first: it serves all but a few in a thousand.

    Terms the fan cannot serve get the polar quadrature
    (:func:`~.polygon_mass.log_std_polygon_mass_polar`).  One whose bound
    lies less than ``LOOSE_WINDOW`` nats above ``floor`` is at least ``log_skip - LOOSE_WINDOW = 24 +
    log(n_terms)`` nats below the largest term; computed to relative error
    ``LOOSE_RTOL = 1e-4`` (:func:`~.polygon_mass.log_std_polygon_mass_loose`),
    all such terms together change the density by at most ``1e-4 exp(-24) <
    4e-15`` relative.  Each term's treatment is written to ``work[5]``
    (``TIER_*``).
    """
    edge_ptr, log_coef, nx, ny = tables[3], tables[4], tables[9], tables[10]
    tier = work[5]
    n_components = log_coef.shape[1]
    k = idx // n_components
    j = idx - k * n_components
    budget = work[4]
    if ceiling == -math.inf:
        budget[_FAN_SPENT] = -math.inf  # what the pools have spent (log)
        budget[_SKIP_SPENT] = -math.inf
    gauss = work[0][idx]
    log_share = budget[1]  # the term's share, relative to the largest term so far
    skip_below = max(floor, ceiling + log_share)
    # The term's first bound (still in work[1], see .terms) within its share.
    if work[1][idx] - gauss < skip_below:
        tier[idx] = TIER_DISTANCE
        return -math.inf
    m = _polygon_h(tables, work, k, j)
    if m == 0:
        tier[idx] = TIER_WHOLE_PLANE
        return 0.0
    lo = edge_ptr[k]
    h = work[3]
    pnx = nx[j, lo:lo + m]
    pny = ny[j, lo:lo + m]
    d2 = polygon_distance_sq(pnx, pny, h, m)
    bound = 0.0
    if d2 > 0.0:
        # P <= Q(d) <= exp(-d^2/2)/2, and Q(d) <= phi(d)/d, whose log is
        # -d^2/2 - log(sqrt(2 pi)) - log(d^2)/2: first with log x >= 1 - 1/x
        # (and >= 2 (x - 1)/(x + 1) for x >= 1), which saves the log; the log
        # itself is taken only when that bound lies within 2 nats above the
        # threshold (far out it could decide a little more often: speed only).
        bound = -0.5 * d2 - _LOG_2
        if d2 > _TWO_OVER_PI:
            log_d2 = 1.0 - 1.0 / d2 if d2 < 1.0 else 2.0 * (d2 - 1.0) / (d2 + 1.0)
            bound = min(bound, -0.5 * (d2 + log_d2) - _LOG_SQRT_2PI)
            if bound >= skip_below and bound < skip_below + 2.0 and d2 > 1.0:
                bound = min(bound, -0.5 * (d2 + math.log(d2)) - _LOG_SQRT_2PI)
    bound = min(bound, work[1][idx] - gauss)
    if bound < skip_below:
        tier[idx] = TIER_DISTANCE
        return -math.inf
    # Not within its share: the whole term, at most exp(gauss + bound), may
    # still be dropped, paid from the skips' pool (in units of exp(gauss)).
    if bound < ceiling + _LOG_SKIP_POOL and _spend(budget, _SKIP_SPENT, gauss, math.exp(bound),
                                                   _SKIP_POOL * math.exp(ceiling)):
        tier[idx] = TIER_POOL
        return -math.inf
    p, err = std_polygon_mass_fan(pnx, pny, h, m, ceiling + log_share + _LOG_FLOOR_SHARE)
    # Far from underflow only: there the bound covers every dropped piece.
    if p - err > FAN_MIN_MASS:
        # In units of exp(gauss): the largest term, this one's lower bound included.
        top = max(math.exp(ceiling), p - err)
        if err <= budget[2] * top:
            tier[idx] = TIER_FAN
            return math.log(p)  # within its share
        if _spend(budget, _FAN_SPENT, gauss, err, _FAN_POOL * top):
            tier[idx] = TIER_FAN
            return math.log(p)
    if bound - floor < LOOSE_WINDOW:
        tier[idx] = TIER_LOOSE
        return log_std_polygon_mass_loose(pnx, pny, h, m)
    tier[idx] = TIER_FULL
    return log_std_polygon_mass_polar(pnx, pny, h, m)


term_sum, logpdf_serial, logpdf_parallel = make_density_kernels(
    "polygons", _new_work, _prepare_terms, _log_term_mass)


@parallel_kernel
def score_parallel(
    X, tables, log_skip, slopes, log_weight, log_shape, post_sqrt, post_gain, post_shift,
    means, precisions, inv_noise,
    log_p, d_weight, d_mean, d_cov, d_linear, d_offset, d_noise,
):
    """Gradient of ``log p(x)`` with respect to the model's primitive parameters (2-D latent).

    For each point and each evaluated term ``(k, j)`` with responsibility
    ``r_kj = term_kj / p``, the posterior of ``z`` truncated to region ``k`` has
    first and second moments ``E1``, ``E2`` (from the standardised polygon's
    conditional moments, :func:`~.polygon_moments.conditional_moments`: ``z =
    m + F u`` with posterior mean ``m = post_gain line + post_shift`` and square
    root ``F = post_sqrt``).  With ``r = x - c_k`` and ``a_t`` the rows of ``A_k``
    in whitened units and ``s_t`` the noise standard deviations::

        d/d weight_j   = sum_k term_kj / (weight_j p)                (raw partial)
        d/d mean_j     = sum_k r_kj P_j (E1 - mu_j)                  (P_j = Sigma_j^-1)
        d/d Sigma_j    = sum_k r_kj (P_j C P_j - P_j) / 2,  C = E[(z - mu_j)(z - mu_j)^T]
        d/d A_k[t, a]  = r_kj (r_t E1_a - (E2 a_t)_a) / s_t
        d/d c_k[t]     = r_kj (r_t - a_t . E1) / s_t
        d/d s_t        = sum r_kj (r_t^2 - 2 r_t a_t . E1 + a_t^T E2 a_t - 1) / s_t

    ``d_cov`` holds the derivative with respect to the full (non-symmetrised)
    matrix entries.  Components of weight 0 (``log_weight = -inf``) get their
    raw weight partial from all regions, unskipped.  ``log_p`` excludes the
    density's constant ``log_const``.

    Outputs ``d_weight`` (N, J); ``d_mean`` (N, J, 2); ``d_cov`` (N, J, 2, 2);
    ``d_linear`` (N, K, n, 2); ``d_offset`` (N, K, n); ``d_noise`` (N, n); all
    overwritten.
    """
    basis, perp, offset, edge_ptr, log_coef, white, proj_mean, h0, hw, nx, ny = tables
    n_samples, n = X.shape
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    n_chunks = (n_samples + CHUNK - 1) // CHUNK
    for chunk in nb.prange(n_chunks):
        work = _new_work(tables)
        tables_view = borrowed(tables)  # see .views
        work_view = borrowed(work)
        gauss, term, line, h = work[0], work[1], work[2], work[3]
        for i in range(chunk * CHUNK, min(n_samples, (chunk + 1) * CHUNK)):
            top, total = term_sum(X, i, tables_view, work_view, log_skip)
            lp = top + math.log(total)
            log_p[i] = lp
            d_weight[i] = 0.0
            d_mean[i] = 0.0
            d_cov[i] = 0.0
            d_linear[i] = 0.0
            d_offset[i] = 0.0
            d_noise[i] = 0.0
            for idx in range(n_terms):
                if term[idx] == -math.inf:
                    continue
                k = idx // n_components
                j = idx - k * n_components
                resp = math.exp(term[idx] - lp)
                m = _polygon_h(tables_view, work_view, k, j)
                u1x, u1y, u2xx, u2xy, u2yy = 0.0, 0.0, 1.0, 0.0, 1.0
                if m > 0:
                    lo = edge_ptr[k]
                    u1x, u1y, u2xx, u2xy, u2yy = conditional_moments(
                        nx[j, lo:lo + m], ny[j, lo:lo + m], h, m, term[idx] - gauss[idx])
                F = post_sqrt[k, j]
                mx = post_gain[k, j, 0, 0] * line[k, 0] + post_gain[k, j, 0, 1] * line[k, 1] \
                    + post_shift[k, j, 0]
                my = post_gain[k, j, 1, 0] * line[k, 0] + post_gain[k, j, 1, 1] * line[k, 1] \
                    + post_shift[k, j, 1]
                fux = F[0, 0] * u1x + F[0, 1] * u1y  # F E[u]
                fuy = F[1, 0] * u1x + F[1, 1] * u1y
                e1x = mx + fux
                e1y = my + fuy
                # F E[u u^T] F^T
                gxx = F[0, 0] * u2xx + F[0, 1] * u2xy
                gxy = F[0, 0] * u2xy + F[0, 1] * u2yy
                gyx = F[1, 0] * u2xx + F[1, 1] * u2xy
                gyy = F[1, 0] * u2xy + F[1, 1] * u2yy
                fxx = gxx * F[0, 0] + gxy * F[0, 1]
                fxy = gxx * F[1, 0] + gxy * F[1, 1]
                fyy = gyx * F[1, 0] + gyy * F[1, 1]
                e2xx = mx * mx + 2.0 * mx * fux + fxx
                e2xy = mx * my + mx * fuy + my * fux + fxy
                e2yy = my * my + 2.0 * my * fuy + fyy
                d_weight[i, j] += math.exp(term[idx] - lp - log_weight[j])
                # Prior mean and covariance.
                mu0 = means[j, 0]
                mu1 = means[j, 1]
                P = precisions[j]
                v0 = e1x - mu0
                v1 = e1y - mu1
                d_mean[i, j, 0] += resp * (P[0, 0] * v0 + P[0, 1] * v1)
                d_mean[i, j, 1] += resp * (P[1, 0] * v0 + P[1, 1] * v1)
                c00 = e2xx - 2.0 * mu0 * e1x + mu0 * mu0
                c01 = e2xy - mu0 * e1y - mu1 * e1x + mu0 * mu1
                c11 = e2yy - 2.0 * mu1 * e1y + mu1 * mu1
                for a in range(2):
                    for b in range(2):
                        pcp = (P[a, 0] * (c00 * P[0, b] + c01 * P[1, b])
                               + P[a, 1] * (c01 * P[0, b] + c11 * P[1, b]))
                        d_cov[i, j, a, b] += 0.5 * resp * (pcp - P[a, b])
                # Regional map and noise.
                for t in range(n):
                    r = X[i, t] - offset[k, t]
                    a0 = slopes[k, t, 0]
                    a1 = slopes[k, t, 1]
                    ae1 = a0 * e1x + a1 * e1y
                    e2a0 = e2xx * a0 + e2xy * a1
                    e2a1 = e2xy * a0 + e2yy * a1
                    d_linear[i, k, t, 0] += resp * (r * e1x - e2a0) * inv_noise[t]
                    d_linear[i, k, t, 1] += resp * (r * e1y - e2a1) * inv_noise[t]
                    d_offset[i, k, t] += resp * (r - ae1) * inv_noise[t]
                    aea = a0 * e2a0 + a1 * e2a1
                    d_noise[i, t] += resp * (r * r - 2.0 * r * ae1 + aea - 1.0) * inv_noise[t]
            # Raw weight partials of absent components: p_j(x) / p(x), unskipped.
            for j in range(n_components):
                if log_weight[j] > -math.inf:
                    continue
                for k in range(n_regions):
                    v0 = line[k, 0] - proj_mean[k, j, 0]
                    v1 = line[k, 1] - proj_mean[k, j, 1]
                    y0 = white[k, j, 0, 0] * v0 + white[k, j, 0, 1] * v1
                    y1 = white[k, j, 1, 0] * v0 + white[k, j, 1, 1] * v1
                    value = log_shape[k, j] - 0.5 * (distance_sq(X, i, offset, perp, k)
                                                     + y0 * y0 + y1 * y1)
                    m = _polygon_h(tables_view, work_view, k, j)
                    if m > 0:
                        lo = edge_ptr[k]
                        value += log_std_polygon_mass(nx[j, lo:lo + m], ny[j, lo:lo + m], h, m)
                    d_weight[i, j] += math.exp(value - lp)
        keep_alive(work)  # the owner of work_view lives until here
