"""Owen's T function to a fixed *absolute* accuracy, and the Gaussian shadow of a line segment.

``T(h, a) = (1/2pi) int_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2) dx``.

Method (written here; the facts are Owen's, 1956):

* ``|a| <= 1``: the integrand is entire except for poles at ``x = +-i``, so a
  12-point Gauss-Legendre rule on ``[0, a]`` (a segment at most 1 long, its
  poles at least a length away) reaches rounding level.  Where
  ``exp(-h^2 (1 + x^2)/2) < exp(-_OT_QMAX)`` the integrand is dropped: the
  segment is clipped to ``|x| <= sqrt(2 _OT_QMAX / h^2 - 1)`` and ``T = 0``
  for ``h^2/2 > _OT_QMAX``, an absolute error below ``exp(-_OT_QMAX)/2pi``.
* ``|a| > 1``: Owen's identity, for ``h >= 0`` and ``a > 0``,
  ``T(h, a) = Q(h)/2 + Q(ah)/2 - Q(h) Q(ah) - T(ah, 1/a)``, ``Q`` the upper
  normal tail; ``T(h, inf) = Q(h)/2``.  ``T`` is even in ``h`` and odd in ``a``.

The absolute error is at most ``OWENS_T_ABS_ERR`` (measured against mpmath,
40 digits, on random and extreme arguments: at most 6e-17;
``tests/test_owens_t.py``).  :func:`owens_t_err` also returns a bound on the
error of each value, relative where ``T`` is not tiny (from the rule's
measured error envelope and the rounding), which the polygon masses of
:mod:`.polygon_fan` add up.  Far in the tails, where ``T`` itself is below
1e-18, only the absolute bound remains: that regime belongs to the polar
quadrature of :mod:`.polygon_mass`.
"""

import math

import numpy as np

from ._jit import kernel
from .special import erfcx

__all__ = ["OWENS_T_ABS_ERR", "edge_shadow", "owens_t", "owens_t_err"]

#: Bound on the absolute error of :func:`owens_t` and of each call of
#: :func:`_ot_segment` (measured worst: 6e-17).
OWENS_T_ABS_ERR = 2e-16

_OT_N = 12
_OT_X, _OT_W = np.polynomial.legendre.leggauss(_OT_N)
_OT_INV_2PI = 1.0 / (2.0 * math.pi)
# exp(-41.4) < 1.1e-18: integrand values below it are dropped.
_OT_QMAX = 41.4
_OT_INV_SQRT2 = 1.0 / math.sqrt(2.0)
# Bound on the dropped part of a segment: exp(-_OT_QMAX) / 2pi per unit length.
_OT_TRUNC = 2e-19
_OT_EPS = 2.0 ** -53


@kernel
def _ot_upper_tail(x):
    """``Q(x) = P(U > x)`` for ``x >= 0``, from Cody's ``erfcx`` (libm's ``erfc`` is off by 3e-15 near 3)."""
    t = x * _OT_INV_SQRT2
    if t > 27.3:
        return 0.0  # below the smallest double
    return 0.5 * erfcx(t) * math.exp(-t * t)


@kernel
def _ot_segment(q, lo, hi):
    """``(1/2pi) int_lo^hi exp(-q (1 + x^2)) / (1 + x^2) dx`` and a bound on its error.

    For ``lo <= hi`` of one sign with ``|lo|, |hi| <= 1`` and ``q = h^2 / 2``.
    The segment is clipped to where the integrand exceeds ``exp(-_OT_QMAX)``
    (an absolute error below ``_OT_TRUNC``) and a 12-point Gauss-Legendre rule
    does the rest.  Its relative error grows with the fall ``D`` of the
    log-integrand across the segment: at most ``min(1e-15 exp(1.2 D), 1e-8)``
    (an envelope of the worst measured against mpmath, 6,000 random segments:
    3.7e-15 for ``D < 3``, 1.4e-12 at 8, 7e-10 at 17), plus the rounding of
    ``q (1 + x^2)``, which is the conditioning of the rounded ``h``.
    """
    if q > _OT_QMAX:
        return 0.0, _OT_TRUNC
    if q > 0.0:
        reach2 = _OT_QMAX / q - 1.0
        if hi * hi > reach2:
            hi = math.copysign(math.sqrt(reach2), hi)
        if lo * lo > reach2:
            lo = math.copysign(math.sqrt(reach2), lo)
    if not hi > lo:
        return 0.0, _OT_TRUNC
    mid = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    acc = 0.0
    for i in range(_OT_N):
        x = mid + half * _OT_X[i]
        y = 1.0 + x * x
        acc += _OT_W[i] * math.exp(-q * y) / y
    value = half * acc * _OT_INV_2PI
    big = max(abs(lo), abs(hi))
    small = min(abs(lo), abs(hi))
    fall = q * (big - small) * (big + small)
    rel = min(1e-15 * math.exp(1.2 * fall), 1e-8) + 4.0 * _OT_EPS * (2.0 + q * (1.0 + big * big))
    return value, min(rel * value + _OT_TRUNC, OWENS_T_ABS_ERR)


@kernel
def _ot_upper_tail_err(x):
    """``Q(x)`` for ``x >= 0`` and a bound on its error (``erfc``'s, and the rounding of ``x``)."""
    value = _ot_upper_tail(x)
    return value, (8.0 + 2.0 * x * x) * _OT_EPS * value


@kernel
def _owens_t_with_tail(h, a, qh, eh):
    """``T(h, a)`` and its error bound for ``h >= 0``, given ``Q(h)`` and its error (used for ``|a| > 1``)."""
    q = 0.5 * h * h
    if abs(a) <= 1.0:
        if a >= 0.0:
            return _ot_segment(q, 0.0, a)
        value, err = _ot_segment(q, a, 0.0)
        return -value, err
    sign = 1.0 if a > 0.0 else -1.0
    if math.isinf(a):
        return sign * 0.5 * qh, min(0.5 * eh, OWENS_T_ABS_ERR)
    b = abs(a)
    ah = b * h
    qah, eah = _ot_upper_tail_err(ah)
    t, et = _ot_segment(0.5 * ah * ah, 0.0, 1.0 / b)
    value = 0.5 * qh + 0.5 * qah - qh * qah - t
    err = 0.5 * eh + 0.5 * eah + eh * qah + qh * eah + et + 4.0 * _OT_EPS * (0.5 * qh + 0.5 * qah)
    return sign * value, min(err, OWENS_T_ABS_ERR)


@kernel
def owens_t_err(h, a):
    """Owen's ``T(h, a)`` and a bound on its error (absolute, and relative where ``T`` is not tiny)."""
    h = abs(h)
    qh, eh = 0.0, 0.0
    if abs(a) > 1.0:
        qh, eh = _ot_upper_tail_err(h)
    return _owens_t_with_tail(h, a, qh, eh)


@kernel
def owens_t(h, a):
    """Owen's ``T(h, a)`` for real ``h`` and ``a`` (``a`` may be infinite), absolute error <= ``OWENS_T_ABS_ERR``."""
    return owens_t_err(h, a)[0]


@kernel
def edge_shadow(habs, lo, hi):
    """``T(h, hi) - T(h, lo)`` for ``lo <= hi`` (the Gaussian shadow of a segment of a line), and its error bound.

    For a line at distance ``habs`` from the origin, with coordinate ``s``
    along it (0 at the foot of the perpendicular), the rays from the origin
    through ``lo habs <= s <= hi habs`` carry
    ``(1/2pi) int exp(-r^2/2) dtheta`` of the plane beyond the line, where
    ``r`` is the distance to the line along the ray.  The error is at most
    ``2 OWENS_T_ABS_ERR``, and the returned bound is usually far smaller.
    """
    if not hi > lo:
        return 0.0, 0.0
    q = 0.5 * habs * habs
    if q > _OT_QMAX:
        # The whole line's shadow, Q(h) <= exp(-h^2/2)/2 < 6e-19, bounds it.
        return 0.0, 0.5 * math.exp(-q)
    if lo >= -1.0 and hi <= 1.0 and (lo >= 0.0 or hi <= 0.0):
        return _ot_segment(q, lo, hi)  # one rule: the segment has one sign
    qh, eh = 0.0, 0.0
    if abs(lo) > 1.0 or abs(hi) > 1.0:
        qh, eh = _ot_upper_tail_err(habs)
    t_hi, e_hi = _owens_t_with_tail(habs, hi, qh, eh)
    t_lo, e_lo = _owens_t_with_tail(habs, lo, qh, eh)
    value = t_hi - t_lo
    return value, e_hi + e_lo + _OT_EPS * abs(value)
