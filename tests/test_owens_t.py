"""Owen's T kernel against mpmath (40 digits) and SciPy, and its stated absolute error."""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from pwaffine._kernels.owens_t import OWENS_T_ABS_ERR, edge_shadow, owens_t, owens_t_err


def mp_owens_t(h, a):
    """``T(h, a)`` by mpmath quadrature of its definition (``a`` may be infinite)."""
    with mp.workdps(40):
        h = mp.mpf(float(h))
        f = lambda x: mp.exp(-h * h * (1 + x * x) / 2) / (1 + x * x)  # noqa: E731
        if math.isinf(a):
            value = mp.quad(f, [0, 1, mp.inf])
            return float(math.copysign(1, a) * value / (2 * mp.pi))
        a = mp.mpf(float(a))
        points = [0, a] if abs(a) <= 1 else [0, mp.sign(a), a]
        return float(mp.quad(f, points) / (2 * mp.pi))


H = [0.0, 1e-9, 0.01, 0.3, 1.0, 1.6, 2.5, 4.0, 6.0, 8.0, 9.0, 9.2, 12.0, 40.0]
A = [0.0, 1e-8, 0.05, 0.5, 0.99, 1.0, 1.01, 2.0, 10.0, 1e3, 1e9, math.inf]


@pytest.mark.parametrize("h", H)
def test_grid_against_mpmath(h):
    for a in A:
        want = mp_owens_t(h, a)
        for s in (1.0, -1.0):  # T is even in h and odd in a
            assert abs(owens_t(s * h, s * a) - s * want) <= OWENS_T_ABS_ERR, (h, a)


@settings(max_examples=300)
@given(st.one_of(st.floats(0.0, 10.0), st.floats(-30.0, 30.0)),
       st.one_of(st.floats(-1.0, 1.0), st.floats(-1e6, 1e6), st.sampled_from([math.inf, -math.inf])))
def test_random_against_mpmath(h, a):
    assert abs(owens_t(h, a) - mp_owens_t(h, a)) <= OWENS_T_ABS_ERR


def test_many_against_scipy():
    """SciPy's ``owens_t`` (Patefield and Tandy, via Boost) as a second, independent reference."""
    rng = np.random.default_rng(0)
    h = np.concatenate([rng.uniform(0, 10, 4000), 10 ** rng.uniform(-8, 1.3, 2000)])
    a = np.concatenate([rng.uniform(-1, 1, 3000), rng.normal(0, 5, 2000),
                        10 ** rng.uniform(-8, 8, 1000)])
    got = np.array([owens_t(x, y) for x, y in zip(h, a)])
    assert np.max(np.abs(got - special.owens_t(h, a))) <= OWENS_T_ABS_ERR


def test_closed_forms():
    # T(h, 1) = Phi(h) (1 - Phi(h)) / 2, T(0, a) = atan(a) / 2pi, T(h, inf) = Q(|h|) / 2.
    for h in (0.0, 0.5, 2.0, 7.0):
        q = 0.5 * math.erfc(h / math.sqrt(2))
        assert owens_t(h, 1.0) == pytest.approx(0.5 * q * (1 - q), abs=OWENS_T_ABS_ERR)
        assert owens_t(h, math.inf) == pytest.approx(0.5 * q, abs=OWENS_T_ABS_ERR)
    for a in (0.1, 1.0, 3.0, 1e5):
        assert owens_t(0.0, a) == pytest.approx(math.atan(a) / (2 * math.pi), abs=OWENS_T_ABS_ERR)


def mp_shadow(h, lo, hi):
    """``T(h, hi) - T(h, lo)`` as one 50-digit integral over ``[lo, hi]``.

    Not a difference of two T values: far from the foot the shadow can be far
    smaller than either.  The segment is cut at 0, +-1 and at growing
    distances from each end, on the scale ``1 / (q |end|)`` over which the
    integrand falls there.  mpmath's quadrature stops at an absolute error,
    so the integrand is scaled to 1 at its largest (the point of
    ``[lo, hi]`` nearest 0) and each piece to ``[0, 1]``.
    """
    with mp.workdps(50):
        hh = mp.mpf(float(h))
        q = hh * hh / 2
        a, b = mp.mpf(float(lo)), mp.mpf(float(hi))
        peak = 0 if a < 0 < b else min(abs(a), abs(b))
        points = {a, b}
        for c in (-1, 0, 1):
            if a < c < b:
                points.add(mp.mpf(c))
        for end, sign in ((a, 1), (b, -1)):
            scale = 1 / (q * abs(end) + 1)
            for k in (1, 4, 16, 64, 256, 1024):
                p = end + sign * k * scale
                if a < p < b:
                    points.add(p)
        points = sorted(points)
        total = 0
        for x0, x1 in zip(points[:-1], points[1:]):
            width = x1 - x0
            total += width * mp.quad(
                lambda t: mp.exp(-q * ((x0 + width * t) ** 2 - peak * peak)) / (1 + (x0 + width * t) ** 2),
                [0, 1])
        return total * mp.exp(-q * (1 + peak * peak)) / (2 * mp.pi)


@settings(max_examples=200)
@given(st.floats(1e-6, 12.0), st.floats(-50.0, 50.0), st.floats(0.0, 50.0))
def test_edge_shadow_is_a_difference_of_t(h, lo, width):
    hi = lo + width
    want = float(mp_shadow(h, lo, hi))
    value, err = edge_shadow(h, lo, hi, -math.inf)
    assert abs(value - want) <= min(err, 2 * OWENS_T_ABS_ERR)
    assert edge_shadow(h, hi, lo, -math.inf) == (0.0, 0.0) or width == 0.0


@settings(max_examples=150)
@given(st.floats(1e-3, 14.0), st.floats(-20.0, 20.0), st.floats(0.0, 20.0), st.floats(-80.0, -5.0))
def test_edge_shadow_with_a_floor(h, lo, width, log_floor):
    """Integrand values below ``exp(log_floor)`` may be dropped; the bound covers them."""
    hi = lo + width
    value, err = edge_shadow(h, lo, hi, log_floor)
    assert abs(value - float(mp_shadow(h, lo, hi))) <= err


@pytest.mark.parametrize("h, lo, hi, log_floor", [
    (math.sqrt(10.0), 0.0, 1.0, -8.0),  # all of a segment below the floor
    (1.2, -0.5, 3.2, -7.0),  # Owen's identity, its segment below the floor
    (3.0, 1.5, 3.0, -12.0),  # Gauss-Laguerre tails: the whole segment below the floor
    (3.0, -3.0, -1.5, -20.0),  # Gauss-Laguerre tails: the far one below the floor
    (1.0, 4.0, 1e155, -math.inf),  # a fall that overflows
    (0.05, 30.0, 1e200, -math.inf),
])
def test_edge_shadow_bound_covers_what_it_drops(h, lo, hi, log_floor):
    # Found in review: the part below the floor was capped at OWENS_T_ABS_ERR with
    # the rest of the bound, and an overflowing fall gave a NaN bound.
    value, err = edge_shadow(h, lo, hi, log_floor)
    assert abs(value - float(mp_shadow(h, lo, hi))) <= err < math.inf


SEGMENTS = [(0.0, 0.4), (-0.3, 0.8), (0.2, 1.0), (0.5, 3.0), (1.5, 2.5), (2.0, 40.0), (0.95, 1.05)]


@pytest.mark.parametrize("h, lo, hi", [(h, lo, hi) for h in (3.0, 9.5, 15.0) for lo, hi in SEGMENTS]
                         + [(30.0, lo, hi) for lo, hi in SEGMENTS[:3]])
def test_edge_shadow_is_relatively_accurate_far_out(h, lo, hi):
    # Without a floor nothing is dropped in absolute terms: at 30 standard deviations
    # (shadows near 1e-198) the bound stays relative, and it holds.
    want = float(mp_shadow(h, lo, hi))
    value, err = edge_shadow(h, lo, hi, -math.inf)
    assert want > 0.0
    assert abs(value - want) <= err <= 1e-11 * want


def _mp_t(h, a):
    """``T(h, a)`` exactly as a function of the float arguments (no cancellation far out)."""
    if math.isinf(a):
        with mp.workdps(50):
            hh = mp.mpf(float(h))
            f = lambda x: mp.exp(-hh * hh * (1 + x * x) / 2) / (1 + x * x)  # noqa: E731
            return math.copysign(1, a) * mp.quad(f, [0, 1, mp.inf]) / (2 * mp.pi)
    return mp_shadow(h, 0.0, a) if a >= 0 else -mp_shadow(h, a, 0.0)


@settings(max_examples=300)
@given(st.one_of(st.floats(0.0, 3.0), st.floats(0.0, 12.0)),
       st.one_of(st.floats(-1.0, 1.0), st.floats(-30.0, 30.0), st.sampled_from([math.inf, -math.inf])))
def test_error_bound_holds(h, a):
    """The error bound of ``owens_t_err``, relative where T is not tiny, holds against 50 digits."""
    value, err = owens_t_err(h, a)
    assert abs(value - float(_mp_t(h, a))) <= err
    assert err <= OWENS_T_ABS_ERR


def test_error_bound_is_relative_in_the_tail():
    # Far out the bound follows T itself, not OWENS_T_ABS_ERR: relative, at most the
    # rule's envelope (1e-8 where the integrand falls by 20 nats across the segment,
    # 1e-13 where it falls by 3), down to the 2e-19 of the integrand dropped below exp(-41.4).
    for h, a, rel in [(3.0, 0.7, 1e-13), (5.0, 0.5, 1e-12), (7.0, 0.9, 1e-8), (8.5, 3.0, 1e-13),
                      (6.0, math.inf, 1e-13)]:
        value, err = owens_t_err(h, a)
        assert abs(value - float(_mp_t(h, a))) <= err <= 1.01 * (rel * abs(value) + 2e-19)


def test_gl_segment_is_the_rule_it_states():
    """``_gl_segment`` (vector instructions, :func:`~pwaffine._kernels.simd.gauss_cauchy_sum`) equals its rule evaluated by numpy.

    Guards the vector exp's range reduction: regrouped, with exponents down
    to -700, it would cost 1e-13 relative.
    """
    from pwaffine._kernels.owens_t import _OT_W, _OT_X, _gl_segment

    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(3000):
        q = rng.uniform(0.0, 350.0)
        lo = rng.uniform(0.0, 1.0)
        hi = lo + rng.uniform(1e-6, 0.4)
        value, err = _gl_segment(q, lo, hi)
        x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * _OT_X
        y = 1.0 + x * x
        want = 0.5 * (hi - lo) * np.sum(_OT_W * np.exp(-q * y) / y) / (2.0 * math.pi)
        if want > 1e-300:
            worst = max(worst, abs(value / want - 1.0))
            assert err >= 4e-15 * value
    assert worst <= 2e-15


@pytest.mark.parametrize("fall", [2.0, 8.0, 12.0, 13.0, 14.0, 15.0, 18.0, 25.0])
@pytest.mark.parametrize("a, length", [(0.0, 1.0), (0.0, 0.9), (0.4, 0.6), (3.0, 1.0), (0.05, 0.95)])
def test_gl_rule_within_its_envelope(fall, a, length):
    """The 16-point rule's own error (nodes summed in 40 digits) is within ``_gl_rel_err``.

    The worst shapes: a segment from the foot as long as its distance from
    the poles (``a = 0``, ``length = 1``); a 15-nat fall there has 8.9e-15.
    """
    from pwaffine._kernels.owens_t import _OT_W, _OT_X, _gl_rel_err

    with mp.workdps(40):
        b = a + length * math.sqrt(1.0 + a * a)
        q = mp.mpf(fall) / ((mp.mpf(b) - a) * (mp.mpf(b) + a))
        mid, half = (mp.mpf(a) + b) / 2, (mp.mpf(b) - a) / 2

        def f(x):  # scaled by the value at a, so that mpmath's absolute tolerance is relative
            return mp.exp(-q * (x * x - a * a)) / (1 + x * x)

        rule = half * mp.fsum(mp.mpf(w) * f(mid + half * mp.mpf(x)) for x, w in zip(_OT_X, _OT_W))
        exact = mp.quad(f, mp.linspace(a, b, 17))
        assert float(abs(rule / exact - 1)) <= _gl_rel_err(fall)


@pytest.mark.parametrize("n, bound_name, falls", [(12, "_GL_REL_ERR_12", [2.0, 8.0, 13.0]),
                                                  (8, "_GL_REL_ERR_8", [2.0, 8.0, 13.0, 15.5])])
@pytest.mark.parametrize("a, length", [(0.0, 1.0), (0.0, 0.9), (0.4, 0.6), (3.0, 1.0), (0.05, 0.95)])
def test_far_band_rules_within_their_envelopes(n, bound_name, falls, a, length):
    """The 12- and 8-point rules of a segment's far bands (nodes summed in 40 digits) are within their bounds."""
    import pwaffine._kernels.owens_t as ot

    x_nodes, w_nodes = np.polynomial.legendre.leggauss(n)
    bound = getattr(ot, bound_name)
    for fall in falls:
        with mp.workdps(40):
            b = a + length * math.sqrt(1.0 + a * a)
            q = mp.mpf(fall) / ((mp.mpf(b) - a) * (mp.mpf(b) + a))
            mid, half = (mp.mpf(a) + b) / 2, (mp.mpf(b) - a) / 2

            def f(x):
                return mp.exp(-q * (x * x - a * a)) / (1 + x * x)

            rule = half * mp.fsum(mp.mpf(w) * f(mid + half * mp.mpf(x)) for x, w in zip(x_nodes, w_nodes))
            exact = mp.quad(f, mp.linspace(a, b, 17))
            assert float(abs(rule / exact - 1)) <= bound


def test_gl_segment_bands_are_their_rules():
    """``_gl_segment`` with ``band`` 1 and 2 evaluates the 12- and 8-point rules (numpy), with their bounds."""
    from pwaffine._kernels.owens_t import _GL_REL_ERR_8, _GL_REL_ERR_12, _gl_segment

    rng = np.random.default_rng(4)
    for band, n, rel in [(1, 12, _GL_REL_ERR_12), (2, 8, _GL_REL_ERR_8)]:
        x_nodes, w_nodes = np.polynomial.legendre.leggauss(n)
        for _ in range(500):
            q = rng.uniform(0.0, 50.0)
            lo = rng.uniform(0.0, 3.0)
            hi = lo + rng.uniform(1e-6, 1.0)
            value, err = _gl_segment(q, lo, hi, band)
            x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x_nodes
            y = 1.0 + x * x
            want = 0.5 * (hi - lo) * np.sum(w_nodes * np.exp(-q * y) / y) / (2.0 * math.pi)
            if want > 1e-300:
                assert abs(value / want - 1.0) <= 2e-15
                assert err >= rel * value
