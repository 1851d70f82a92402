"""Per-region Gaussian integrals: the density of ``x = f(z) + noise`` in closed form.

On region ``R_k`` where ``f(z) = A_k z + c_k``, with component ``j`` of the
prior ``N(mu_j, Sigma_j)`` and noise ``N(0, D)``, ``D = diag(noise_std**2)``,
the integrand is Gaussian in ``z``::

    int_{R_k} N(z; mu_j, Sigma_j) N(x; A_k z + c_k, D) dz
        = N(x; A_k mu_j + c_k, A_k Sigma_j A_k^T + D) * P(z in R_k | x, j),

where ``z | x, j ~ N(m_jk(x), S_jk)`` with ``S_jk = (A_k^T D^-1 A_k + Sigma_j^-1)^-1``.
This module computes, once per model, everything that depends only on
``(k, j)`` and hands the per-point loop to ``_kernels``.

Working in noise-whitened coordinates (``x / noise_std``) and splitting
``x - c_k`` into its component along the region's line and its distance to
that line keeps every quadratic form free of cancellation, even for points
far from the data.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from . import _kernels

_LOG_2PI = np.log(2.0 * np.pi)

#: Terms are skipped once their upper bound is this far (in log) below the
#: largest term, plus log(n_terms): the skipped total is < exp(-40) relative.
SKIP_MARGIN = 40.0

#: Noiseless models with n > 1: a point belongs to the image curve when its
#: distance to the curve is at most ``CURVE_RTOL * (1 + |x|_inf)``.
CURVE_RTOL = 1e-9


@dataclass(frozen=True)
class IntervalTables:
    """Per-(region, component) constants of a model with a 1-D latent (noise > 0).

    Shapes: ``unit``, ``offset`` ``(n_regions, n)``; ``lower``, ``upper``
    ``(n_regions,)``; the rest ``(n_regions, n_components)``.  See
    :func:`pwaffine._kernels.logpdf_intervals` for their meaning.
    """

    inv_noise: np.ndarray
    unit: np.ndarray
    offset: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    log_coef: np.ndarray
    slope_mean: np.ndarray
    inv_var: np.ndarray
    post_gain: np.ndarray
    post_shift: np.ndarray
    post_scale: np.ndarray
    log_const: float
    log_skip: float


def interval_tables(regions, prior, noise_std):
    """Precompute the constants of :func:`logpdf_intervals`.

    Parameters
    ----------
    regions : IntervalRegions
    prior : GaussianMixture with ``n_features == 1``
    noise_std : ndarray of shape (n,), all positive
    """
    inv_noise = 1.0 / noise_std
    slopes = regions.linear[:, :, 0] * inv_noise  # whitened A_k, (K, n)
    g = np.sqrt(np.einsum("kt,kt->k", slopes, slopes))
    unit = np.divide(slopes, g[:, None], out=np.zeros_like(slopes), where=g[:, None] > 0)
    keep = prior.weights > 0
    mu = prior.means[keep, 0]
    var = prior.covariances[keep, 0, 0]
    tau2 = var * g[:, None] ** 2  # prior variance of the line coordinate, (K, J)
    v = 1.0 + tau2
    n_terms = g.size * mu.size
    return IntervalTables(
        inv_noise=inv_noise,
        unit=np.ascontiguousarray(unit),
        offset=np.ascontiguousarray(regions.offset * inv_noise),
        lower=np.ascontiguousarray(regions.lower),
        upper=np.ascontiguousarray(regions.upper),
        log_coef=np.log(prior.weights[keep]) - 0.5 * np.log1p(tau2),
        slope_mean=g[:, None] * mu,
        inv_var=1.0 / v,
        post_gain=g[:, None] * var / v,
        post_shift=mu / v,
        post_scale=np.sqrt(v / var),
        log_const=float(-0.5 * noise_std.size * _LOG_2PI - np.log(noise_std).sum()),
        log_skip=SKIP_MARGIN + float(np.log(n_terms)),
    )


def logpdf_intervals(tables, X):
    """Log density at the rows of ``X`` (shape ``(n_samples, n)``) from precomputed tables."""
    Xw = np.ascontiguousarray(X * tables.inv_noise)
    out = np.empty(X.shape[0])
    t = tables
    _kernels.logpdf_intervals(
        Xw, t.unit, t.offset, t.lower, t.upper,
        t.log_coef, t.slope_mean, t.inv_var, t.post_gain, t.post_shift, t.post_scale,
        t.log_const, t.log_skip, out,
    )
    return out


def check_no_atoms(regions, prior):
    """Raise if ``f`` is constant on a region of positive prior mass (noiseless law has an atom)."""
    constant = np.flatnonzero(np.all(regions.linear == 0.0, axis=(1, 2)))
    if constant.size:
        k = constant[0]
        mass = np.exp(regions.log_prior_masses(prior)[k])
        raise ValueError(
            "noise_std=0 but f is constant on a region of positive prior mass, so P(X) has an "
            f"atom and no density: f(z) = {np.array2string(regions.offset[k], precision=6)} for "
            f"z in {_format_interval(regions.lower[k], regions.upper[k])}, an atom of mass {mass:.6g}"
        )


def _format_interval(lo, hi):
    left = "(" if lo == -np.inf else "["
    return f"{left}{lo:.6g}, {hi:.6g})"


def logpdf_noiseless_intervals(regions, prior, X):
    """Log density of ``x = f(z)`` for a 1-D latent, by change of variables.

    ``p(x) = sum over preimages z of p_Z(z) / |f'(z)|`` where ``|f'(z)|`` is the
    Euclidean norm of the slope.  For ``n = 1`` this is a density with respect
    to Lebesgue measure; for ``n > 1`` with respect to arc length on the image
    curve, and points off the curve (farther than ``CURVE_RTOL * (1 + |x|)``)
    get ``-inf``.  The caller must have run :func:`check_no_atoms`.
    """
    n_samples, n = X.shape
    terms = np.full((regions.n_regions, n_samples), -np.inf)
    scale = 1.0 + np.abs(X).max(axis=1)
    for k in range(regions.n_regions):
        a = regions.linear[k, :, 0]
        a2 = a @ a
        diff = X - regions.offset[k]
        z = diff @ a / a2
        inside = (z >= regions.lower[k]) & (z < regions.upper[k])
        if n > 1:
            resid = np.abs(diff - z[:, None] * a).max(axis=1)
            inside &= resid <= CURVE_RTOL * scale
        if np.any(inside):
            log_prior = logsumexp(prior._component_logpdf(z[inside, None]), axis=1)
            terms[k, inside] = log_prior - 0.5 * np.log(a2)
    return logsumexp(terms, axis=0)
