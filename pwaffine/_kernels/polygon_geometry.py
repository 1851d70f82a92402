"""Geometry of a convex polygon ``Q = {u : nx[k] u1 + ny[k] u2 <= h[k]}`` seen from the origin.

Edges are numbered counterclockwise by their unit normals; edge ``k`` lies on
the line ``n_k . u = h_k`` and is parametrised by ``u = h_k n_k + s t_k`` with
tangent ``t_k = (-ny[k], nx[k])`` (``s = 0`` at the foot of the perpendicular
from the origin).  Shared by the polar quadrature (:mod:`.polygon_mass`), the
fan of Owen's T values (:mod:`.polygon_fan`) and the conditional moments
(:mod:`.polygon_moments`).
"""

import math

from ._jit import kernel
from .polygon_quadrature import _PG_TINY_H

__all__ = ["polygon_distance_sq"]


@kernel
def _pg_span(ha, a, b):
    """Angle subtended from the origin by ``a <= s <= b`` on a line at distance ``ha``."""
    if a == -math.inf:
        if b == math.inf:
            return math.pi
        return math.atan2(ha, -b)
    if b == math.inf:
        return math.atan2(ha, a)
    return math.atan2(ha * (b - a), ha * ha + a * b)


@kernel
def _pg_corner(nx, ny, k, m):
    """Index of the next edge and cos / sin of the turn from normal ``k`` to it.

    The sine is formed as ``n_k x (n_k1 -+ n_k)``: for nearly (anti)parallel
    normals the difference (sum) is exact, so the sine keeps its relative
    accuracy at the sharp corners of thin polygons.
    """
    k1 = k + 1 if k + 1 < m else 0
    cs = nx[k] * nx[k1] + ny[k] * ny[k1]
    if cs > 0.0:
        sn = nx[k] * (ny[k1] - ny[k]) - ny[k] * (nx[k1] - nx[k])
    else:
        sn = nx[k] * (ny[k1] + ny[k]) - ny[k] * (nx[k1] + nx[k])
    return k1, cs, sn


@kernel
def _pg_s_turn(h_from, h_to, cs, sn):
    """Coordinate along the line at ``h_from`` where the line at ``h_to``, a turn ``(cs, sn)`` on (``sn > 0``), meets it.

    ``(h_to - h_from cos)/sin``; for a small turn written as
    ``(h_to - h_from)/sin + h_from sin/(1 + cos)`` to avoid cancelling ``h_from cos``.
    """
    if cs > 0.0:
        return (h_to - h_from) / sn + h_from * sn / (1.0 + cs)
    return (h_to - h_from * cs) / sn


@kernel
def _pg_s_end(nx, ny, h, k, m):
    """Coordinate along edge ``k`` (direction ``(-ny, nx)``) of its end; ``inf`` if unbounded."""
    k1, cs, sn = _pg_corner(nx, ny, k, m)
    if not sn > 0.0:
        return math.inf
    return _pg_s_turn(h[k], h[k1], cs, sn)


@kernel
def _pg_s_start(nx, ny, h, k, m):
    """Coordinate along edge ``k`` of its start; ``-inf`` if unbounded (the end seen backwards)."""
    km = k - 1 if k > 0 else m - 1
    _, cs, sn = _pg_corner(nx, ny, km, m)
    if not sn > 0.0:
        return -math.inf
    return -_pg_s_turn(h[k], h[km], cs, sn)


@kernel
def _pg_point(nx, ny, h, k, s):
    """The point at coordinate ``s`` along edge ``k``: ``h_k n_k + s t_k``."""
    return h[k] * nx[k] - s * ny[k], h[k] * ny[k] + s * nx[k]


@kernel
def _pg_end_point(nx, ny, h, k, m):
    """End vertex of edge ``k``, or its direction ``t_k`` when the edge is unbounded."""
    s = _pg_s_end(nx, ny, h, k, m)
    if s == math.inf:
        return -ny[k], nx[k]
    return _pg_point(nx, ny, h, k, s)


@kernel
def _pg_start_point(nx, ny, h, k, m):
    """Start vertex of edge ``k`` (the end vertex of edge ``k - 1``), or direction ``-t_k``."""
    km = k - 1 if k > 0 else m - 1
    _, _, sn = _pg_corner(nx, ny, km, m)
    if sn > 0.0:
        return _pg_end_point(nx, ny, h, km, m)
    return ny[k], -nx[k]


@kernel
def _pg_tau(ex, ey, px, py):
    """Angular coordinate ``tan(angle from e)`` of the point or direction ``p``."""
    num = ex * py - ey * px
    den = ex * px + ey * py
    if den > 0.0:
        return num / den
    return math.inf if num > 0.0 else -math.inf


@kernel
def _pg_s_on(nx, ny, h, i, px, py):
    """Coordinate along line ``i`` where the ray through ``p`` meets it."""
    den = nx[i] * px + ny[i] * py
    num = h[i] * (nx[i] * py - ny[i] * px)
    if den < 0.0:
        return num / den
    return -math.inf if num > 0.0 else math.inf


@kernel
def polygon_distance_sq(nx, ny, h, m):
    """Squared distance from the origin to ``Q`` (0 if the origin is inside or on it)."""
    d2 = math.inf
    inside = True
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            inside = False
            # The foot s = 0 clamped to the edge.  s_end has the sign of
            # h_k1 - h_k cos (and s_start that of h_k cos - h_km, with the
            # previous turn), so the divisions are made only where the clamp
            # binds (a sign that rounds the other way leaves |s| ~ eps).
            sc = 0.0
            k1, cs, sn = _pg_corner(nx, ny, k, m)
            if sn > 0.0 and h[k1] - h[k] * cs < 0.0:
                sc = _pg_s_turn(h[k], h[k1], cs, sn)
            else:
                km = k - 1 if k > 0 else m - 1
                _, cs, sn = _pg_corner(nx, ny, km, m)
                if sn > 0.0 and h[k] * cs - h[km] > 0.0:
                    sc = -_pg_s_turn(h[k], h[km], cs, sn)
            d2 = min(d2, h[k] * h[k] + sc * sc)
    return 0.0 if inside else d2
