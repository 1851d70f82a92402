"""Standard bivariate normal mass of a convex polygon by the fan of edge shadows, with its error bound.

For ``U ~ N(0, I_2)`` in polar coordinates about the origin,
``P(U in Q) = (1/2pi) int [exp(-r_in^2/2) - exp(-r_out^2/2)] dtheta`` over the
rays that meet ``Q`` in ``[r_in, r_out]`` (the docstring of
:mod:`.polygon_quadrature` derives it).  Each term is the Gaussian *shadow*
of the edge the ray crosses, :func:`~.owens_t.edge_shadow`, a difference of
two Owen's T values, so

* origin inside ``Q`` (every ``h > 0``): ``P = 1 - sum_k S_k`` (rays of the
  recession cone never leave and keep their full weight); with the origin on
  the boundary, the rays that leave at once carry nothing, so ``1`` becomes
  the angle of the directions into ``Q`` over ``2pi``: the fan triangles'
  angles and the recession cone's (as in :func:`~.polygon_mass._pg_inside`);
* origin outside: ``P = sum_{h_k < 0} S_k - sum_{h_k > 0} S_k``, the shadows
  of the near edges (rays enter) minus those of the far edges (rays leave).

Edges on lines through the origin subtend no angle and are left out.  This
costs a few Owen's T evaluations (or Gauss-Laguerre tails) per edge, against
the hundreds of integrand values of the polar quadrature.  The returned
error bound adds up each shadow's (:func:`~.owens_t.edge_shadow`: relative to
the shadow however small it is and never above ``2 OWENS_T_ABS_ERR``, unless
the caller lets integrands below ``exp(log_floor)`` be dropped), the
directions of each edge's ends, and the rounding of the sum, ``(m + 1) eps
size`` with ``size = [inside] + sum_k S_k``.  Far polygons keep a relative
bound, also when their nearest point is a vertex far from the feet of its
edges.  When the mass is much smaller than its shadows for another reason
(thin polygons, with shadows cancelling) the relative error ``err / P`` is
large; the caller decides from ``err`` whether the result is good enough and
otherwise uses the polar quadrature.
"""

import math

from ._jit import kernel
from .owens_t import edge_shadow
from .polygon_geometry import _pg_corner, _pg_end_point, _pg_point, _pg_s_end, _pg_span
from .polygon_quadrature import _PG_INV_2PI, _PG_TINY_H

__all__ = ["FAN_MIN_MASS", "std_polygon_mass_fan"]

_EPS = 2.0 ** -52
#: Below this the fan's mass is not to be used: shadows and their error
#: bounds underflow there, so the bound no longer covers what is dropped.
FAN_MIN_MASS = 1e-250


@kernel
def _edge_range(nx, ny, h, k, m):
    """Coordinates along edge ``k`` of its start and end (infinite where unbounded).

    The start is the previous edge's end vertex projected on edge ``k``, not
    recomputed from the corner: both edges then see the vertex in the same
    direction from the origin, and the vertex's rounding error along the
    edges (``eps / sin(angle)`` at sharp corners) moves the near and the far
    shadow by the same amount, which cancels.
    """
    km = k - 1 if k > 0 else m - 1
    _, _, sn = _pg_corner(nx, ny, km, m)
    lo = -math.inf
    if sn > 0.0:
        px, py = _pg_end_point(nx, ny, h, km, m)
        lo = nx[k] * py - ny[k] * px
    return lo, _pg_s_end(nx, ny, h, k, m)


@kernel
def std_polygon_mass_fan(nx, ny, h, m, log_floor):
    """``(P(U in Q), bound on its absolute error)`` for ``U ~ N(0, I_2)``.

    ``Q = {u : nx[k] u1 + ny[k] u2 <= h[k], k < m}`` with the conventions of
    :func:`~.polygon_mass.log_std_polygon_mass` (unit normals sorted
    counterclockwise, every constraint a facet, an interior).  The value may
    be slightly negative when the mass is below the error bound.

    Shadow integrands below ``exp(log_floor)`` may be dropped, and their
    bound added to the error: a caller that can afford an absolute error
    ``tol`` passes about ``log(tol)`` and saves the edges far beyond the
    polygon; ``-inf`` keeps the error relative to the mass however small it
    is (down to ``FAN_MIN_MASS``).
    """
    inside = True
    interior = True
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            inside = False
        if h[k] <= _PG_TINY_H:
            interior = False
    boundary = inside and not interior
    total = 1.0 if interior else 0.0
    size = total
    err = 0.0
    # One pass around the polygon, carrying each edge's end vertex to the
    # next edge as its start (as :func:`_edge_range` does, each vertex once).
    px, py = 0.0, 0.0
    closed = False
    # The nearest end of any edge with a shadow, and how many there are (see below).
    r2_min = math.inf
    n_shadows = 0
    if m > 0:
        s_last = _pg_s_end(nx, ny, h, m - 1, m)
        closed = s_last < math.inf
        if closed:
            px, py = _pg_point(nx, ny, h, m - 1, s_last)
    for k in range(m):
        hk = h[k]
        lo = nx[k] * py - ny[k] * px if closed else -math.inf
        hi = _pg_s_end(nx, ny, h, k, m)
        closed = hi < math.inf
        if closed:
            px, py = _pg_point(nx, ny, h, k, hi)
        if boundary:
            # The origin on the boundary: the angle of the directions into Q.
            _, cs, sn = _pg_corner(nx, ny, k, m)
            angle = 0.0
            if sn <= 0.0:
                angle += math.atan2(0.0 - sn, -cs) * _PG_INV_2PI  # +0 for a half-plane
            if hk > _PG_TINY_H:
                angle += _pg_span(hk, lo, hi) * _PG_INV_2PI
            total += angle
            size += angle
        habs = abs(hk)
        if habs <= _PG_TINY_H:
            continue
        inv = 1.0 / habs
        shadow, e = edge_shadow(habs, lo * inv, hi * inv, log_floor)
        if hk > 0.0:
            total -= shadow
        else:
            total += shadow
        size += shadow
        err += e
        # The directions of the shadow's ends are a few eps of angle off, each
        # carrying at most exp(-r^2/2)/2pi of mass per radian, r the distance
        # of the segment's nearer end (h if the segment holds the foot); one
        # exp for all edges, at the nearest r.
        near = 0.0 if lo < 0.0 < hi else min(abs(lo), abs(hi))
        r2_min = min(r2_min, hk * hk + near * near)
        n_shadows += 1
    if n_shadows > 0:
        err += n_shadows * _EPS * math.exp(-0.5 * r2_min)
    # The rounding of the sum; on the boundary, 2m more rounded angles.
    err += (m + 1) * _EPS * size
    if boundary:
        err += 2.0 * m * _EPS
    return total, err
