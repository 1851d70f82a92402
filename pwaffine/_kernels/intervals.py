"""Density and score of ``x = f(z) + noise`` for a 1-D latent: a sum over intervals.

Notation (all in noise-whitened coordinates, ``x / noise_std``): region ``k``
maps ``z`` to ``g_k * unit_k * z + offset_k`` on ``(lower_k, upper_k)``.  For a
point ``x`` let ``w = unit_k . (x - offset_k)`` (its coordinate along the
region's line) and ``d`` its squared distance to that line.  The term of
region ``k`` and component ``j`` is::

    log_coef[k, j] - (d + ((w - slope_mean[k, j]) * inv_sd[k, j])**2) / 2
        + log P(lo_std[k, j] - std_slope[k, j] w < U < hi_std[k, j] - std_slope[k, j] w)

with ``U`` standard normal: the posterior of ``z`` is normal with mean affine
in ``w``, and the interval ends are standardised by it.  A term's upper bound
uses ``P(U > t) <= exp(-t**2/2)/2``.

``tables`` is the tuple ``(unit, perp, offset, lo_std, hi_std, std_slope,
log_coef, slope_mean, inv_sd)``: ``unit, offset`` of shape ``(K, n)``, ``perp``
``(K, n, n)`` (an orthonormal basis of the complement of the region's line,
zero-padded; see :func:`~.terms.distance_sq`), the rest ``(K, J)``.
"""

import math

import numba as nb
import numpy as np

from ._jit import kernel, parallel_kernel
from .special import log_interval_mass, truncated_moments
from .terms import CHUNK, distance_sq, make_density_kernels
from .views import borrowed, keep_alive

__all__ = ["logpdf_parallel", "logpdf_serial", "score_parallel"]

_LOG_2 = math.log(2.0)


@kernel
def _new_work(tables):
    n_regions, n_components = tables[6].shape
    n_terms = n_regions * n_components
    return np.empty(n_terms), np.empty(n_terms), np.empty(n_regions)


@kernel
def _prepare_terms(X, i, tables, work):
    """Gaussian parts and bounds of every term of point ``i``; ``work[2][k]`` = ``w`` of region k."""
    unit, perp, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_sd = tables
    gauss, bound, line = work
    n = X.shape[1]
    n_regions, n_components = log_coef.shape
    for k in range(n_regions):
        w = 0.0
        for t in range(n):
            w += unit[k, t] * (X[i, t] - offset[k, t])
        d = distance_sq(X, i, offset, perp, k)
        line[k] = w
        for j in range(n_components):
            idx = k * n_components + j
            q = (w - slope_mean[k, j]) * inv_sd[k, j]
            gpart = log_coef[k, j] - 0.5 * (d + q * q)
            shift = std_slope[k, j] * w
            a = lo_std[k, j] - shift
            b = hi_std[k, j] - shift
            ub = gpart
            if a > 0.0:
                ub -= 0.5 * a * a + _LOG_2
            elif b < 0.0:
                ub -= 0.5 * b * b + _LOG_2
            gauss[idx] = gpart
            bound[idx] = ub


@kernel
def _log_term_mass(idx, tables, work, floor, ceiling):
    lo_std, hi_std, std_slope = tables[3], tables[4], tables[5]
    n_components = lo_std.shape[1]
    k = idx // n_components
    j = idx - k * n_components
    shift = std_slope[k, j] * work[2][k]
    return log_interval_mass(lo_std[k, j] - shift, hi_std[k, j] - shift)


term_sum, logpdf_serial, logpdf_parallel = make_density_kernels(
    "intervals", _new_work, _prepare_terms, _log_term_mass)


@parallel_kernel
def score_parallel(
    X, tables, log_skip, slopes, log_weight, log_shape, post_gain, post_shift, post_scale,
    means, variances, inv_noise,
    log_p, d_weight, d_mean, d_var, d_linear, d_offset, d_noise,
):
    """Gradient of ``log p(x)`` with respect to the model's primitive parameters.

    For each point and each term ``(k, j)`` with responsibility ``r_kj =
    term_kj / p``, the posterior of ``z`` truncated to region ``k`` has mean
    ``E1`` and second moment ``E2``; with ``r = x - c_k`` in whitened units and
    ``s_t`` the noise standard deviations::

        d/d weight_j   = sum_k term_kj / (weight_j p)          (raw partial)
        d/d mean_j     = sum_k r_kj (E1 - mean_j) / var_j
        d/d var_j      = sum_k r_kj ((E2 - 2 mean_j E1 + mean_j^2) / var_j - 1) / (2 var_j)
        d/d A_kt       = r_kj (r_t E1 - a_kt E2) / s_t          (A_k: region slope)
        d/d c_kt       = r_kj (r_t - a_kt E1) / s_t
        d/d s_t        = sum r_kj (r_t^2 - 2 a_kt r_t E1 + a_kt^2 E2 - 1) / s_t

    The breakpoints' own derivatives cancel because ``f`` is continuous.
    Components of weight 0 (``log_weight = -inf``) get their raw weight
    partial from all regions, unskipped.  ``log_p`` excludes the constant
    ``log_const`` of the density.

    Parameters
    ----------
    tables : the density tables (module docstring); ``slopes`` (K, n) whitened
        region slopes; ``log_shape = log_coef - log_weight`` (finite also for
        zero weights); ``post_gain, post_shift, post_scale`` (K, J): the
        posterior of ``z`` given ``w`` has mean ``post_gain w + post_shift`` and
        standard deviation ``1 / post_scale``; ``means``, ``variances`` (J,).
    Outputs ``d_weight``, ``d_mean``, ``d_var`` : (N, J); ``d_linear``,
    ``d_offset`` : (N, K, n); ``d_noise`` : (N, n); all overwritten.
    """
    unit, perp, offset, lo_std, hi_std, std_slope, log_coef, slope_mean, inv_sd = tables
    n_samples, n = X.shape
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    n_chunks = (n_samples + CHUNK - 1) // CHUNK
    for chunk in nb.prange(n_chunks):
        work = _new_work(tables)
        tables_view = borrowed(tables)  # see .views
        work_view = borrowed(work)
        gauss, term, line = work
        for i in range(chunk * CHUNK, min(n_samples, (chunk + 1) * CHUNK)):
            top, total = term_sum(X, i, tables_view, work_view, log_skip)
            lp = top + math.log(total)
            log_p[i] = lp
            d_weight[i, :] = 0.0
            d_mean[i, :] = 0.0
            d_var[i, :] = 0.0
            d_linear[i, :, :] = 0.0
            d_offset[i, :, :] = 0.0
            d_noise[i, :] = 0.0
            for idx in range(n_terms):
                if term[idx] == -math.inf:
                    continue
                k = idx // n_components
                j = idx - k * n_components
                resp = math.exp(term[idx] - lp)
                log_mass = term[idx] - gauss[idx]
                shift = std_slope[k, j] * line[k]
                r1, r2 = truncated_moments(lo_std[k, j] - shift, hi_std[k, j] - shift, log_mass)
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
                    d = distance_sq(X, i, offset, perp, k)
                    q = (w - slope_mean[k, j]) * inv_sd[k, j]
                    shift = std_slope[k, j] * w
                    value = (log_shape[k, j] - 0.5 * (d + q * q)
                             + log_interval_mass(lo_std[k, j] - shift, hi_std[k, j] - shift))
                    d_weight[i, j] += math.exp(value - lp)
        keep_alive(work)  # the owner of work_view lives until here
