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

    Shapes: ``unit``, ``offset`` ``(n_regions, n)``; the rest
    ``(n_regions, n_components)``.  See :func:`pwaffine._kernels.logpdf_intervals`
    (and :func:`pwaffine._kernels.score_intervals` for the posterior's
    ``post_*``) for their meaning.
    """

    inv_noise: np.ndarray
    unit: np.ndarray
    offset: np.ndarray
    log_coef: np.ndarray
    log_shape: np.ndarray
    slope_mean: np.ndarray
    inv_var: np.ndarray
    post_gain: np.ndarray
    post_shift: np.ndarray
    post_scale: np.ndarray
    lo_std: np.ndarray
    hi_std: np.ndarray
    std_slope: np.ndarray
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
    keep = np.ones(prior.n_components, bool) if keep_zero_weights else prior.weights > 0
    mu = prior.means[keep, 0]
    var = prior.covariances[keep, 0, 0]
    tau2 = var * g[:, None] ** 2  # prior variance of the line coordinate, (K, J)
    v = 1.0 + tau2
    log_shape = -0.5 * np.log1p(tau2)
    # Posterior of z given the line coordinate w: mean gain * w + shift, sd 1 / scale.
    gain, shift, scale = g[:, None] * var / v, mu / v, np.sqrt(v / var)
    return IntervalTables(
        inv_noise=inv_noise,
        unit=np.ascontiguousarray(unit),
        offset=np.ascontiguousarray(regions.offset * inv_noise),
        log_coef=_log(prior.weights[keep]) + log_shape,
        log_shape=log_shape,
        slope_mean=g[:, None] * mu,
        inv_var=1.0 / v,
        post_gain=gain,
        post_shift=shift,
        post_scale=scale,
        # Standardised interval ends (end - gain w - shift) * scale, affine in w.
        lo_std=(regions.lower[:, None] - shift) * scale,
        hi_std=(regions.upper[:, None] - shift) * scale,
        std_slope=gain * scale,
        log_const=float(-0.5 * noise_std.size * _LOG_2PI - np.log(noise_std).sum()),
        log_skip=SKIP_MARGIN + float(np.log(g.size * mu.size)),
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
        Xw, t.unit, t.offset,
        t.lo_std, t.hi_std, t.std_slope, t.log_coef, t.slope_mean, t.inv_var,
        t.log_const, t.log_skip, out,
    )
    return out


def check_no_atoms(regions, prior):
    """Raise unless ``f`` has full rank on every region (needed for a noiseless density).

    A region where ``f`` is constant carries an atom of ``P(X)``; one where the
    Jacobian has rank below ``m`` maps prior mass onto a lower-dimensional set.
    Every region has positive prior mass, so either way the noiseless law has
    no density.
    """
    m = regions.linear.shape[2]
    for k in range(regions.n_regions):
        A = regions.linear[k]
        rank = np.linalg.matrix_rank(A)
        if rank == m:
            continue
        if rank == 0:
            kind = "f is constant on a region of positive prior mass, so P(X) has an atom"
            where = f"f(z) = {np.array2string(regions.offset[k], precision=6)} for z in " \
                    f"{_describe_region(regions, k)}"
        else:
            kind = (f"f has rank {rank} < m = {m} on a region of positive "
                    "prior mass, so P(X) puts mass on a lower-dimensional set")
            where = f"region {_describe_region(regions, k)}"
        mass = np.exp(regions.log_prior_masses(prior)[k])
        raise ValueError(f"noise_std=0 but {kind} and no density: {where}, mass {mass:.6g}")


def _describe_region(regions, k):
    if regions.linear.shape[2] == 1:
        lo, hi = regions.lower[k], regions.upper[k]
        left = "(" if lo == -np.inf else "["
        return f"{left}{lo:.6g}, {hi:.6g})"
    normals, offsets = regions.halfplanes(k)
    parts = [f"{a[0]:+.4g} z1 {a[1]:+.4g} z2 <= {b:.4g}" for a, b in zip(normals, offsets)]
    return "{" + ", ".join(parts) + "}" if parts else "the whole plane"


def logpdf_noiseless(regions, prior, X):
    """Log density of ``x = f(z)`` by change of variables over every preimage.

    ``p(x) = sum_k p_Z(z_k) / sqrt(det(A_k^T A_k))`` over the regions whose
    preimage ``z_k = A_k^+ (x - c_k)`` lies in the region (by the partition's
    own point location, so a preimage on a boundary counts once).  For
    ``n = m`` this is the density with respect to Lebesgue measure; for
    ``n > m`` with respect to ``m``-dimensional volume on the image (arc length
    for a 1-D latent), and points off the image (farther than
    ``CURVE_RTOL * (1 + |x|_inf)``) get ``-inf``.  The caller must have run
    :func:`check_no_atoms`.
    """
    n_samples, n = X.shape
    m = regions.linear.shape[2]
    terms = np.full((regions.n_regions, n_samples), -np.inf)
    scale = 1.0 + np.abs(X).max(axis=1) if n_samples else np.ones(0)
    for k in range(regions.n_regions):
        A, c = regions.linear[k], regions.offset[k]
        gram = A.T @ A
        diff = X - c
        Z = np.linalg.solve(gram, (diff @ A).T).T  # least-squares preimages
        ok = regions.locate(Z) == k
        if n > m:
            resid = np.abs(diff - Z @ A.T).max(axis=1)
            ok &= resid <= CURVE_RTOL * scale
        if np.any(ok):
            terms[k, ok] = prior.logpdf(Z[ok]) - 0.5 * np.linalg.slogdet(gram)[1]
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
        Xw, slopes, t.unit, t.offset, t.lo_std, t.hi_std, t.std_slope, t.log_coef, log_weight,
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


# --------------------------------------------------------------------------
# 2-D latent: polygons
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class PolygonTables:
    """Per-(region, component) constants of a model with a 2-D latent (noise > 0).

    See :func:`pwaffine._kernels.logpdf_polygons` for their meaning.  Edge
    arrays are laid out ``[component, edge]`` so that each term's edges are
    contiguous.
    """

    inv_noise: np.ndarray
    basis: np.ndarray
    offset: np.ndarray
    edge_ptr: np.ndarray
    log_coef: np.ndarray
    chol_inv: np.ndarray
    proj_mean: np.ndarray
    h0: np.ndarray
    hw: np.ndarray
    nx: np.ndarray
    ny: np.ndarray
    log_const: float
    log_skip: float
    max_edges: int


#: Singular values of a region's whitened map below this fraction of the
#: network's largest count as zero (the region's image has lower dimension).
RANK_RTOL = 1e-13


def polygon_tables(regions, prior, noise_std):
    """Precompute the constants of the 2-D density kernel.

    Parameters
    ----------
    regions : PolygonRegions
    prior : GaussianMixture with ``n_features == 2``
    noise_std : ndarray of shape (n,), all positive
    """
    inv_noise = 1.0 / noise_std
    A = regions.linear * inv_noise[None, :, None]  # (K, n, 2)
    K, n, _ = A.shape
    U, s, Vt = np.linalg.svd(A, full_matrices=False)  # U (K, n, 2), s (K, 2), Vt (K, 2, 2)
    keep_sv = s > RANK_RTOL * max(s.max(), np.finfo(float).tiny)
    basis = np.ascontiguousarray(U * keep_sv[:, None, :])
    R = (s * keep_sv)[:, :, None] * Vt  # (K, 2, 2): A = basis @ R
    keep = prior.weights > 0
    lam = prior.weights[keep]
    mu = prior.means[keep]
    cov = prior.covariances[keep]
    J = lam.size
    cov_inv = np.linalg.inv(cov)
    eye = np.eye(2)
    # Marginal of the plane coordinates: I + R Sigma R^T.
    Cw = eye + np.einsum("kab,jbc,kdc->kjad", R, cov, R)
    Lw = np.linalg.cholesky(Cw)
    log_coef = np.log(lam)[None, :] - np.log(np.diagonal(Lw, axis1=2, axis2=3)).sum(axis=2)
    chol_inv = np.linalg.inv(Lw)
    proj_mean = np.einsum("kab,jb->kja", R, mu)
    # Posterior of z: precision R^T R + Sigma^-1, mean G line + g0.
    prec = np.einsum("kba,kbc->kac", R, R)[:, None] + cov_inv[None]
    S = np.linalg.inv(prec)
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    L = np.linalg.cholesky(S)  # (K, J, 2, 2)
    G = np.einsum("kjab,kcb->kjac", S, R)
    g0 = np.einsum("kjab,jbc,jc->kja", S, cov_inv, mu)
    E = regions.normals.shape[0]
    h0 = np.empty((J, E))
    hw = np.empty((J, E, 2))
    nx = np.empty((J, E))
    ny = np.empty((J, E))
    edge_ptr = regions.edge_ptr.astype(np.int64)
    for k in range(K):
        lo, hi = edge_ptr[k], edge_ptr[k + 1]
        if hi == lo:
            continue
        a = regions.normals[lo:hi]  # (m, 2)
        b = regions.offsets[lo:hi]
        for j in range(J):
            order, unit, norm = standardise_polygon(a, L[k, j])
            nx[j, lo:hi] = unit[:, 0]
            ny[j, lo:hi] = unit[:, 1]
            h0[j, lo:hi] = (b[order] - a[order] @ g0[k, j]) / norm
            hw[j, lo:hi] = -(a[order] @ G[k, j]) / norm[:, None]
    n_terms = K * J
    return PolygonTables(
        inv_noise=inv_noise, basis=basis,
        offset=np.ascontiguousarray(regions.offset * inv_noise),
        edge_ptr=edge_ptr, log_coef=np.ascontiguousarray(log_coef),
        chol_inv=np.ascontiguousarray(chol_inv), proj_mean=np.ascontiguousarray(proj_mean),
        h0=h0, hw=hw, nx=nx, ny=ny,
        log_const=float(-0.5 * n * _LOG_2PI - np.log(noise_std).sum()),
        log_skip=SKIP_MARGIN + float(np.log(n_terms)),
        max_edges=int(np.diff(edge_ptr).max()) if K else 0,
    )


def standardise_polygon(normals, chol):
    """Half-planes ``a . z <= b`` in the coordinates ``u = chol^-1 (z - mean)``.

    ``a . z <= b`` becomes ``(chol^T a) . u <= b - a . mean``; dividing by
    ``|chol^T a|`` gives unit normals.  ``chol^T`` preserves orientation, so
    the counterclockwise order survives; it is restarted at the smallest
    ``atan2`` angle, the order the polygon-mass kernel expects.

    Parameters
    ----------
    normals : ndarray of shape (n_edges, 2)
        Unit normals sorted counterclockwise.
    chol : ndarray of shape (2, 2)
        Lower Cholesky factor of the Gaussian's covariance.

    Returns
    -------
    order : ndarray of int of shape (n_edges,)
        Permutation of the edges.
    unit : ndarray of shape (n_edges, 2)
        Standardised unit normals, in the new order.
    norm : ndarray of shape (n_edges,)
        ``|chol^T a|`` in the new order: new offsets are
        ``(b[order] - normals[order] @ mean) / norm``.
    """
    la = normals @ chol  # rows: (chol^T a)^T
    norm = np.linalg.norm(la, axis=1)
    unit = la / norm[:, None]
    start = int(np.argmin(np.arctan2(unit[:, 1], unit[:, 0])))
    order = np.roll(np.arange(len(normals)), -start)
    return order, unit[order], norm[order]


def log_polygon_prior_masses(regions, prior):
    """Log prior mass of every polygon region (shape ``(n_regions,)``)."""
    K = regions.n_regions
    keep = np.flatnonzero(prior.weights > 0)
    max_edges = max(int(np.diff(regions.edge_ptr).max()), 1)
    out = np.full(K, -np.inf)
    for j in keep:
        nx = np.zeros((K, max_edges))
        ny = np.zeros((K, max_edges))
        h = np.zeros((K, max_edges))
        counts = np.diff(regions.edge_ptr).astype(np.int64)
        for k in range(K):
            lo, hi = regions.edge_ptr[k], regions.edge_ptr[k + 1]
            if hi == lo:
                continue
            a, b = regions.normals[lo:hi], regions.offsets[lo:hi]
            order, unit, norm = standardise_polygon(a, prior.cholesky[j])
            nx[k, :hi - lo], ny[k, :hi - lo] = unit[:, 0], unit[:, 1]
            h[k, :hi - lo] = (b[order] - a[order] @ prior.means[j]) / norm
        log_mass = np.zeros(K)
        has_edges = counts > 0
        if has_edges.any():
            sub = np.empty(int(has_edges.sum()))
            _kernels.log_std_polygon_mass_many(
                nx[has_edges], ny[has_edges], h[has_edges], counts[has_edges], sub)
            log_mass[has_edges] = sub
        out = np.logaddexp(out, np.log(prior.weights[j]) + log_mass)
    return out


def logpdf_polygons(tables, X):
    """Log density at the rows of ``X`` (shape ``(n_samples, n)``) from polygon tables."""
    Xw = np.ascontiguousarray(X * tables.inv_noise)
    out = np.empty(X.shape[0])
    t = tables
    kernel = (_kernels.logpdf_polygons if X.shape[0] >= PARALLEL_MIN_POINTS
              else _kernels.logpdf_polygons_serial)
    kernel(Xw, t.basis, t.offset, t.edge_ptr, t.log_coef, t.chol_inv, t.proj_mean, t.h0, t.hw,
           t.nx, t.ny, t.log_const, t.log_skip, t.max_edges, out)
    return out
