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

#: Batches smaller than this run on one thread: thread start-up would cost more.
PARALLEL_MIN_POINTS = 4096

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
    log_shape: np.ndarray
    slope_mean: np.ndarray
    inv_var: np.ndarray
    post_gain: np.ndarray
    post_shift: np.ndarray
    post_scale: np.ndarray
    log_const: float
    log_skip: float


def interval_tables(regions, prior, noise_std, keep_zero_weights=False):
    """Precompute the constants of :func:`logpdf_intervals`.

    Parameters
    ----------
    regions : IntervalRegions
    prior : GaussianMixture with ``n_features == 1``
    noise_std : ndarray of shape (n,), all positive
    keep_zero_weights : bool, default=False
        Keep components of weight 0 (their ``log_coef`` is ``-inf``), as the
        score needs their weight partials.
    """
    inv_noise = 1.0 / noise_std
    slopes = regions.linear[:, :, 0] * inv_noise  # whitened A_k, (K, n)
    g = np.sqrt(np.einsum("kt,kt->k", slopes, slopes))
    unit = np.divide(slopes, g[:, None], out=np.zeros_like(slopes), where=g[:, None] > 0)
    keep = prior.weights > 0
    if keep_zero_weights:
        keep[:] = True
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
        log_coef=_log(prior.weights[keep]) - 0.5 * np.log1p(tau2),
        log_shape=-0.5 * np.log1p(tau2),
        slope_mean=g[:, None] * mu,
        inv_var=1.0 / v,
        post_gain=g[:, None] * var / v,
        post_shift=mu / v,
        post_scale=np.sqrt(v / var),
        log_const=float(-0.5 * noise_std.size * _LOG_2PI - np.log(noise_std).sum()),
        log_skip=SKIP_MARGIN + float(np.log(n_terms)),
    )


def _log(values):
    with np.errstate(divide="ignore"):
        return np.log(values)


def logpdf_intervals(tables, X):
    """Log density at the rows of ``X`` (shape ``(n_samples, n)``) from precomputed tables."""
    Xw = np.ascontiguousarray(X * tables.inv_noise)
    out = np.empty(X.shape[0])
    t = tables
    kernel = (_kernels.logpdf_intervals if X.shape[0] >= PARALLEL_MIN_POINTS
              else _kernels.logpdf_intervals_serial)
    kernel(
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


def score_intervals(model, X):
    """Per-point gradient of ``log p(x)`` with respect to the model's parameters.

    Parameters
    ----------
    model : PushforwardModel with a 1-D latent and positive noise
    X : ndarray of shape (n_samples, n)

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
    scores : ndarray of shape (n_samples, n_parameters)
        Columns in the order of ``model.parameters()``; mixture weights are
        raw partial derivatives (the weights treated as free, no constraint),
        covariance entries are derivatives with respect to the variance.
    """
    from .regions import interval_pieces

    prior, net = model.prior, model.network
    noise = model._noise
    pieces, gains = interval_pieces(net)
    t = interval_tables(pieces, prior, noise, keep_zero_weights=True)
    Xw = np.ascontiguousarray(X * t.inv_noise)
    N, n = X.shape
    K, J = t.log_coef.shape
    log_weight = _log(prior.weights)
    out = {name: np.empty(shape) for name, shape in (
        ("log_p", (N,)), ("d_weight", (N, J)), ("d_mean", (N, J)), ("d_var", (N, J)),
        ("d_linear", (N, K, n)), ("d_offset", (N, K, n)), ("d_noise", (N, n)))}
    slopes = np.ascontiguousarray(pieces.linear[:, :, 0] * t.inv_noise)
    _kernels.score_intervals(
        Xw, slopes, t.unit, t.offset, t.lower, t.upper, t.log_coef, log_weight,
        t.log_shape, t.slope_mean, t.inv_var, t.post_gain, t.post_shift,
        t.post_scale, np.ascontiguousarray(prior.means[:, 0]),
        np.ascontiguousarray(prior.covariances[:, 0, 0]), np.ascontiguousarray(t.inv_noise),
        t.log_skip, out["log_p"], out["d_weight"], out["d_mean"], out["d_var"],
        out["d_linear"], out["d_offset"], out["d_noise"],
    )
    jac_linear, jac_offset = piece_map_jacobians(net, gains)  # (K, n, P) each
    d_net = (np.einsum("nkt,ktp->np", out["d_linear"], jac_linear)
             + np.einsum("nkt,ktp->np", out["d_offset"], jac_offset))
    if np.all(noise == noise[0]):
        d_noise = out["d_noise"].sum(axis=1, keepdims=True)
    else:
        d_noise = out["d_noise"]
    scores = np.hstack([out["d_weight"], out["d_mean"], out["d_var"], d_net, d_noise])
    return out["log_p"] + t.log_const, scores


def piece_map_jacobians(network, gains):
    """Derivatives of each piece's map ``z -> A z + c`` with respect to the network's parameters.

    With the activation pattern of a piece fixed, ``A`` and ``c`` are
    polynomials in the weights and biases; they are differentiated by
    back-propagation through the fixed pattern.

    Parameters
    ----------
    network : ReLUNetwork with ``n_inputs == 1``
    gains : list of ndarray
        From :func:`pwaffine.regions.interval_pieces`.

    Returns
    -------
    jac_linear, jac_offset : ndarray of shape (n_pieces, n_outputs, n_network_parameters)
        Parameters ordered as in ``model.parameters()``: for each layer its
        weights (row-major) then its biases.
    """
    L = network.n_layers
    K = gains[0].shape[0] if gains else 1
    n = network.n_outputs
    # Forward: the coefficient of z (A) and the constant (C) after each layer.
    A = [np.broadcast_to(network.weights[0][:, 0], (K, network.weights[0].shape[0]))]
    C = [np.broadcast_to(network.biases[0], (K, network.biases[0].shape[0]))]
    inputs_A = [np.ones((K, 1))]
    inputs_C = [np.zeros((K, 1))]
    for layer in range(1, L):
        gA = gains[layer - 1] * A[-1]
        gC = gains[layer - 1] * C[-1]
        inputs_A.append(gA)
        inputs_C.append(gC)
        A.append(gA @ network.weights[layer].T)
        C.append(gC @ network.weights[layer].T + network.biases[layer])
    blocks_linear, blocks_offset = [], []
    # Backward, for each output coordinate's A and C separately.
    for target in ("A", "C"):
        per_layer = [None] * L
        # Upstream gradient of the pre-activation of the last layer: (K, n, n) identity.
        upstream = np.broadcast_to(np.eye(n), (K, n, n))
        for layer in range(L - 1, -1, -1):
            src = inputs_A[layer] if target == "A" else inputs_C[layer]
            dW = upstream[:, :, :, None] * src[:, None, None, :]  # (K, n_out, out_l, in_l)
            db = upstream if target == "C" else np.zeros_like(upstream)
            per_layer[layer] = np.concatenate(
                [dW.reshape(K, n, -1), db.reshape(K, n, -1)], axis=2)
            if layer > 0:
                back = upstream @ network.weights[layer]  # (K, n, width_{l-1})
                upstream = back * gains[layer - 1][:, None, :]
        block = np.concatenate(per_layer, axis=2)
        (blocks_linear if target == "A" else blocks_offset).append(block)
    return blocks_linear[0], blocks_offset[0]
