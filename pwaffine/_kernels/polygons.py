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

import numpy as np

from ._jit import kernel
from .polygon_mass import log_std_polygon_mass
from .terms import distance_sq, make_density_kernels

__all__ = ["logpdf_parallel", "logpdf_serial", "term_sum"]

_LOG_2 = math.log(2.0)


@kernel
def _new_work(tables):
    edge_ptr, log_coef = tables[3], tables[4]
    n_regions, n_components = log_coef.shape
    n_terms = n_regions * n_components
    max_edges = 1
    for k in range(n_regions):
        max_edges = max(max_edges, edge_ptr[k + 1] - edge_ptr[k])
    return np.empty(n_terms), np.empty(n_terms), np.empty((n_regions, 2)), np.empty(max_edges)


@kernel
def _prepare_terms(X, i, tables, work):
    """Gaussian parts and bounds of every term of point ``i``; ``work[2][k]`` = ``line`` of region k."""
    basis, perp, offset, edge_ptr, log_coef, white, proj_mean, h0, hw, nx, ny = tables
    gauss, bound, line, _ = work
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


@kernel
def _log_term_mass(idx, tables, work, below):
    edge_ptr, log_coef, h0, hw, nx, ny = (tables[3], tables[4], tables[7], tables[8],
                                          tables[9], tables[10])
    line, h = work[2], work[3]
    n_components = log_coef.shape[1]
    k = idx // n_components
    j = idx - k * n_components
    lo = edge_ptr[k]
    m = edge_ptr[k + 1] - lo
    if m == 0:
        return 0.0
    for e in range(m):
        h[e] = h0[j, lo + e] + hw[j, lo + e, 0] * line[k, 0] + hw[j, lo + e, 1] * line[k, 1]
    return log_std_polygon_mass(nx[j, lo:lo + m], ny[j, lo:lo + m], h, m)


term_sum, logpdf_serial, logpdf_parallel = make_density_kernels(
    _new_work, _prepare_terms, _log_term_mass)
