"""Owen's T function to a fixed *absolute* accuracy, and the Gaussian shadow of a line segment.

``T(h, a) = (1/2pi) int_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2) dx``.

Method (written here; the facts are Owen's, 1956):

* ``|a| <= 1``: the integrand is entire except for poles at ``x = +-i``, so
  16-point Gauss-Legendre rules on ``[0, a]`` (a segment at most 1 long, its
  poles at least a length away) reach rounding level: one rule where the
  integrand falls by at most 13 nats across the segment, else a few panels
  (:func:`_ot_segment`).  Where the integrand has fallen below
  ``exp(-_OT_FALL_MAX)`` times its largest value it is dropped, and the part
  dropped is bounded: the error stays relative to ``T`` however small ``T``
  is, down to the underflow of ``exp``.
* ``|a| > 1``: Owen's identity, for ``h >= 0`` and ``a > 0``,
  ``T(h, a) = Q(h)/2 + Q(ah)/2 - Q(h) Q(ah) - T(ah, 1/a)``, ``Q`` the upper
  normal tail; ``T(h, inf) = Q(h)/2``.  Where ``(ah)^2/2 >= 8``, instead
  ``T(h, a) = Q(h)/2`` less the shadow beyond ``x = a``, a Gauss-Laguerre
  integral (:func:`_tail_shadow`).  ``T`` is even in ``h`` and odd in ``a``.

The absolute error is at most ``OWENS_T_ABS_ERR`` (measured against mpmath,
40 digits, on random and extreme arguments: at most 6e-17;
``tests/test_owens_t.py``).  :func:`owens_t_err` also returns a bound on the
error of each value, relative where ``T`` is not tiny (from the rule's
measured error envelope and the rounding), which the polygon masses of
:mod:`.polygon_fan` add up.  :func:`edge_shadow`, the difference of two T
values along a segment, keeps a relative bound even where both T values are
far larger than it.
"""

import math

import numpy as np

from ._jit import kernel
from .simd import gauss_cauchy_sum, inverse_sqrt_sum
from .special import erfcx

__all__ = ["OWENS_T_ABS_ERR", "edge_shadow", "owens_t", "owens_t_err"]

#: Bound on the absolute error of :func:`owens_t` and of each call of
#: :func:`_ot_segment` that drops nothing below a ``log_floor`` (measured
#: worst: 6e-17).  The bound a call returns can exceed it by the (far
#: smaller) bounds of its far bands' cheaper rules, which were not measured
#: against it.
OWENS_T_ABS_ERR = 2e-16

_OT_N = 16
_OT_X, _OT_W = np.polynomial.legendre.leggauss(_OT_N)
_OT_INV_2PI = 1.0 / (2.0 * math.pi)
# sum_i W_i exp(-q y_i) / y_i, y_i = 1 + (mid + half X_i)^2, four nodes per instruction:
# 16 points, and 12 and 8 for the far bands of a segment (see _gl_segment).
_gl_rule = gauss_cauchy_sum(_OT_X, _OT_W)
_gl_rule_12 = gauss_cauchy_sum(*np.polynomial.legendre.leggauss(12))
_gl_rule_8 = gauss_cauchy_sum(*np.polynomial.legendre.leggauss(8))
# Bounds on the relative error of the 12- and 8-point rules over a segment
# no longer than its distance from the poles whose integrand falls by at most
# 13 and 15.5 nats: three times the worst found against a 40-node, 16-panel
# reference (within 2.3e-16 of mpmath) on 2e6 random segments (a in [0, 30],
# length up to the distance from the poles): 1.3e-10 and 4.5e-6.
_GL_REL_ERR_12 = 4e-10
_GL_REL_ERR_8 = 1.5e-5
# A segment's integrand is dropped where it has fallen by more than this
# many nats from its largest value (exp(-41.4) < 1.1e-18).
_OT_FALL_MAX = 41.4
# A segment is integrated in panels that end where its integrand has fallen
# by these many nats from its near end (see _ot_segment).
_OT_PANEL_FALLS = np.array([13.0, 26.0])
_OT_INV_SQRT2 = 1.0 / math.sqrt(2.0)
# Gauss-Laguerre for the shadow beyond a vertex far from the foot (see _tail_shadow).
_LG_N = 12
_LG_W, _LG_L = np.polynomial.laguerre.laggauss(_LG_N)
# sum_i L_i / ((r2 + 2 W_i) sqrt(c + 2 W_i)), four nodes per instruction.
_lg_sum = inverse_sqrt_sum(2.0 * _LG_W, _LG_L)
# Below this D = s^2/2 the Laguerre rule is less accurate than the T difference.
_LG_MIN_D = 8.0
_OT_EPS = 2.0 ** -53
# Twenty of the spacing of subnormal numbers: where values are subnormal,
# relative error bounds no longer hold.
_OT_SUBNORMAL = 20 * 2.0 ** -1074


@kernel
def _ot_upper_tail(x):
    """``Q(x) = P(U > x)`` for ``x >= 0``, from Cody's ``erfcx`` (libm's ``erfc`` is off by 3e-15 near 3)."""
    t = x * _OT_INV_SQRT2
    if t > 27.3:
        return 0.0  # below the smallest double
    return 0.5 * erfcx(t) * math.exp(-t * t)


@kernel
def _gl_segment(q, lo, hi, band=0):
    """``(1/2pi) int_lo^hi exp(-q (1 + x^2)) / (1 + x^2) dx`` for ``0 <= lo < hi`` by 16 points, and its error bound.

    The segment must be no longer than its distance from the poles ``+-i``
    (``hi - lo <= sqrt(1 + lo^2)``).  The rule's relative error is then at
    most :func:`_gl_rel_err` of the fall ``D = q (hi^2 - lo^2)``; the
    returned bound adds the rounding of ``q (1 + x^2)`` (the conditioning of
    the rounded ``h``).  The nodes are evaluated four per instruction
    (:func:`~.simd.gauss_cauchy_sum`; a sum of positive terms, whose
    rounding bound does not depend on the order).

    ``band`` is the band of a clipped segment's panels (:func:`_ot_segment`)
    that the segment lies in: where the integrand has fallen by 13 to 26 nats
    (``band = 1``, a fall of at most 13 across the segment) a 12-point rule,
    beyond 26 (``band = 2``, at most 15.5) an 8-point rule.  Their relative
    error bounds are larger (``_GL_REL_ERR_12``, ``_GL_REL_ERR_8``), but they
    apply to values at most ``exp(-13)`` and ``exp(-26)`` times the segment's,
    so the segment keeps its relative accuracy; the bound returned is theirs.
    """
    mid = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    if band == 0:
        acc = _gl_rule(q, mid, half)
        rel = _gl_rel_err(q * (hi - lo) * (hi + lo))
    elif band == 1:
        acc = _gl_rule_12(q, mid, half)
        rel = _GL_REL_ERR_12
    else:
        acc = _gl_rule_8(q, mid, half)
        rel = _GL_REL_ERR_8
    value = half * acc * _OT_INV_2PI
    return value, (rel + 4.0 * _OT_EPS * (2.0 + q * (1.0 + hi * hi))) * value


@kernel
def _gl_rel_err(fall):
    """Bound on the relative error of :func:`_gl_segment`'s rule over a segment whose integrand falls by ``fall`` nats.

    An envelope of the worst measured against mpmath (34 digits) on 13,000
    random segments ``[a, a + L sqrt(1 + a^2)]``, ``L <= 1``, ``a`` in
    ``[0, 30]``, with falls ``D`` in ``[0.1, 41.4]``, and on a scan of the
    worst shapes (``a`` near 0, ``L`` near 1): 1.1e-15 at ``D <= 8``,
    1.8e-15 at ``D <= 13.5``, then 3.2e-15, 8.9e-15, 2.0e-14 and 5.8e-14 at
    ``D = 14, 15, 16, 18`` (all at ``a = 0``, ``L = 1``),
    9.7e-14, 2.9e-12, 1.4e-11, 6.0e-11 and 1.5e-9 at ``D <= 20, 25, 30, 35,
    41.4``.  The bound, ``4e-15 exp(1.2 max(0, D - 13))``, is at least
    three times the worst at every fall (far more at large falls, which
    only the last panels of a segment reach, where the integrand has fallen
    by 26 nats or more).
    """
    if fall <= 13.0:
        return 4e-15
    return 4e-15 * math.exp(1.2 * (fall - 13.0))


@kernel
def _ot_segment(q, lo, hi, log_floor):
    """``(1/2pi) int_lo^hi exp(-q (1 + x^2)) / (1 + x^2) dx`` and a bound on its error.

    For ``lo <= hi`` of one sign (``hi`` may be infinite if ``q > 0``; for
    ``q`` so small that no clip is finite the bound returned is ``inf``) and
    ``q = h^2 / 2``.
    Where the integrand has fallen below ``exp(-_OT_FALL_MAX)`` times its
    value at the end nearer 0, or below ``exp(log_floor)``, the segment is
    clipped (the part dropped is bounded and added to the error; with
    ``log_floor = -inf`` it is relative to the segment, not absolute, so
    that tiny shadows keep their relative accuracy).  The rest is cut into
    panels, each integrated by a Gauss-Legendre rule (:func:`_gl_segment`):
    a panel is at most as long as its distance from the poles ``+-i``, and
    ends where the integrand has fallen by ``_OT_PANEL_FALLS`` (13 and 26
    nats) from the segment's near end.  The panels of the first band take
    16 points and fall by at most 13 nats (relative error at most 4e-15,
    :func:`_gl_rel_err`); those of the second and third bands take 12 and 8
    points, whose larger relative bounds apply to values at most ``exp(-13)``
    and ``exp(-26)`` times the near end's, and are added to the error
    outside the cap ``OWENS_T_ABS_ERR`` (which was measured for 16 points).
    A segment no longer than its distance from the poles that falls by at
    most 13 nats is one panel (most segments).
    """
    small = min(abs(lo), abs(hi))
    big = max(abs(lo), abs(hi))
    fall = q * (big - small) * (big + small)
    length = big - small
    if fall <= _OT_PANEL_FALLS[0] and length * length <= 1.0 + small * small \
            and -q * (1.0 + big * big) >= log_floor:
        # One panel, nothing dropped (most segments).
        value, err = _gl_segment(q, small, big)
        return value, min(err + 4.0 * _OT_EPS * value + _OT_SUBNORMAL, OWENS_T_ABS_ERR)
    dropped = 0.0
    if q > 0.0:
        reach2 = small * small + _OT_FALL_MAX / q
        if log_floor > -math.inf:
            reach2 = min(reach2, -log_floor / q - 1.0)
        if not reach2 > small * small:
            # All of it below the floor (the integrand falls from the near end).
            length = min(big - small, math.sqrt(math.pi / q))
            upper = length * math.exp(-q * (1.0 + small * small)) / (1.0 + small * small)
            return 0.0, upper * _OT_INV_2PI
        if big * big > reach2:
            reach = math.sqrt(reach2)
            # What lies beyond the clip: at most the integrand there times
            # the length, or times sqrt(pi / (4 q)) (a Gaussian's half).
            length = min(big - reach, 0.5 * math.sqrt(math.pi / q))
            dropped = length * math.exp(-q * (1.0 + reach2)) / (1.0 + reach2) * _OT_INV_2PI
            big = reach
    if not big > small:
        return 0.0, dropped
    if big == math.inf:
        return 0.0, math.inf  # no clip (q about 0): no bound is claimed
    value = 0.0
    err = 0.0
    far = 0.0
    # The ends of the bands where the integrand has fallen by 13 and 26 nats.
    end_0, end_1 = math.inf, math.inf
    if q > 0.0:
        end_0 = math.sqrt(small * small + _OT_PANEL_FALLS[0] / q)
        if end_0 < big:
            end_1 = math.sqrt(small * small + _OT_PANEL_FALLS[1] / q)
    x0 = small
    p = 0
    while x0 < big:
        band_end = end_0 if p == 0 else (end_1 if p == 1 else math.inf)
        if not band_end > x0:  # (also where the band's end rounded onto x0)
            p += 1
            continue
        x1 = min(big, band_end, x0 + math.sqrt(1.0 + x0 * x0))
        v, e = _gl_segment(q, x0, x1, p)
        value += v
        if p == 0:
            err += e
        else:
            far += e
        x0 = x1
    err += 4.0 * _OT_EPS * value + _OT_SUBNORMAL
    if log_floor == -math.inf:
        return value, min(err + dropped, OWENS_T_ABS_ERR) + far  # dropped: at most 1e-18 relative
    # The cap holds the 16-point rules' and the rounding's part; what the floor
    # dropped and the far bands' rules (not measured against the cap) are added whole.
    return value, min(err, OWENS_T_ABS_ERR) + dropped + far


@kernel
def _ot_upper_tail_err(x):
    """``Q(x)`` for ``x >= 0`` and a bound on its error (``erfc``'s, and the rounding of ``x``)."""
    value = _ot_upper_tail(x)
    return value, (8.0 + 2.0 * x * x) * _OT_EPS * value


@kernel
def _owens_t_with_tail(h, a, qh, eh, log_floor):
    """``T(h, a)`` and its error bound for ``h >= 0``, given ``Q(h)`` and its error (used for ``|a| > 1``)."""
    q = 0.5 * h * h
    if abs(a) <= 1.0:
        if a >= 0.0:
            return _ot_segment(q, 0.0, a, log_floor)
        value, err = _ot_segment(q, a, 0.0, log_floor)
        return -value, err
    sign = 1.0 if a > 0.0 else -1.0
    if math.isinf(a):
        return sign * 0.5 * qh, min(0.5 * eh, OWENS_T_ABS_ERR)
    b = abs(a)
    near = q * b * b
    if near >= _LG_MIN_D:
        # Q(h)/2 less the shadow beyond x = b: a Gauss-Laguerre integral relative
        # to the density there (see _tail_shadow), cheaper than the identity.
        g, rel = _tail_shadow(h, b * h)
        tail = math.exp(-q - near) * g * _OT_INV_2PI
        value = 0.5 * qh - tail
        err = 0.5 * eh + (rel + (4.0 + 4.0 * (q + near)) * _OT_EPS) * tail + _OT_EPS * qh
        return sign * value, min(err + _OT_SUBNORMAL, OWENS_T_ABS_ERR)
    ah = b * h
    qah, eah = _ot_upper_tail_err(ah)
    t, et = _ot_segment(0.5 * ah * ah, 0.0, 1.0 / b, log_floor)
    value = 0.5 * qh + 0.5 * qah - qh * qah - t
    err = 0.5 * eh + 0.5 * eah + eh * qah + qh * eah + 4.0 * _OT_EPS * (0.5 * qh + 0.5 * qah)
    if log_floor == -math.inf:
        return sign * value, min(err + et, OWENS_T_ABS_ERR)
    # et carries its own cap, and whatever log_floor dropped, uncapped.
    return sign * value, min(err, OWENS_T_ABS_ERR) + et


@kernel
def owens_t_err(h, a):
    """Owen's ``T(h, a)`` and a bound on its error (absolute, and relative where ``T`` is not tiny)."""
    h = abs(h)
    qh, eh = 0.0, 0.0
    if abs(a) > 1.0:
        qh, eh = _ot_upper_tail_err(h)
    return _owens_t_with_tail(h, a, qh, eh, -math.inf)


@kernel
def owens_t(h, a):
    """Owen's ``T(h, a)`` for real ``h`` and ``a`` (``a`` may be infinite), absolute error <= ``OWENS_T_ABS_ERR``."""
    return owens_t_err(h, a)[0]


@kernel
def _tail_shadow(habs, s):
    """``G`` with ``R = exp(-(h^2 + s^2)/2) G / 2pi`` the shadow beyond ``s > 0``, and ``G``'s relative error.

    ``R = (1/2pi) int_s^inf h exp(-(h^2 + t^2)/2) / (h^2 + t^2) dt``; with
    ``t^2 = s^2 + 2w`` it is ``exp(-(h^2 + s^2)/2) / 2pi`` times
    ``int_0^inf exp(-w) h / ((h^2 + s^2 + 2w) sqrt(s^2 + 2w)) dw``, a
    Gauss-Laguerre integral whose integrand is smooth on the scale
    ``D = s^2/2`` (its branch point is at ``w = -D``).  Relative error of
    12 points, worst measured against mpmath on 3,000 cases: 7.9e-7 for
    ``D`` in (2, 4], 2.1e-9 in (4, 8], 9.6e-13 in (8, 16], 1.2e-15 in (16, 32],
    7e-16 beyond; the bound below is 2 to 10 times that.
    """
    c = s * s
    r2 = habs * habs + c
    acc = _lg_sum(r2, c)
    d = 0.5 * c
    if d > 32.0:
        rel = 2e-15
    elif d > 16.0:
        rel = 5e-15
    elif d > 8.0:
        rel = 5e-12
    else:
        rel = 1e-8
    return habs * acc, rel + 16.0 * _OT_EPS


@kernel
def _tail_shadow_upper(habs, s):
    """An upper bound on :func:`_tail_shadow`'s ``G``: its integrand at ``w = 0``, ``h / ((h^2 + s^2) s)``.

    The integrand's factor beside ``exp(-w)`` decreases in ``w``, and ``exp(-w)`` integrates to 1.
    """
    return habs / ((habs * habs + s * s) * s)


@kernel
def edge_shadow(habs, lo, hi, log_floor):
    """``T(h, hi) - T(h, lo)`` for ``lo <= hi`` (the Gaussian shadow of a segment of a line), and its error bound.

    For a line at distance ``habs`` from the origin, with coordinate ``s``
    along it (0 at the foot of the perpendicular), the rays from the origin
    through ``lo habs <= s <= hi habs`` carry
    ``(1/2pi) int exp(-r^2/2) dtheta`` of the plane beyond the line, where
    ``r`` is the distance to the line along the ray.  With ``log_floor =
    -inf`` the error is at most ``2 OWENS_T_ABS_ERR``, and the returned
    bound, usually far smaller, stays relative to the shadow however small
    it is.  Integrand values below ``exp(log_floor)`` may be dropped; their
    bound is added to the error, uncapped.

    A segment of one sign beyond ``|a| = 1`` is not a difference of Owen's
    T values there (both are near ``Q(h)/2``, and the difference can be far
    smaller).  In this order: if the integrand falls by at most 13 nats
    across it and its far end is at most twice as far from the foot as its
    near end (so that it is no longer than its distance from the poles), it
    is integrated directly (:func:`_ot_segment`: one rule if no longer
    than its distance from the poles); if its near end
    lies where the integrand has fallen by ``D = s^2/2 >= _LG_MIN_D = 8``
    nats from the foot, it is the difference of the shadows beyond its
    ends, each a Gauss-Laguerre integral relative to its vertex's density;
    if ``D >= 1``, it is integrated directly in panels.  All keep a relative
    error bound, so polygons whose nearest point is a vertex far from the
    feet of its edges keep theirs too.
    """
    if not hi > lo:
        return 0.0, 0.0
    q = 0.5 * habs * habs
    if -q < log_floor:
        # The whole line's shadow, Q(h) <= exp(-h^2/2)/2, is below the floor.
        return 0.0, 0.5 * math.exp(-q)
    if lo >= -1.0 and hi <= 1.0 and (lo >= 0.0 or hi <= 0.0):
        return _ot_segment(q, lo, hi, log_floor)  # one rule: the segment has one sign
    if lo >= 0.0 or hi <= 0.0:
        a = min(abs(lo), abs(hi))
        b = max(abs(lo), abs(hi))
        fall = q * (b - a) * (b + a)
        if fall <= _OT_PANEL_FALLS[0] and b <= 2.0 * a:
            return _ot_segment(q, a, b, log_floor)  # short, and flat
        near = q * a * a  # s^2 / 2 at the near end
        if near >= _LG_MIN_D:
            scale = math.exp(-q - near) * _OT_INV_2PI
            # A shadow beyond s whose bound is below the floor is dropped, bound and all.
            if -q - near < log_floor:
                upper = scale * _tail_shadow_upper(habs, a * habs)
                if upper < math.exp(log_floor):
                    return 0.0, upper
            g_a, rel_a = _tail_shadow(habs, a * habs)
            value = g_a
            err = (rel_a + 4.0 * _OT_EPS) * g_a
            dropped = 0.0
            if b < math.inf:
                if -q - near - fall < log_floor:
                    dropped = scale * math.exp(-fall) * _tail_shadow_upper(habs, b * habs)
                if not 0.0 < dropped < math.exp(log_floor):
                    dropped = 0.0
                    g_b, rel_b = _tail_shadow(habs, b * habs)
                    g_b *= math.exp(-fall)
                    if g_b > 0.0:  # (a fall that overflows leaves nothing)
                        value -= g_b
                        err += (rel_b + 4.0 * _OT_EPS * (1.0 + fall)) * g_b
            value *= scale
            # The pieces' errors (each relative, and the difference's rounding
            # relative to them), the rounding of the common exponent (the
            # conditioning of h and s), and a far piece dropped below the floor.
            err = err * scale + (4.0 + 4.0 * (q + near)) * _OT_EPS * abs(value) + _OT_SUBNORMAL + dropped
            return value, err
        if near >= 1.0:
            # Beyond the bulk of the line's shadow: T values near Q(h)/2 would
            # cancel, so the segment is integrated in panels.
            return _ot_segment(q, a, b, log_floor)
    qh, eh = 0.0, 0.0
    if abs(lo) > 1.0 or abs(hi) > 1.0:
        qh, eh = _ot_upper_tail_err(habs)
    t_hi, e_hi = _owens_t_with_tail(habs, hi, qh, eh, log_floor)
    t_lo, e_lo = _owens_t_with_tail(habs, lo, qh, eh, log_floor)
    value = t_hi - t_lo
    return value, e_hi + e_lo + _OT_EPS * abs(value) + _OT_SUBNORMAL
