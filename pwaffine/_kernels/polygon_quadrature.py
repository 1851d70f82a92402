"""Standard bivariate normal mass of a convex polygon: the angular quadrature.

Method
------
For ``U ~ N(0, I_2)`` in polar coordinates the radial integral is elementary,
``int_a^b r exp(-r^2/2) dr = exp(-a^2/2) - exp(-b^2/2)``, so

    P(U in Q) = (1/2pi) int [exp(-r_in(theta)^2/2) - exp(-r_out(theta)^2/2)] dtheta

where the ray of direction ``theta`` meets ``Q`` in ``[r_in, r_out]``.  Every
piece below is positive, so summing them cancels nothing (the classical fan of
signed triangles from the origin, Owen's T function, cancels to nothing beyond
about eight standard deviations):

* origin inside ``Q``: one fan triangle per edge, ``1 - exp(-r_out^2/2)`` (kind
  ``_PG_T``), plus ``angle/2pi`` for the directions of the recession cone;
* origin outside: a ray enters through a *near* edge (``h < 0``) and leaves
  through a *far* edge (``h > 0``) or never.  The angular range is swept once,
  split at the vertices of both chains, and each piece is integrated along its
  near edge: ``exp(-r_in^2/2)`` (kind ``_PG_E``, the edge's Gaussian "shadow")
  where rays never leave, ``exp(-r_in^2/2) (1 - exp(-Delta))`` with
  ``Delta = (r_out^2 - r_in^2)/2`` (kind ``_PG_M``) where ``Delta < 1``, and
  the difference of the near and far shadows where ``Delta >= 1`` (at most a
  factor 1.6 lost to cancellation; this avoids the essential singularity of
  ``exp(-Delta)`` where rays become parallel to the far edge, and the jump of
  ``1 - exp(-Delta)`` next to tangent vertices far in the tail).  Everything
  is scaled by ``exp(d^2/2)``, ``d`` the distance to ``Q``, so nothing
  underflows: the log stays accurate hundreds of standard deviations out.

Along a line at distance ``|h|`` with coordinate ``s`` (``s = 0`` at the foot
of the perpendicular), ``dtheta = |h| ds / (h^2 + s^2)`` and ``r^2 = h^2 + s^2``:
a shadow integrand is Gaussian in ``s`` (unit width, or exponential decay at
rate ``|s|`` away from the foot) times a Cauchy factor with poles at
``+-i|h|``; in the merged integrand ``Delta ~ r^2`` cancels those poles, but it
has one where ``n_far . u(s) = 0``.  Quadrature is Gauss-Legendre (16 points;
8 on panels that are easy a priori) on panels sized a priori from measured
error tables: the log-Gaussian falls by at most ``_PG_DROP1`` (first panel of
a run) across a panel, which is at most ``_PG_LMAX`` long and no longer than
its distance to the poles.  For shadows with ``|h| < 1`` the part ``|s| < 1``
is mapped by ``s = |h| sinh(y)``, which removes the poles.  Each panel is also
checked from the decay of its Legendre coefficients and bisected if the check
fails.  Tails beyond ``exp(-cut)`` of the scale are dropped with a rigorous
bound; if the dropped mass is not negligible against the result, ``cut`` is
raised and the sum recomputed.

Measured against mpmath: relative error below ~5e-14 for well-conditioned
polygons near the mean in the tests, up to ~1e-13 on rare wedges and triangles
within a standard deviation of it (where :func:`.polygon_mass.log_std_polygon_mass`
uses the fan of Owen's T values instead, exact to ~1e-16 there); ``|log P|`` error of a few ``eps d^2`` far out (the
conditioning of rounded inputs); for thin polygons, within the effect of
one-ulp changes of the offsets.

This module holds the integrands and the panel quadrature; :mod:`.polygon_mass`
the geometry of the sweep and the public kernels.
"""

import math

import numpy as np

from ._jit import kernel

_PG_N = 16
_PG_X, _PG_W = np.polynomial.legendre.leggauss(_PG_N)
# Nodes and weights on [0, 1].
_PG_U = 0.5 * (_PG_X + 1.0)
_PG_V = 0.5 * _PG_W
# Rows k = N-4 .. N-1 of the discrete Legendre transform: c_k = sum_i TAIL[k, i] f(x_i)
# are the top Legendre coefficients of the interpolant through the nodes.
_PG_TAIL = np.array(
    [(k + 0.5) * _PG_W * np.polynomial.legendre.Legendre.basis(k)(_PG_X) for k in range(_PG_N - 4, _PG_N)]
)
# The same for 8 points, used on panels that are easy a priori (see _pg_is_easy).
_PG_X8, _PG_W8 = np.polynomial.legendre.leggauss(8)
_PG_U8 = 0.5 * (_PG_X8 + 1.0)
_PG_V8 = 0.5 * _PG_W8
_PG_TAIL8 = np.array(
    [(k + 0.5) * _PG_W8 * np.polynomial.legendre.Legendre.basis(k)(_PG_X8) for k in range(4, 8)]
)

_PG_INV_2PI = 1.0 / (2.0 * math.pi)
_PG_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)

# Integrand kinds (see module docstring).
_PG_E = 0
_PG_M = 1
_PG_T = 2

# Panel design for 16 nodes (measured against mpmath: relative error <= 2e-15
# on exp(-s^2/2) for panels at most 5 long whose log-Gaussian falls by at most
# 20).  The first panel of a run may fall by _PG_DROP1; later ones carry less
# than exp(-20) of the run and may fall by _PG_DROP2.
_PG_DROP1 = 20.0
_PG_DROP2 = 45.0
_PG_LMAX = 5.0
# Shadows with |h| < _PG_HY: the part |s| < _PG_S1 in y = asinh(s/|h|), in
# panels of at most _PG_YSTEP (measured: <= 2e-15 relative).
_PG_HY = 1.0
_PG_S1 = 1.0
_PG_YSTEP = 3.0
# Fan triangles with |h| < _PG_HY: the part |s| < _PG_T1 directly (its
# integrand is entire), the rest as angle minus shadow.
_PG_T1 = 1.0
# Merged pieces: the direct integrand only where Delta < _PG_DELTA_SPLIT, on
# panels at most _PG_POLE_FRAC of their distance to the far-edge pole.
_PG_POLE_FRAC = 0.5
_PG_DELTA_SPLIT = 1.0
# Panel check: the estimated error must be below this fraction of the panel
# (or of its run so far); failing panels are bisected.  At 1e-10 the check let
# through panels whose a priori size was too large: on 25,925 polygons (random
# ones and the 2-D benchmark's terms) the result differed from the one with the
# check at 1e-14 by up to 5.5e-12 relative (6.2e-13 on a triangle near the
# mean, tests/test_polygon_mass.py::test_triangle_that_the_panel_check_must_catch);
# at 1e-12 by at most 1.1e-13, for 8-28% more time (benchmarks/RESULTS.md).
_PG_CHECK = 1e-12
# Top coefficients below this (relative to max |f|) are rounding noise.
_PG_NOISE = 1e-13
_PG_MAX_PANELS = 256
# Lines closer than this to the origin are treated as passing through it
# (moving them by 1e-150 changes the mass by ~1e-150 relative to the polygon's
# size); beyond it h^2 cannot underflow.
_PG_TINY_H = 1e-150
# Initial tail cut (log scale) and the allowed dropped fraction of the result.
_PG_CUT = 45.0
_PG_DROP_FRAC = 2e-16
# The loose tier (``cut`` at most this): tails beyond exp(-cut) dropped, every
# panel a single 8-point Gauss-Legendre rule without the a posteriori check.
# Relative error <= 1e-4 (measured, tests/test_polygon_mass.py); for terms
# whose contribution the density's error budget lets be that inexact.
_PG_LOOSE_CUT = 25.0


# --------------------------------------------------------------------------
# Integrand and panels
# --------------------------------------------------------------------------
@kernel
def _pg_integrand(x, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a):
    """Scaled integrand at ``x`` for one piece of the angular sweep.

    s-mode: ``s = s0 + x`` along a line at distance ``ha``; the Gaussian exponent
    ``r^2 - d^2 = c0 + x (x + 2 s0)`` is formed from the offset ``x`` so it stays
    accurate far from the origin.  y-mode: ``s = ha sinh(x)`` and
    ``r^2 - d^2 = ha^2 cosh(x)^2 + c0``.  For kind ``_PG_M`` the far edge (offset
    ``hj``) has slack ``sl_a + sl_b s`` at the entry point and ``n_far . u = w_a - sl_b s``.
    """
    if ymode:
        ey = math.exp(x)
        iy = 1.0 / ey
        s = 0.5 * ha * (ey - iy)
        ch = 0.5 * (ey + iy)
        r2 = (ha * ch) * (ha * ch)
        rm = r2 + c0
        jac = _PG_INV_2PI / ch
    else:
        s = s0 + x
        r2 = ha * ha + s * s
        if kind == _PG_T:
            q = 0.5 * r2
            g = 1.0 if q < 1e-300 else -math.expm1(-q) / q
            return 0.5 * ha * _PG_INV_2PI * g
        rm = c0 + x * (x + 2.0 * s0)
        jac = ha * _PG_INV_2PI / r2
    if kind == _PG_T:
        return jac * -math.expm1(-0.5 * r2)
    val = jac * math.exp(-0.5 * rm)
    if kind == _PG_M:
        # In s-mode the slack is formed from the offset x: its constant part
        # then carries the same rounding at every node, so the integrand stays
        # smooth even where the slack nearly cancels (next to tangent vertices).
        # Slack of the far constraint and w = n_far . u (w + slack = hj), both
        # formed directly: either may be tiny.
        if ymode:
            slack = sl_a + sl_b * s
            w = w_a - sl_b * s
        else:
            slack = (sl_a + sl_b * s0) + sl_b * x
            w = (w_a - sl_b * s0) - sl_b * x
        if slack <= 0.0:
            return 0.0
        if w > 0.0:
            val *= -math.expm1(-r2 * slack * (hj + w) / (2.0 * w * w))
    return val


@kernel
def _pg_panel(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a):
    """Gauss-Legendre on ``[xa, xb]`` (8 points if ``small``, else 16).

    Returns (integral, mean, estimated relative error).  The estimate
    extrapolates the decay of the top four Legendre coefficients of the
    interpolant through the nodes to the degree where the rule fails.
    """
    if small:
        us, vs, tail = _PG_U8, _PG_V8, _PG_TAIL8
    else:
        us, vs, tail = _PG_U, _PG_V, _PG_TAIL
    n = us.shape[0]
    width = xb - xa
    acc = 0.0
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    fmax = 0.0
    for i in range(n):
        f = _pg_integrand(xa + width * us[i], ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        acc += vs[i] * f
        t0 += tail[0, i] * f
        t1 += tail[1, i] * f
        t2 += tail[2, i] * f
        t3 += tail[3, i] * f
        fmax = max(fmax, abs(f))
    if not acc > 0.0:
        return 0.0, 0.0, 0.0
    top = max(abs(t2), abs(t3))
    low = max(abs(t0), abs(t1))
    if top <= _PG_NOISE * fmax:
        # Converged to rounding: c_k carries about (2k + 1) eps max|f| of noise.
        rel = 0.0
    elif top < low:
        # Coefficients decaying like rho^-k: the Gauss error is about c_{2n}.
        ratio = top / low
        rel = top * ratio ** (0.5 * (n + 1)) / acc
    else:
        rel = math.inf
    return width * acc, acc, rel


@kernel
def _pg_is_easy(a, b, kind, ha, pole):
    """Whether 8 points suffice for a shadow integrand on the s-panel ``[a, b]``.

    Measured (<= 5e-16 relative): at most 1 long, the log-Gaussian falls by at
    most 3 across it, and the poles ``+-i ha`` are at least 3 lengths away.
    Merged integrands always get 16 points.
    """
    length = b - a
    if kind != _PG_E or length > 1.0 or abs(b * b - a * a) > 6.0:
        return False
    gap = max(0.0, a, -b)  # distance from s = 0 to the panel
    return ha * ha + gap * gap >= 9.0 * length * length


@kernel
def _pg_adaptive(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, floor):
    """Integral over ``[xa, xb]``, bisecting panels that fail the error check.

    The check is a safety net: panels are sized a priori (see ``_PG_DROP1``)
    so that the rule is accurate to about 1e-15, and the extrapolated error
    estimate of :func:`_pg_panel` is pessimistic by several orders for these
    entire integrands.  A panel passes when its estimate is below ``_PG_CHECK``
    times the larger of its value and ``floor`` (the run's integral so far).
    """
    value, mean, rel = _pg_panel(xa, xb, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
    allowed = _PG_CHECK * max(value, floor)
    if rel * value <= allowed:
        return value
    if small:
        value, mean, rel = _pg_panel(xa, xb, False, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        allowed = _PG_CHECK * max(value, floor)
        if rel * value <= allowed:
            return value
    # Error allowed per unit length for the sub-panels.
    density = allowed / (xb - xa)
    stack = np.empty(2 * _PG_MAX_PANELS)
    stack[0] = xa
    stack[1] = 0.5 * (xa + xb)
    stack[2] = 0.5 * (xa + xb)
    stack[3] = xb
    top = 2
    total = 0.0
    n_panels = 0
    while top > 0:
        top -= 1
        a = stack[2 * top]
        b = stack[2 * top + 1]
        v, m, r = _pg_panel(a, b, False, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a)
        n_panels += 1
        full = top + 2 > _PG_MAX_PANELS or n_panels > _PG_MAX_PANELS
        if r * v <= density * (b - a) or r <= _PG_CHECK or full:
            total += v
        else:
            mid = 0.5 * (a + b)
            stack[2 * top] = a
            stack[2 * top + 1] = mid
            stack[2 * top + 2] = mid
            stack[2 * top + 3] = b
            top += 2
    return total


@kernel
def _pg_s_step(p, kind, ha, s_pole, drop):
    """Length of the next s-mode panel from ``p`` outwards (away from ``s = 0``).

    The log of ``exp(-s^2/2)`` may fall by at most ``drop`` across it, it is at
    most ``_PG_LMAX`` long (curvature), and at most as long as its distance
    to the poles ``+-i ha`` of the Cauchy factor (cancelled in ``_PG_M`` by
    ``1 - exp(-Delta)``, ``Delta ~ r^2``, away from the origin) and to ``s_pole``.
    """
    ap = abs(p)
    step = min(_PG_LMAX, 2.0 * drop / (ap + math.sqrt(ap * ap + 2.0 * drop)))
    if kind != _PG_M:
        step = min(step, max(ha, ap))
    return min(step, max(_PG_POLE_FRAC * abs(p - s_pole), 1e-3 * step))


@kernel
def _pg_y_step(p, ha, y_pole, drop):
    """Length of the next y-mode panel from ``p`` outwards (away from ``y = 0``).

    ``r^2 = ha^2 cosh(y)^2``: the log-Gaussian may fall by at most ``drop``,
    the panel is at most ``_PG_YSTEP`` long (the weight ``sech(y)``) and no
    longer than its distance to ``y_pole``.
    """
    ap = min(abs(p), 300.0)
    ch = math.cosh(ap)
    step = min(_PG_YSTEP, math.acosh(math.sqrt(ch * ch + 2.0 * drop / (ha * ha))) - ap)
    return min(step, max(_PG_POLE_FRAC * abs(p - y_pole), 1e-3 * step))


@kernel
def _pg_run(p, end, direction, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, value, n_run):
    """Integrate from ``p`` (the end nearer the Gaussian's centre) outwards to ``end``.

    ``n_run`` panels of this run are already done and summed in ``value``.  The
    first panel may drop by ``_PG_DROP1``; later ones carry less than
    ``exp(-_PG_DROP1)`` of the run and may drop by ``_PG_DROP2``.  Parts beyond
    ``exp(-cut)`` of the scale are dropped with a bound.  Returns (integral,
    bound on the dropped part).
    """
    clipped = 0.0
    while (end - p) * direction > 0.0:
        ap = abs(p)
        if ymode:
            ch = math.cosh(min(ap, 300.0))
            rm = (ha * ch) * (ha * ch) + c0
            log_bound = -ap - 0.5 * rm - math.log(math.pi)
            if log_bound < -cut:
                clipped += math.exp(log_bound)
                break
        else:
            rm = c0 + (p - s0) * (p + s0)
            if 0.5 * rm > cut:
                # int_p^end exp(-(s^2 - p^2)/2) ds <= min(|end - p|, 1/|p|, sqrt(pi/2))
                tail = min(abs(end - p), _PG_SQRT_HALF_PI)
                if ap > 0.0:
                    tail = min(tail, 1.0 / ap)
                clipped += ha * _PG_INV_2PI / (ha * ha + p * p) * math.exp(-0.5 * rm) * tail
                break
        drop = _PG_DROP1 if n_run == 0 else _PG_DROP2
        if ymode:
            step = _pg_y_step(p, ha, pole, drop)
        else:
            step = _pg_s_step(p, kind, ha, pole, drop)
        q = p + direction * step
        if (end - q) * direction < 0.0:
            q = end
        if q == p:
            break
        lo = min(p, q)
        hi = max(p, q)
        loose = cut <= _PG_LOOSE_CUT
        small = loose
        if not ymode:
            small = loose or _pg_is_easy(lo, hi, kind, ha, pole)
            lo -= s0
            hi -= s0
        floor = math.inf if loose else value  # loose: no a posteriori check
        value += _pg_adaptive(lo, hi, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, floor)
        p = q
        n_run += 1
    return value, clipped


@kernel
def _pg_range(a, b, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut):
    """Integral over ``a <= x <= b`` (s or y; infinite ends allowed).

    Starts at the point nearest the Gaussian's centre and runs outwards both
    ways; when the whole range fits in the first panel of both runs and is at
    most ``_PG_LMAX`` (s) or ``_PG_YSTEP`` (y) long, it is a single panel.
    """
    if not b > a:
        return 0.0, 0.0
    c = min(max(0.0, a), b)
    if ymode:
        reach_hi = _pg_y_step(c, ha, pole, _PG_DROP1)
        reach_lo = _pg_y_step(-c, ha, -pole, _PG_DROP1)
        width = _PG_YSTEP
    else:
        reach_hi = _pg_s_step(c, kind, ha, pole, _PG_DROP1)
        reach_lo = _pg_s_step(c, kind, ha, pole, _PG_DROP1)
        width = _PG_LMAX
    if b - c <= reach_hi and c - a <= reach_lo and b - a <= width:
        off = 0.0 if ymode else s0
        rm = c0 + (c - s0) * (c + s0) if not ymode else (ha * math.cosh(c)) ** 2 + c0
        if 0.5 * rm > cut:
            return 0.0, 0.5 * math.exp(-0.5 * rm)
        loose = cut <= _PG_LOOSE_CUT
        small = loose or (False if ymode else _pg_is_easy(a, b, kind, ha, pole))
        floor = math.inf if loose else 0.0
        return _pg_adaptive(a - off, b - off, small, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a,
                            floor), 0.0
    v1, c1 = _pg_run(c, b, 1.0, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, 0.0, 0)
    v2, c2 = _pg_run(c, a, -1.0, ymode, kind, ha, s0, c0, sl_a, sl_b, hj, w_a, pole, cut, 0.0, 0)
    return v1 + v2, c1 + c2
