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
  bound-based skipping of terms that cannot change the result.
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
def _interval_terms(
    X, i, unit, offset, lower, upper,
    log_coef, slope_mean, inv_var, post_gain, post_shift, post_scale,
    log_skip, line, gauss, term, alpha, beta,
):
    """Region-component log terms of point ``i`` (see :func:`logpdf_intervals`).

    Fills ``line[k]`` (the point's coordinate along region k's line) and, per
    term ``idx = k * J + j``, ``gauss`` (the Gaussian part), ``alpha``/``beta``
    (standardised interval ends) and ``term`` (the log term, ``-inf`` where
    skipped).  Returns ``(top, total)``: the largest term and
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
            m = post_gain[k, j] * w + post_shift[k, j]
            a = (lower[k] - m) * post_scale[k, j]
            b = (upper[k] - m) * post_scale[k, j]
            ub = gpart
            if a > 0.0:
                ub -= 0.5 * a * a + _LOG_2
            elif b < 0.0:
                ub -= 0.5 * b * b + _LOG_2
            gauss[idx] = gpart
            term[idx] = ub
            alpha[idx] = a
            beta[idx] = b
            if ub > best:
                best = ub
                best_idx = idx
    best_term = gauss[best_idx] + log_interval_mass(alpha[best_idx], beta[best_idx])
    top = best_term
    cut = top - log_skip
    for idx in range(n_terms):
        if idx == best_idx:
            term[idx] = best_term
        elif term[idx] >= cut:
            value = gauss[idx] + log_interval_mass(alpha[idx], beta[idx])
            term[idx] = value
            if value > top:
                top = value
                cut = top - log_skip
        else:
            term[idx] = -math.inf
    total = 0.0
    if top > -math.inf:
        for idx in range(n_terms):
            total += math.exp(term[idx] - top)
    return top, total


@_jit
def _logpdf_intervals_range(
    X, unit, offset, lower, upper,
    log_coef, slope_mean, inv_var, post_gain, post_shift, post_scale,
    log_const, log_skip, out, start, stop,
):
    """:func:`logpdf_intervals` for the points ``start:stop`` (serial)."""
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    line = np.empty(n_regions)
    gauss = np.empty(n_terms)
    term = np.empty(n_terms)
    alpha = np.empty(n_terms)
    beta = np.empty(n_terms)
    for i in range(start, stop):
        top, total = _interval_terms(
            X, i, unit, offset, lower, upper, log_coef, slope_mean, inv_var, post_gain,
            post_shift, post_scale, log_skip, line, gauss, term, alpha, beta,
        )
        out[i] = log_const + top + math.log(total) if top > -math.inf else -math.inf


@_pjit
def logpdf_intervals(
    X, unit, offset, lower, upper,
    log_coef, slope_mean, inv_var, post_gain, post_shift, post_scale,
    log_const, log_skip, out,
):
    """Log density of ``x = f(z) + noise`` for a 1-D latent, in whitened coordinates.

    Notation (all in noise-whitened coordinates, ``x / noise_std``): region
    ``k`` maps ``z`` to ``g_k * unit_k * z + offset_k`` on ``(lower_k, upper_k)``.
    For a point ``x`` let ``w = unit_k . (x - offset_k)`` and ``d`` the squared
    distance from ``x`` to the line of region ``k``.  The term of region ``k``
    and component ``j`` is::

        log_coef[k, j] - (d + (w - slope_mean[k, j])**2 * inv_var[k, j]) / 2
            + log P(lower_k < z < upper_k),   z ~ posterior N(m, 1 / post_scale**2),
        m = post_gain[k, j] * w + post_shift[k, j]

    and ``out[i] = log_const + logsumexp`` of the terms.

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
    lower, upper : (K,) interval ends (``-inf``/``inf`` allowed).
    log_coef, slope_mean, inv_var, post_gain, post_shift, post_scale : (K, J)
    log_const, log_skip : float
    out : (n_samples,) output.
    """
    n_samples = X.shape[0]
    n_chunks = (n_samples + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        _logpdf_intervals_range(
            X, unit, offset, lower, upper, log_coef, slope_mean, inv_var, post_gain,
            post_shift, post_scale, log_const, log_skip, out,
            chunk * _CHUNK, min(n_samples, (chunk + 1) * _CHUNK),
        )


@_jit
def logpdf_intervals_serial(
    X, unit, offset, lower, upper,
    log_coef, slope_mean, inv_var, post_gain, post_shift, post_scale,
    log_const, log_skip, out,
):
    """:func:`logpdf_intervals` on one thread (cheaper for small batches)."""
    _logpdf_intervals_range(
        X, unit, offset, lower, upper, log_coef, slope_mean, inv_var, post_gain,
        post_shift, post_scale, log_const, log_skip, out, 0, X.shape[0],
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
    X, slopes, unit, offset, lower, upper,
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
        alpha = np.empty(n_terms)
        beta = np.empty(n_terms)
        for i in range(chunk * _CHUNK, min(n_samples, (chunk + 1) * _CHUNK)):
            top, total = _interval_terms(
                X, i, unit, offset, lower, upper, log_coef, slope_mean, inv_var, post_gain,
                post_shift, post_scale, log_skip, line, gauss, term, alpha, beta,
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
                r1, r2 = _truncated_moments(alpha[idx], beta[idx], log_mass)
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
                    m = post_gain[k, j] * w + post_shift[k, j]
                    a = (lower[k] - m) * post_scale[k, j]
                    b = (upper[k] - m) * post_scale[k, j]
                    value = (log_shape[k, j] - 0.5 * (d + q * q * inv_var[k, j])
                             + log_interval_mass(a, b))
                    d_weight[i, j] += math.exp(value - lp)
