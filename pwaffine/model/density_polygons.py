"""The density backend of a 2-D latent: Gaussian integrals over convex polygons.

On region ``R_k`` with whitened map ``A_k`` (``A_k / noise_std``), write the
thin SVD ``A_k = basis_k R_k`` with ``basis_k`` of shape ``(n, 2)``: the
observation enters only through its coordinates ``line = basis_k^T (x - c_k)``
in the region's image plane and its squared distance ``d`` to that plane.  For
``n = 1``, and for regions where ``A_k`` has rank below 2, ``basis_k`` gets a
zero column and ``R_k`` a zero row: the missing plane coordinate is then
identically 0 with unit variance in the formulas below and contributes
nothing, so one kernel serves every ``n >= 1``.

For component ``j`` (``Sigma_j = L_j L_j^T``) let ``B = R_k L_j = P diag(s) Q^T``
(2x2 SVD).  Then, exactly and without forming ill-conditioned inverses:

* the plane coordinates have covariance ``I + B B^T = P diag(1 + s^2) P^T``:
  ``log_coef = log lambda_j - sum log(1 + s^2) / 2`` and
  ``white = diag(1 + s^2)^-1/2 P^T`` (so ``|white (line - R_k mu_j)|^2`` is the
  quadratic form);
* the posterior of ``z`` has covariance ``F F^T`` with ``F = L_j Q diag(1 +
  s^2)^-1/2`` and mean ``G line + g0`` with ``G = L_j Q diag(s / (1 + s^2)) P^T``
  and ``g0 = L_j Q diag(1 + s^2)^-1 Q^T L_j^-1 mu_j``.

The region, standardised by that posterior (``u = F^-1 (z - mean)``), has
half-planes ``n_e . u <= h0_e + hw_e . line`` with fixed unit normals; the
kernel (:mod:`pwaffine._kernels.polygons`) evaluates its standard bivariate
normal mass per point.
"""

from dataclasses import dataclass

import numpy as np

from .._kernels import polygons as _kernel
from ._terms import image_bases, log_noise_const, log_skip, run_logpdf

__all__ = ["PolygonTables", "build_tables", "logpdf", "logpdf_and_grad", "standardised_edges"]

#: Singular values of a region's whitened map below this fraction of the
#: network's largest count as zero (the region's image has lower dimension).
RANK_RTOL = 1e-13


@dataclass(frozen=True)
class PolygonTables:
    """Per-(region, component) constants of a model with a 2-D latent (noise > 0).

    See :mod:`pwaffine._kernels.polygons` for their meaning.  Edge arrays are
    laid out ``[component, edge]`` so that each term's edges are contiguous.
    """

    inv_noise: np.ndarray
    basis: np.ndarray
    perp: np.ndarray
    offset: np.ndarray
    edge_ptr: np.ndarray
    log_coef: np.ndarray
    white: np.ndarray
    proj_mean: np.ndarray
    h0: np.ndarray
    hw: np.ndarray
    nx: np.ndarray
    ny: np.ndarray
    log_const: float
    log_skip: float
    log_shape: np.ndarray
    post_sqrt: np.ndarray
    post_gain: np.ndarray
    post_shift: np.ndarray
    R: np.ndarray

    def kernel_tables(self):
        """The tuple the kernels take (see :mod:`pwaffine._kernels.polygons`)."""
        return (self.basis, self.perp, self.offset, self.edge_ptr, self.log_coef, self.white,
                self.proj_mean, self.h0, self.hw, self.nx, self.ny)

    def point_terms(self, X):
        """Each point's terms as the density kernel treats them, one point at a time (diagnostics).

        Yields ``(top, work)`` per row of ``X``: the largest term and the
        kernel's scratch after that point, ``work[0]`` the Gaussian parts,
        ``work[1]`` the terms (``-inf`` where skipped), ``work[2]`` each
        region's image-plane coordinates and ``work[5]`` each term's
        treatment (``pwaffine._kernels.polygons.TIER_*``).  The scratch is
        reused: copy what must outlive the next point.
        """
        tables = self.kernel_tables()
        Xw = np.ascontiguousarray(np.asarray(X, float) * self.inv_noise)
        work = _kernel._new_work(tables)
        for i in range(Xw.shape[0]):
            top, _ = _kernel.term_sum(Xw, i, tables, work, self.log_skip)
            yield top, work

    def polygon(self, idx, line):
        """``(nx, ny, h)`` of term ``idx``'s standardised polygon, given ``work[2]`` of its point."""
        k, j = divmod(idx, self.log_coef.shape[1])
        lo, hi = self.edge_ptr[k], self.edge_ptr[k + 1]
        return (self.nx[j, lo:hi].copy(), self.ny[j, lo:hi].copy(),
                self.h0[j, lo:hi] + self.hw[j, lo:hi] @ line[k])


def _posterior_factors(R, chol, means):
    """Quadratic-form and posterior factors of every (region, component); see the module docstring."""
    B = np.einsum("kab,jbc->kjac", R, chol)
    P, s, Qt = np.linalg.svd(B)  # (K, J, 2, 2), (K, J, 2), (K, J, 2, 2)
    Q = np.swapaxes(Qt, -1, -2).copy()
    # F = L Q D must keep the orientation (positive determinant) for the kernel's
    # counterclockwise edge order: flip the second singular pair where det Q < 0.
    flip = np.linalg.det(Q) < 0
    Q[flip, :, 1] *= -1.0
    P[flip, :, 1] *= -1.0
    one_s2 = 1.0 + s * s
    root = np.sqrt(one_s2)
    white = np.swapaxes(P, -1, -2) / root[..., :, None]
    LQ = np.einsum("jab,kjbc->kjac", chol, Q)
    F = LQ / root[..., None, :]
    G = np.einsum("kjab,kjb,kjcb->kjac", LQ, s / one_s2, P)
    whitened_mean = np.linalg.solve(chol, means[..., None])[..., 0]  # L^-1 mu, (J, 2)
    g0 = np.einsum("kjab,kjb,kjcb,jc->kja", LQ, 1.0 / one_s2, Q, whitened_mean)
    log_det = np.log1p(s * s).sum(axis=-1)
    return white, F, G, g0, log_det


def standardised_edges(regions, sqrt_cov, means):
    """Every region's half-planes standardised by a Gaussian per (region, component).

    Region ``k``'s constraints ``a_e . z <= b_e`` become, for ``u =
    sqrt_cov[k, j]^-1 (z - means[k, j])``, ``n_e . u <= h_e`` with unit normals
    ``n_e`` (restarted at the smallest angle, as the polygon-mass kernel
    expects, which needs ``det sqrt_cov > 0``).

    Parameters
    ----------
    regions : PolygonRegions
    sqrt_cov : ndarray of shape (K, J, 2, 2)
    means : ndarray of shape (K, J, 2)

    Returns
    -------
    nx, ny, h : ndarray of shape (J, n_edges_total)
        In the new edge order.
    order : ndarray of int of shape (J, n_edges_total)
        ``order[j, e]``: the original edge now at position ``e`` for component ``j``.
    norm : ndarray of shape (J, n_edges_total)
        ``|sqrt_cov^T a|`` of the edge at each position.
    """
    counts = np.diff(regions.edge_ptr)
    E = int(regions.edge_ptr[-1])
    region_of_edge = np.repeat(np.arange(regions.n_regions), counts)
    local = np.arange(E) - regions.edge_ptr[region_of_edge]
    a, b = regions.normals, regions.offsets
    la = np.einsum("ea,ejab->jeb", a, sqrt_cov[region_of_edge])  # (J, E, 2): (F^T a)^T
    norm = np.linalg.norm(la, axis=2)
    unit = la / norm[..., None]
    angle = np.arctan2(unit[..., 1], unit[..., 0])
    J = sqrt_cov.shape[1]
    order = np.empty((J, E), dtype=np.int64)
    for j in range(J):
        # The edge of smallest angle starts each region.
        by_angle = np.lexsort((angle[j], region_of_edge))
        start = by_angle[regions.edge_ptr[:-1][counts > 0]]
        start_local = np.zeros(regions.n_regions, dtype=np.int64)
        start_local[counts > 0] = local[start]
        m = counts[region_of_edge]
        order[j] = regions.edge_ptr[region_of_edge] + (local + start_local[region_of_edge]) % m
    take = np.take_along_axis
    unit_o = np.stack([take(unit[..., 0], order, 1), take(unit[..., 1], order, 1)], axis=-1)
    norm_o = take(norm, order, 1)
    mean_e = means[region_of_edge[order], np.arange(J)[:, None]]  # (J, E, 2)
    h = (b[order] - np.einsum("jea,jea->je", a[order], mean_e)) / norm_o
    return unit_o[..., 0].copy(), unit_o[..., 1].copy(), h, order, norm_o


def build_tables(regions, prior, noise_std, keep_zero_weights=False):
    """Precompute the per-(region, component) constants of the density.

    Parameters
    ----------
    regions : PolygonRegions
    prior : GaussianMixture with ``n_features == 2``
    noise_std : ndarray of shape (n,), all positive
    keep_zero_weights : bool, default=False
        Keep components of weight 0 (their ``log_coef`` is ``-inf``), as the
        gradient needs their weight partials.

    Returns
    -------
    PolygonTables
    """
    inv_noise = 1.0 / noise_std
    basis, R, perp = image_bases(regions.linear * inv_noise[None, :, None], RANK_RTOL)
    keep = np.ones(prior.n_components, bool) if keep_zero_weights else prior.weights > 0
    mu, chol = prior.means[keep], prior.cholesky[keep]
    white, F, G, g0, log_det = _posterior_factors(R, chol, mu)
    nx, ny, h0, order, norm = standardised_edges(regions, F, g0)
    counts = np.diff(regions.edge_ptr)
    region_of_edge = np.repeat(np.arange(regions.n_regions), counts)
    J = mu.shape[0]
    G_e = G[region_of_edge[order], np.arange(J)[:, None]]  # (J, E, 2, 2)
    hw = -np.einsum("jea,jeab->jeb", regions.normals[order], G_e) / norm[..., None]
    return PolygonTables(
        inv_noise=inv_noise,
        basis=np.ascontiguousarray(basis),
        perp=np.ascontiguousarray(perp),
        offset=np.ascontiguousarray(regions.offset * inv_noise),
        edge_ptr=np.ascontiguousarray(regions.edge_ptr, dtype=np.int64),
        log_coef=np.ascontiguousarray(_log(prior.weights[keep])[None, :] - 0.5 * log_det),
        white=np.ascontiguousarray(white),
        proj_mean=np.ascontiguousarray(np.einsum("kab,jb->kja", R, mu)),
        h0=np.ascontiguousarray(h0), hw=np.ascontiguousarray(hw),
        nx=np.ascontiguousarray(nx), ny=np.ascontiguousarray(ny),
        log_const=log_noise_const(noise_std),
        log_skip=log_skip(regions.n_regions * J),
        log_shape=np.ascontiguousarray(-0.5 * log_det),
        post_sqrt=np.ascontiguousarray(F), post_gain=np.ascontiguousarray(G),
        post_shift=np.ascontiguousarray(g0), R=R,
    )


def _log(values):
    with np.errstate(divide="ignore"):
        return np.log(values)


def logpdf(tables, X):
    """Log density at the rows of ``X`` (shape ``(n_samples, n)``) from precomputed tables."""
    return run_logpdf(_kernel, X, tables.inv_noise, tables.kernel_tables(), tables.log_const,
                      tables.log_skip)


#: Points per batch of the gradient: bounds the (n_points, n_regions, n, 2)
#: intermediate arrays.
GRAD_BATCH = 4096


def logpdf_and_grad(model, X):
    """Log density and its gradient with respect to every parameter, point by point.

    Parameters
    ----------
    model : PushforwardModel with a 2-D latent and positive noise
    X : ndarray of shape (n_samples, n)

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
    grad : ndarray of shape (n_samples, n_parameters)
        Columns in the order of ``model.parameters()``: raw partials of the
        mixture weights (the weights treated as free), the means, the
        covariance entries ``(d, e)`` with ``d <= e`` (an off-diagonal
        parameter moves both symmetric entries), every network weight and
        bias, the noise.
    """
    prior, net = model.prior, model.network
    noise = model.noise_vector
    regions = net.affine_regions()
    t = build_tables(regions, prior, noise, keep_zero_weights=True)
    jac_linear, jac_offset = net.map_jacobians(regions.gains)  # (K, n, 2, P), (K, n, P)
    slopes = np.ascontiguousarray(regions.linear * t.inv_noise[None, :, None])
    precisions = np.linalg.inv(prior.covariances)
    with np.errstate(divide="ignore"):
        log_weight = np.log(prior.weights)
    N, n = X.shape
    K, J = t.log_coef.shape
    iu = np.triu_indices(2)
    log_p = np.empty(N)
    grad = np.empty((N, len(model.parameters())))
    for start in range(0, N, GRAD_BATCH):
        Xb = np.ascontiguousarray(X[start:start + GRAD_BATCH] * t.inv_noise)
        B = Xb.shape[0]
        out = {name: np.empty(shape) for name, shape in (
            ("log_p", (B,)), ("d_weight", (B, J)), ("d_mean", (B, J, 2)),
            ("d_cov", (B, J, 2, 2)), ("d_linear", (B, K, n, 2)), ("d_offset", (B, K, n)),
            ("d_noise", (B, n)))}
        _kernel.score_parallel(
            Xb, t.kernel_tables(), t.log_skip, slopes, log_weight, t.log_shape, t.post_sqrt,
            t.post_gain, t.post_shift, np.ascontiguousarray(prior.means), precisions,
            np.ascontiguousarray(t.inv_noise), out["log_p"], out["d_weight"], out["d_mean"],
            out["d_cov"], out["d_linear"], out["d_offset"], out["d_noise"])
        # An off-diagonal covariance parameter sets both symmetric entries.
        d_cov = out["d_cov"] + np.swapaxes(out["d_cov"], 2, 3)
        d_cov[:, :, [0, 1], [0, 1]] *= 0.5
        d_net = (np.einsum("bktd,ktdp->bp", out["d_linear"], jac_linear)
                 + np.einsum("bkt,ktp->bp", out["d_offset"], jac_offset))
        d_noise = out["d_noise"]
        if np.all(noise == noise[0]):
            d_noise = d_noise.sum(axis=1, keepdims=True)
        grad[start:start + B] = np.hstack([
            out["d_weight"], out["d_mean"].reshape(B, -1), d_cov[:, :, iu[0], iu[1]].reshape(B, -1),
            d_net, d_noise])
        log_p[start:start + B] = out["log_p"] + t.log_const
    return log_p, grad
