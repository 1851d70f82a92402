"""First and second moments of a standard bivariate normal restricted to a convex polygon.

By the divergence theorem, with ``phi`` the standard bivariate density and
``Q`` the polygon (edges ``k`` with outward unit normals ``n_k``, offsets
``h_k``, tangents ``t_k = (-n_ky, n_kx)`` and ends ``s_start < s_end`` along
``u = h_k n_k + s t_k``)::

    int_Q u phi du       = -sum_k n_k int_edge phi ds
    int_Q u_a u_b phi du = delta_ab P(Q) - sum_k n_ka int_edge u_b phi ds

and along an edge ``phi(u) = phi1(h_k) phi1(s)``, so each edge integral is a
1-D normal integral in closed form::

    int_edge phi ds     = phi1(h_k) (Phi(s_end) - Phi(s_start))
    int_edge u_b phi ds = phi1(h_k) (h_k n_kb (Phi(s_end) - Phi(s_start))
                                     + t_kb (phi1(s_start) - phi1(s_end)))

Every edge term is formed in log space relative to ``log P(Q)`` (computed by
:func:`~.polygon_mass.log_std_polygon_mass`), so polygons hundreds of standard
deviations away give finite conditional moments.  These are the derivatives
of the polygon mass with respect to the mean and covariance of the Gaussian;
the polygon's own movement does not enter (the density is continuous across
region boundaries).
"""

import math

from ._jit import kernel
from .polygon_geometry import _pg_s_end, _pg_s_start
from .special import log_interval_mass

__all__ = ["conditional_moments"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@kernel
def conditional_moments(nx, ny, h, m, log_mass):
    """``E[U | U in Q]`` and ``E[U U^T | U in Q]`` for ``U ~ N(0, I_2)``.

    Parameters
    ----------
    nx, ny, h : 1-D arrays (first ``m`` entries used)
        The polygon, as for :func:`~.polygon_mass.log_std_polygon_mass`.
    m : int
        Number of edges (0: the whole plane).
    log_mass : float
        ``log P(U in Q)``.

    Returns
    -------
    e1x, e1y, e2xx, e2xy, e2yy : float
    """
    e1x = 0.0
    e1y = 0.0
    e2xx = 1.0
    e2xy = 0.0
    e2yy = 1.0
    for k in range(m):
        s0 = _pg_s_start(nx, ny, h, k, m)
        s1 = _pg_s_end(nx, ny, h, k, m)
        if not s1 > s0:
            continue
        base = -0.5 * h[k] * h[k] - _LOG_SQRT_2PI - log_mass
        ratio = math.exp(base + log_interval_mass(s0, s1))  # int_edge phi ds / P
        # (phi1(s_start) - phi1(s_end)) phi1(h) / P
        edge_phi = 0.0
        if s0 > -math.inf:
            edge_phi += math.exp(base - 0.5 * s0 * s0 - _LOG_SQRT_2PI)
        if s1 < math.inf:
            edge_phi -= math.exp(base - 0.5 * s1 * s1 - _LOG_SQRT_2PI)
        tx = -ny[k]
        ty = nx[k]
        e1x -= nx[k] * ratio
        e1y -= ny[k] * ratio
        # int_edge u_b phi ds / P, for b = x and b = y
        ux = h[k] * nx[k] * ratio + tx * edge_phi
        uy = h[k] * ny[k] * ratio + ty * edge_phi
        e2xx -= nx[k] * ux
        e2xy -= nx[k] * uy
        e2yy -= ny[k] * uy
    return e1x, e1y, e2xx, e2xy, e2yy
