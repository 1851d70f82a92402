"""Standard bivariate normal mass of a convex polygon, in log space, accurate far into the tails.

:func:`log_std_polygon_mass_polar` sweeps the directions seen from the
origin (the mean), splitting the angular range at the polygon's vertices, and
integrates each piece along the edge its rays enter through with the panel
quadrature of :mod:`.polygon_quadrature` (whose docstring gives the method).
Near the origin, where the fan of Owen's T values (:mod:`.polygon_fan`)
certifies its own accuracy, :func:`log_std_polygon_mass` uses it instead: it
is cheaper there, and more accurate (the polar rule reaches relative errors
of 3e-13 on some wedges within a standard deviation of the mean, against
1e-16 for the fan; tests/test_polygon_mass.py).
"""

import math

import numba as nb

from ._jit import kernel, parallel_kernel
from .polygon_fan import FAN_MIN_MASS, std_polygon_mass_fan
from .polygon_geometry import (
    _pg_corner,
    _pg_end_point,
    _pg_s_end,
    _pg_s_on,
    _pg_s_start,
    _pg_span,
    _pg_start_point,
    _pg_tau,
    polygon_distance_sq,
)
from .polygon_quadrature import (
    _PG_CUT,
    _PG_DELTA_SPLIT,
    _PG_DROP_FRAC,
    _PG_E,
    _PG_HY,
    _PG_INV_2PI,
    _PG_LOOSE_CUT,
    _PG_M,
    _PG_S1,
    _PG_SQRT_HALF_PI,
    _PG_T,
    _PG_T1,
    _PG_TINY_H,
    _pg_adaptive,
    _pg_range,
)
from .special import log_interval_mass

#: Relative error that the fan of Owen's T values must certify to stand in for
#: the polar quadrature in :func:`log_std_polygon_mass`.
FAN_CERTIFIED_RTOL = 1e-14
# Beyond this squared distance the fan's relative error (the conditioning of
# the offsets, ~4 eps d^2 per Owen's T value) cannot meet FAN_CERTIFIED_RTOL.
_FAN_MAX_D2 = 20.0

#: Relative error bound of :func:`log_std_polygon_mass_loose`: the worst measured
#: on 1200 random polygons (fat and thin, wedges, 0 to 30 standard deviations
#: out; tests/test_polygon_mass.py) is 3.3e-5.
LOOSE_RTOL = 1e-4


@kernel
def _pg_line_piece(s_lo, s_hi, kind, ha, d2, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut):
    """Integral of kind ``_PG_E`` / ``_PG_M`` along a near line over ``[s_lo, s_hi]``.

    For ``ha < _PG_HY`` the part ``|s| < _PG_S1`` is integrated in
    ``y = asinh(s / ha)``, which removes the Cauchy poles at ``+-i ha``;
    everything else in ``s``.  ``_PG_M`` has no such poles (``Delta ~ r^2``
    cancels them) unless its own pole ``s_pole`` is central too, where the
    ray and ``n_far . u`` vanish together: only then does it use the y-map.
    """
    if not s_hi > s_lo:
        return 0.0, 0.0
    # Whole piece beyond the cut: bound it by its angular width (< pi) / 2pi.
    sm = min(max(0.0, s_lo), s_hi)
    rm_min = c0 + (sm - s0) * (sm + s0)
    if 0.5 * rm_min > cut:
        return 0.0, 0.5 * math.exp(-0.5 * rm_min)
    if ha >= _PG_HY or (kind == _PG_M and not abs(s_pole) < _PG_S1):
        return _pg_range(s_lo, s_hi, False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
    value = 0.0
    clipped = 0.0
    ca = max(s_lo, -_PG_S1)
    cb = min(s_hi, _PG_S1)
    if ca < cb:
        y_pole = math.asinh(s_pole / ha) if math.isfinite(s_pole) else math.inf
        ya = math.asinh(ca / ha)
        yb = math.asinh(cb / ha)
        v, c = _pg_range(ya, yb, True, kind, ha, 0.0, -d2, sl_a, sl_b, hj, w_a, y_pole, cut)
        value += v
        clipped += c
    if s_lo < -_PG_S1:
        v, c = _pg_range(s_lo, min(s_hi, -_PG_S1), False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
        value += v
        clipped += c
    if s_hi > _PG_S1:
        v, c = _pg_range(max(s_lo, _PG_S1), s_hi, False, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
        value += v
        clipped += c
    return value, clipped


@kernel
def _pg_triangle(ha, a, b, cut):
    """Mass of the fan triangle from the origin to ``a <= s <= b`` on a line at distance ``ha``.

    ``(1/2pi) int (1 - exp(-r^2/2)) dtheta``: for ``ha >= 1`` as angle/2pi minus
    the shadow beyond the line (at most 61% of it); for ``ha < 1`` the part
    ``|s| < 1`` directly (its integrand ``ha g((h^2+s^2)/2) / 4pi`` with
    ``g(q) = (1 - exp(-q))/q`` is entire) and the rest as angle minus shadow.
    """
    if not b > a:
        return 0.0, 0.0
    if ha >= _PG_HY:
        shadow, clipped = _pg_range(a, b, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        return _pg_span(ha, a, b) * _PG_INV_2PI - shadow, clipped
    value = 0.0
    clipped = 0.0
    ca = max(a, -_PG_T1)
    cb = min(b, _PG_T1)
    if ca < cb:
        value += _pg_adaptive(ca, cb, False, False, _PG_T, ha, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    if a < -_PG_T1:
        ob = min(b, -_PG_T1)
        shadow, c = _pg_range(a, ob, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        value += _pg_span(ha, a, ob) * _PG_INV_2PI - shadow
        clipped += c
    if b > _PG_T1:
        oa = max(a, _PG_T1)
        shadow, c = _pg_range(oa, b, False, _PG_E, ha, 0.0, ha * ha, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
        value += _pg_span(ha, oa, b) * _PG_INV_2PI - shadow
        clipped += c
    return value, clipped


@kernel
def _pg_delta(s, r_h2, sl_a, sl_b, hj, w_a):
    """``(r_out^2 - r_in^2) / 2`` for the ray through ``s`` on the near line (``inf`` if it never exits)."""
    slack = sl_a + sl_b * s
    w = w_a - sl_b * s
    if not w > 0.0:
        return math.inf
    return (r_h2 + s * s) * max(slack, 0.0) * (hj + w) / (2.0 * w * w)


@kernel
def _pg_split_point(a, b, r_h2, sl_a, sl_b, hj, w_a):
    """A point between ``a`` (Delta below ``_PG_DELTA_SPLIT``) and ``b`` (above) where Delta crosses it.

    Only roughly located: every split is exact, the threshold only bounds the
    cancellation in ``E_i - E_j``.
    """
    for _ in range(20):
        mid = 0.5 * (a + b)
        if _pg_delta(mid, r_h2, sl_a, sl_b, hj, w_a) < _PG_DELTA_SPLIT:
            a = mid
        else:
            b = mid
    return b


@kernel
def _pg_shadow_diff(nx, ny, h, m, i, j, s_a, s_b, d2, s0, c0, cut):
    """``E_i - E_j`` for the rays entering edge ``i`` at ``s_a <= s <= s_b`` and leaving through edge ``j``.

    ``E_i`` is the Gaussian shadow of edge ``i`` over those rays, ``E_j`` that of
    edge ``j``, integrated in its own coordinate ``s_j = t_j . p`` with
    ``p = (h_j / w) u(s)`` the exit point and ``w = n_j . u(s)``.
    """
    if not s_b > s_a:
        return 0.0, 0.0
    hi = h[i]
    hj = h[j]
    near, c_near = _pg_line_piece(s_a, s_b, _PG_E, -hi, d2, s0, c0, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
    tx = -ny[i]
    ty = nx[i]
    cos_ij = nx[j] * nx[i] + ny[j] * ny[i]
    nj_ti = nx[j] * tx + ny[j] * ty
    tj_ni = -ny[j] * nx[i] + nx[j] * ny[i]
    tj_ti = -ny[j] * tx + nx[j] * ty
    s_far_lo = math.inf
    s_far_hi = -math.inf
    for s in (s_a, s_b):
        w = hi * cos_ij + s * nj_ti
        num = hj * (hi * tj_ni + s * tj_ti)
        if w > 0.0:
            sj = num / w
        else:
            sj = math.inf if num > 0.0 else -math.inf
        s_far_lo = min(s_far_lo, sj)
        s_far_hi = max(s_far_hi, sj)
    s_far_lo = max(s_far_lo, _pg_s_start(nx, ny, h, j, m))
    s_far_hi = min(s_far_hi, _pg_s_end(nx, ny, h, j, m))
    sc = min(max(0.0, s_far_lo), s_far_hi)
    c0_far = (hj * hj + sc * sc) - d2
    far, c_far = _pg_line_piece(s_far_lo, s_far_hi, _PG_E, hj, d2, sc, c0_far,
                                0.0, 0.0, 0.0, 0.0, math.inf, cut)
    return near - far, c_near + c_far


@kernel
def _pg_between(nx, ny, h, m, i, j, s_lo, s_hi, d2, s0, c0, cut):
    """Mass of the rays entering near edge ``i`` at ``s_lo <= s <= s_hi`` and leaving through far edge ``j``.

    The direct integrand ``exp(-r_in^2/2) (1 - exp(-Delta))``,
    ``Delta = (r_out^2 - r_in^2)/2``, is used only where ``Delta`` is below
    ``_PG_DELTA_SPLIT``: next to tangent vertices (``Delta -> 0``) and in thin
    necks.  Elsewhere the mass is the difference of the shadows of the two
    edges, ``E_i - E_j``, each a plain Gaussian line integral in its own
    coordinate, and ``E_j <= E_i exp(-1)``, so at most a factor 1.6 is lost to
    cancellation.  This keeps away from the essential singularity of
    ``exp(-Delta)`` where the ray is parallel to edge ``j`` (``s_pole``), from
    ``1 - exp(-Delta)`` jumping from 0 to 1 within ``~1/d`` of a tangent vertex
    far in the tail, and from ``exp(-r_out^2/2)`` decaying much faster than
    ``exp(-r_in^2/2)``.  ``Delta`` is assumed to have no interior maximum
    (it grows towards the pole and falls towards the tangent vertex).
    """
    hi = h[i]
    hj = h[j]
    ha = -hi
    tx = -ny[i]
    ty = nx[i]
    w_a = hi * (nx[j] * nx[i] + ny[j] * ny[i])
    sl_a = hj - w_a
    sl_b = -(nx[j] * tx + ny[j] * ty)
    r_h2 = hi * hi
    s_pole = math.inf
    if sl_b != 0.0:
        s_pole = w_a / sl_b  # where w = n_j . u(s) vanishes
    # Infinite ends: beyond |s| = s_cut the shadow of edge i, which bounds
    # this mass, is below exp(-cut) of the scale.
    clipped = 0.0
    s_cut = math.sqrt(max(0.0, 2.0 * cut - c0 + s0 * s0))
    if s_hi > s_cut:
        p = max(s_cut, s_lo)
        tail = math.exp(-0.5 * (c0 + (p - s0) * (p + s0))) * _PG_SQRT_HALF_PI
        clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * tail
        s_hi = p
    if s_lo < -s_cut:
        p = min(-s_cut, s_hi)
        tail = math.exp(-0.5 * (c0 + (p - s0) * (p + s0))) * _PG_SQRT_HALF_PI
        clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * tail
        s_lo = p
    if not s_hi > s_lo:
        return 0.0, clipped
    # A point with small Delta: an end, the point nearest the foot, or the middle.
    small = math.nan
    for s in (s_lo, s_hi, min(max(0.0, s_lo), s_hi), 0.5 * (s_lo + s_hi)):
        if _pg_delta(s, r_h2, sl_a, sl_b, hj, w_a) < _PG_DELTA_SPLIT:
            small = s
            break
    if math.isnan(small):
        v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_lo, s_hi, d2, s0, c0, cut)
        return v, c + clipped
    # The direct integrand on [s_left, s_right] around it, shadow differences outside.
    s_left = s_lo
    if _pg_delta(s_lo, r_h2, sl_a, sl_b, hj, w_a) >= _PG_DELTA_SPLIT:
        s_left = _pg_split_point(small, s_lo, r_h2, sl_a, sl_b, hj, w_a)
    s_right = s_hi
    if _pg_delta(s_hi, r_h2, sl_a, sl_b, hj, w_a) >= _PG_DELTA_SPLIT:
        s_right = _pg_split_point(small, s_hi, r_h2, sl_a, sl_b, hj, w_a)
    value, c = _pg_line_piece(s_left, s_right, _PG_M, ha, d2, s0, c0, sl_a, sl_b, hj, w_a, s_pole, cut)
    clipped += c
    v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_lo, s_left, d2, s0, c0, cut)
    value += v
    clipped += c
    v, c = _pg_shadow_diff(nx, ny, h, m, i, j, s_right, s_hi, d2, s0, c0, cut)
    return value + v, clipped + c


@kernel
def _pg_inside(nx, ny, h, m, cut):
    """Mass (unscaled) when the origin lies in the closed polygon: a fan of triangles."""
    total = 0.0
    clipped = 0.0
    for k in range(m):
        _, cs, sn = _pg_corner(nx, ny, k, m)
        if sn <= 0.0:
            # Directions in the recession cone never leave Q.
            total += math.atan2(-sn, -cs) * _PG_INV_2PI
        if h[k] > _PG_TINY_H:
            v, c = _pg_triangle(h[k], _pg_s_start(nx, ny, h, k, m), _pg_s_end(nx, ny, h, k, m), cut)
            total += v
            clipped += c
    return total, clipped


@kernel
def _pg_outside(nx, ny, h, m, cut):
    """Scaled mass ``P(U in Q) exp(d^2/2)`` when the origin is outside; returns (mass, clipped, d^2)."""
    # Distance to Q: the nearest point lies on a near edge (h < 0).
    d2 = math.inf
    k_min = 0
    for k in range(m):
        if h[k] < h[k_min]:
            k_min = k
        if h[k] < -_PG_TINY_H:
            sc = min(max(0.0, _pg_s_start(nx, ny, h, k, m)), _pg_s_end(nx, ny, h, k, m))
            d2 = min(d2, h[k] * h[k] + sc * sc)
    # Reference direction: Q lies in the half-plane e.u >= -h[k_min] > 0.
    ex = -nx[k_min]
    ey = -ny[k_min]
    # First near edge in increasing angle (the near chain is walked backwards),
    # first far edge (the far chain is walked forwards).
    i = -1
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            k1, _, sn = _pg_corner(nx, ny, k, m)
            if sn <= 0.0 or h[k1] >= -_PG_TINY_H:
                i = k
                break
    j = -1
    for k in range(m):
        km = k - 1 if k > 0 else m - 1
        if h[k] > _PG_TINY_H and h[km] <= _PG_TINY_H:
            j = k
            break
    if j >= 0:
        px, py = _pg_start_point(nx, ny, h, j, m)
        tau_lo_j = _pg_tau(ex, ey, px, py)
        fx, fy = _pg_end_point(nx, ny, h, j, m)
        tau_hi_j = _pg_tau(ex, ey, fx, fy)
    else:
        tau_lo_j = math.inf
        tau_hi_j = math.inf
        fx = 0.0
        fy = 0.0
    n_far = 1

    px, py = _pg_end_point(nx, ny, h, i, m)
    tau_cur = _pg_tau(ex, ey, px, py)
    total = 0.0
    clipped = 0.0
    for _ in range(m):
        s_start = _pg_s_start(nx, ny, h, i, m)
        s_end = _pg_s_end(nx, ny, h, i, m)
        s_cur = s_end
        sx, sy = _pg_start_point(nx, ny, h, i, m)
        tau_hi_i = _pg_tau(ex, ey, sx, sy)
        ha = -h[i]
        s0 = min(max(0.0, s_start), s_end)
        c0 = (h[i] * h[i] + s0 * s0) - d2
        while tau_cur < tau_hi_i:
            # Retire far edges that end before the current direction.
            while j >= 0 and tau_hi_j <= tau_cur:
                jn = j + 1 if j + 1 < m else 0
                if h[jn] > _PG_TINY_H and n_far < m:
                    j = jn
                    n_far += 1
                    tau_lo_j = tau_hi_j
                    _, _, sn = _pg_corner(nx, ny, j - 1 if j > 0 else m - 1, m)
                    if sn <= 0.0:
                        qx, qy = _pg_start_point(nx, ny, h, j, m)
                        tau_lo_j = _pg_tau(ex, ey, qx, qy)
                    fx, fy = _pg_end_point(nx, ny, h, j, m)
                    tau_hi_j = _pg_tau(ex, ey, fx, fy)
                else:
                    j = -1
            kind = _PG_E
            if j >= 0 and tau_lo_j <= tau_cur:
                kind = _PG_M
                if tau_hi_j < tau_hi_i:
                    tau_next = tau_hi_j
                    s_next = _pg_s_on(nx, ny, h, i, fx, fy)
                else:
                    tau_next = tau_hi_i
                    s_next = s_start
            elif j >= 0 and tau_lo_j < tau_hi_i:
                tau_next = tau_lo_j
                qx, qy = _pg_start_point(nx, ny, h, j, m)
                s_next = _pg_s_on(nx, ny, h, i, qx, qy)
            else:
                tau_next = tau_hi_i
                s_next = s_start
            s_next = min(max(s_next, s_start), s_cur)
            if kind == _PG_M:
                v, c = _pg_between(nx, ny, h, m, i, j, s_next, s_cur, d2, s0, c0, cut)
            else:
                v, c = _pg_line_piece(s_next, s_cur, _PG_E, ha, d2, s0, c0, 0.0, 0.0, 0.0, 0.0, math.inf, cut)
            total += v
            clipped += c
            tau_cur = tau_next
            s_cur = s_next
        # Next near edge (backwards) while the chain continues through a bounded corner.
        inext = i - 1 if i > 0 else m - 1
        _, _, sn = _pg_corner(nx, ny, inext, m)
        if h[inext] < -_PG_TINY_H and sn > 0.0:
            i = inext
        else:
            break
    return total, clipped, d2


# --------------------------------------------------------------------------
# Public kernels
# --------------------------------------------------------------------------
@kernel
def log_std_polygon_mass(nx, ny, h, n_edges):
    """``log P(U in Q)`` for ``U ~ N(0, I_2)`` and ``Q = {u : nx[i] u1 + ny[i] u2 <= h[i], i < n_edges}``.

    The normals ``(nx[i], ny[i])`` must be unit vectors sorted strictly
    counterclockwise by angle, every constraint a facet, and ``Q`` must have an
    interior; entries beyond ``n_edges`` are ignored.  ``Q`` may be unbounded
    (half-plane, strip, wedge, ...) and any distance from the origin.

    Where the fan of Owen's T values (:func:`~.polygon_fan.std_polygon_mass_fan`)
    certifies a relative error of at most ``FAN_CERTIFIED_RTOL`` (within about
    4.5 standard deviations, ``_FAN_MAX_D2``, for polygons not much thinner
    than their distance),
    it is used; elsewhere the polar quadrature
    (:func:`log_std_polygon_mass_polar`).  Relative error below ~1e-13 near the
    origin; the error of the log a few ``eps d^2`` at distance ``d`` (the
    conditioning of rounded inputs), so the log stays finite and accurate where
    the mass underflows.
    """
    m = n_edges
    if not _is_closed_form(nx, ny, m) and _fan_may_certify(nx, ny, h, m):
        p, err = std_polygon_mass_fan(nx, ny, h, m, -math.inf)
        if p - err > FAN_MIN_MASS and err <= FAN_CERTIFIED_RTOL * (p - err):
            return math.log(p)
    return _log_mass(nx, ny, h, m, _PG_CUT, _PG_DROP_FRAC)


@kernel
def _fan_may_certify(nx, ny, h, m):
    """Whether the fan can reach ``FAN_CERTIFIED_RTOL`` here (cheap necessary conditions).

    Its error is at least ``eps`` times its largest shadow.  With the origin
    inside, ``P >= 1 - sum_k exp(-h_k^2/2)/2`` (the union bound) must exceed
    about 0.1; outside, the shadow of the nearest line, about
    ``exp(-h_near^2/2)``, may exceed ``P <= exp(-d^2/2)/2`` by at most ~20.
    """
    d2 = polygon_distance_sq(nx, ny, h, m)
    if d2 > _FAN_MAX_D2:
        return False
    if d2 == 0.0:
        lost = 0.0
        for k in range(m):
            lost += 0.5 * math.exp(-0.5 * h[k] * h[k])
        return lost < 0.9
    h_near = math.inf
    for k in range(m):
        if h[k] < 0.0:
            h_near = min(h_near, -h[k])
    return d2 - h_near * h_near <= 6.0


@kernel
def log_std_polygon_mass_polar(nx, ny, h, n_edges):
    """:func:`log_std_polygon_mass` by the polar quadrature alone (see the module docstring)."""
    return _log_mass(nx, ny, h, n_edges, _PG_CUT, _PG_DROP_FRAC)


@kernel
def log_std_polygon_mass_loose(nx, ny, h, n_edges):
    """:func:`log_std_polygon_mass` to a relative error of at most ``LOOSE_RTOL`` (cheaper).

    Tails beyond ``exp(-25)`` of the scale are dropped and every panel is a
    single 8-point Gauss-Legendre rule without the a posteriori check; the
    error bound is measured against the full-accuracy mass on random polygons
    near and far from the origin (``tests/test_polygon_mass.py``).
    """
    return _log_mass(nx, ny, h, n_edges, _PG_LOOSE_CUT, math.exp(-_PG_LOOSE_CUT))


@kernel
def _is_closed_form(nx, ny, m):
    """Whether ``Q`` is a half-plane or a strip (a normal interval mass)."""
    if m == 1:
        return True
    if m == 2:
        _, cs, sn = _pg_corner(nx, ny, 0, 2)
        return sn == 0.0 and cs < 0.0
    return False


@kernel
def _log_mass(nx, ny, h, n_edges, cut, drop_frac):
    """Core of :func:`log_std_polygon_mass_polar`: tails beyond ``exp(-cut)`` dropped, at most ``drop_frac``."""
    m = n_edges
    if m == 1:
        return log_interval_mass(-math.inf, h[0])
    if _is_closed_form(nx, ny, m):
        # A strip: n_1 = -n_0, so -h_1 <= n_0.u <= h_0.
        return log_interval_mass(-h[1], h[0])
    inside = True
    for k in range(m):
        if h[k] < -_PG_TINY_H:
            inside = False
    total = 0.0
    d2 = 0.0
    for _ in range(4):
        if inside:
            total, clipped = _pg_inside(nx, ny, h, m, cut)
        else:
            total, clipped, d2 = _pg_outside(nx, ny, h, m, cut)
        if not total > 0.0:
            cut += 200.0
        elif clipped > drop_frac * total:
            cut += math.log(clipped / (drop_frac * total)) + 2.0
        else:
            break
    if not total > 0.0:
        # Only for polygons so thin that their mass underflows even after scaling.
        return -0.5 * d2 - 745.0
    return math.log(total) - 0.5 * d2



@parallel_kernel
def log_std_polygon_mass_many(nx, ny, h, n_edges, out, loose=False):
    """:func:`log_std_polygon_mass` (or the ``loose`` tier) for each row of padded tables.

    The tables have shape ``(n_polygons, max_edges)``.
    """
    for p in nb.prange(out.shape[0]):
        if loose:
            out[p] = log_std_polygon_mass_loose(nx[p], ny[p], h[p], n_edges[p])
        else:
            out[p] = log_std_polygon_mass(nx[p], ny[p], h[p], n_edges[p])

