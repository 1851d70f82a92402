"""The density backend of a 1-D latent: Gaussian integrals over intervals, in closed form.

On region ``R_k`` where ``f(z) = A_k z + c_k``, with component ``j`` of the
prior ``N(mu_j, Sigma_j)`` and noise ``N(0, D)``, ``D = diag(noise_std**2)``,
the integrand is Gaussian in ``z``::

    int_{R_k} N(z; mu_j, Sigma_j) N(x; A_k z + c_k, D) dz
        = N(x; A_k mu_j + c_k, A_k Sigma_j A_k^T + D) * P(z in R_k | x, j),

where ``z | x, j ~ N(m_jk(x), S_jk)`` with ``S_jk = (A_k^T D^-1 A_k + Sigma_j^-1)^-1``.
This module computes, once per model, everything that depends only on
``(k, j)`` (:func:`build_tables`) and hands the per-point loop to
:mod:`pwaffine._kernels.intervals`.

Working in noise-whitened coordinates (``x / noise_std``) and splitting
``x - c_k`` into its component along the region's line and its distance to
that line keeps every quadratic form free of cancellation, even for points
far from the data.  The per-term constants are formed from ``t = g sd`` (the
prior standard deviation of the line coordinate, ``g = |A_k| / noise``) with
``hypot`` rather than ``t**2``, so that they stay finite however small the
noise is relative to ``f``.
"""

from dataclasses import dataclass

import numpy as np

from .._kernels import intervals as _kernel
from ._terms import image_bases, log_noise_const, log_skip, run_logpdf
from .intervals import interval_pieces

__all__ = ["IntervalTables", "build_tables", "logpdf", "logpdf_and_grad"]

#: Slopes below this fraction of the network's largest count as zero.
RANK_RTOL = 1e-13


@dataclass(frozen=True)
class IntervalTables:
    """Per-(region, component) constants of a model with a 1-D latent (noise > 0).

    ``unit``, ``offset`` have shape ``(n_regions, n)``, the rest ``(n_regions,
    n_components)``; see :mod:`pwaffine._kernels.intervals` for their meaning.
    The posterior of ``z`` given the line coordinate ``w`` has mean
    ``post_gain * w + post_shift`` and standard deviation ``1 / post_scale``.
    """

    inv_noise: np.ndarray
    unit: np.ndarray
    perp: np.ndarray
    offset: np.ndarray
    lo_std: np.ndarray
    hi_std: np.ndarray
    std_slope: np.ndarray
    log_coef: np.ndarray
    slope_mean: np.ndarray
    inv_sd: np.ndarray
    log_shape: np.ndarray
    post_gain: np.ndarray
    post_shift: np.ndarray
    post_scale: np.ndarray
    log_const: float
    log_skip: float

    def kernel_tables(self):
        """The tuple the kernels take (see :mod:`pwaffine._kernels.intervals`)."""
        return (self.unit, self.perp, self.offset, self.lo_std, self.hi_std, self.std_slope,
                self.log_coef, self.slope_mean, self.inv_sd)


def build_tables(regions, prior, noise_std, keep_zero_weights=False):
    """Precompute the per-(region, component) constants of the density.

    Parameters
    ----------
    regions : IntervalRegions
    prior : GaussianMixture with ``n_features == 1``
    noise_std : ndarray of shape (n,), all positive
    keep_zero_weights : bool, default=False
        Keep components of weight 0 (their ``log_coef`` is ``-inf``), as the
        gradient needs their weight partials.

    Returns
    -------
    IntervalTables
    """
    inv_noise = 1.0 / noise_std
    basis, R, perp = image_bases(regions.linear * inv_noise[None, :, None], RANK_RTOL)
    sign = np.where(R[:, 0, 0] < 0, -1.0, 1.0)
    unit = basis[:, :, 0] * sign[:, None]  # direction of each region's line (0 for a flat one)
    g = np.abs(R[:, 0, 0])  # |whitened slope|
    keep = np.ones(prior.n_components, bool) if keep_zero_weights else prior.weights > 0
    mu = prior.means[keep, 0]
    sd = np.sqrt(prior.covariances[keep, 0, 0])
    t = g[:, None] * sd  # prior sd of the line coordinate w (before noise), (K, J)
    root_v = np.hypot(1.0, t)  # sd of w: sqrt(1 + t^2)
    log_shape = -np.log(root_v)
    # Posterior of z given w: mean gain * w + shift, sd 1 / scale.
    gain = (t / root_v) * (sd / root_v)
    shift = (mu / root_v) / root_v
    scale = root_v / sd
    with np.errstate(divide="ignore"):
        log_weight = np.log(prior.weights[keep])
    return IntervalTables(
        inv_noise=inv_noise,
        unit=np.ascontiguousarray(unit),
        perp=np.ascontiguousarray(perp),
        offset=np.ascontiguousarray(regions.offset * inv_noise),
        # Standardised interval ends (end - gain w - shift) * scale, affine in w.
        lo_std=(regions.lower[:, None] - shift) * scale,
        hi_std=(regions.upper[:, None] - shift) * scale,
        std_slope=t / root_v,
        log_coef=log_weight + log_shape,
        slope_mean=g[:, None] * mu,
        inv_sd=1.0 / root_v,
        log_shape=log_shape,
        post_gain=gain,
        post_shift=shift,
        post_scale=scale,
        log_const=log_noise_const(noise_std),
        log_skip=log_skip(g.size * mu.size),
    )


def logpdf(tables, X):
    """Log density at the rows of ``X`` (shape ``(n_samples, n)``) from precomputed tables."""
    return run_logpdf(_kernel, X, tables.inv_noise, tables.kernel_tables(), tables.log_const,
                      tables.log_skip)


def logpdf_and_grad(model, X):
    """Log density and its gradient with respect to every parameter, point by point.

    Parameters
    ----------
    model : PushforwardModel with a 1-D latent and positive noise
    X : ndarray of shape (n_samples, n)

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
    grad : ndarray of shape (n_samples, n_parameters)
        Columns in the order of ``model.parameters()``; mixture weights are
        raw partial derivatives (the weights treated as free, no constraint),
        covariance entries are derivatives with respect to the variance.
    """
    prior, net = model.prior, model.network
    noise = model.noise_vector
    pieces, gains = interval_pieces(net)
    t = build_tables(pieces, prior, noise, keep_zero_weights=True)
    Xw = np.ascontiguousarray(X * t.inv_noise)
    N, n = X.shape
    K, J = t.log_coef.shape
    with np.errstate(divide="ignore"):
        log_weight = np.log(prior.weights)
    out = {name: np.empty(shape) for name, shape in (
        ("log_p", (N,)), ("d_weight", (N, J)), ("d_mean", (N, J)), ("d_var", (N, J)),
        ("d_linear", (N, K, n)), ("d_offset", (N, K, n)), ("d_noise", (N, n)))}
    slopes = np.ascontiguousarray(pieces.linear[:, :, 0] * t.inv_noise)
    _kernel.score_parallel(
        Xw, t.kernel_tables(), t.log_skip, slopes, log_weight, t.log_shape, t.post_gain,
        t.post_shift, t.post_scale, np.ascontiguousarray(prior.means[:, 0]),
        np.ascontiguousarray(prior.covariances[:, 0, 0]), np.ascontiguousarray(t.inv_noise),
        out["log_p"], out["d_weight"], out["d_mean"], out["d_var"],
        out["d_linear"], out["d_offset"], out["d_noise"],
    )
    jac_linear, jac_offset = net.map_jacobians(gains)  # (K, n, 1, P), (K, n, P)
    d_net = (np.einsum("nkt,ktp->np", out["d_linear"], jac_linear[:, :, 0, :])
             + np.einsum("nkt,ktp->np", out["d_offset"], jac_offset))
    if np.all(noise == noise[0]):
        d_noise = out["d_noise"].sum(axis=1, keepdims=True)
    else:
        d_noise = out["d_noise"]
    grad = np.hstack([out["d_weight"], out["d_mean"], out["d_var"], d_net, d_noise])
    return out["log_p"] + t.log_const, grad
