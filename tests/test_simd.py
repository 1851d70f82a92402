"""The vectorizable functions of :mod:`pwaffine._kernels.simd` against numpy and mpmath."""

import math

import mpmath
import numba as nb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pwaffine._kernels.simd import exp_lanes, gauss_cauchy_sum, inverse_sqrt_sum

_ULP_NORMAL = 2.0 ** -52  # relative spacing of doubles near 1
_TINY = np.finfo(float).tiny


@nb.njit  # not cached: exp_lanes is compiled into it, and numba's cache would not see simd.py change
def _exp_many(x, out):
    for i in range(x.size):
        out[i] = exp_lanes(x[i])


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (-50.0, 0.0), (-708.0, -600.0), (0.0, 709.0)])
def test_exp_lanes_within_an_ulp(low, high):
    """Normal results within 1.1 relative ulp of a 50-digit exp (the rules' vector code, on one lane)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(low, high, 4000)
    out = np.empty_like(x)
    _exp_many(x, out)
    with mpmath.workdps(50):
        want = np.array([float(mpmath.exp(mpmath.mpf(v))) for v in x])
    ok = want >= _TINY
    rel = np.abs(out[ok] - want[ok]) / want[ok]
    assert rel.max() <= 1.1 * _ULP_NORMAL


def test_exp_lanes_subnormal_and_limits():
    """Subnormal results to within two of their spacing; 0 at and below -746 (and -inf); exactly 1 at 0."""
    x = np.concatenate([np.linspace(-745.2, -708.5, 2001), [-746.0, -800.0, -1e300, -math.inf, 0.0,
                                                           math.log(2.0) * 10, -math.log(2.0) * 1000]])
    out = np.empty_like(x)
    _exp_many(x, out)
    with mpmath.workdps(50):
        want = np.array([float(mpmath.exp(mpmath.mpf(v))) for v in x])
    assert np.all(np.abs(out - want) <= np.maximum(2 * 2.0 ** -1074, 1.1 * _ULP_NORMAL * want))
    assert out[-3] == 1.0
    assert np.all(out[-7:-3] == 0.0)


@given(st.floats(-800.0, 709.0))
def test_exp_lanes_matches_numpy(x):
    """Any argument: within an ulp of numpy's exp (relative for normal results, absolute below)."""
    out = np.empty(1)
    _exp_many(np.array([x]), out)
    want = math.exp(x)
    assert abs(out[0] - want) <= max(2 * 2.0 ** -1074, 2.2 * _ULP_NORMAL * want)


_SHIFTS = np.array([0.0, 0.5, 1.0, 2.0, 3.5, 5.0, 8.0, 13.0])
_WEIGHTS = np.array([0.3, 1e-3, 2.0, 0.25, 1e-9, 0.7, 4.0, 1e-20])
_shift_sum = inverse_sqrt_sum(_SHIFTS, _WEIGHTS)


@nb.njit  # not cached, as _exp_many
def _shift_sum_many(a, b, out):
    for i in range(a.size):
        out[i] = _shift_sum(a[i], b[i])


def test_inverse_sqrt_sum_matches_mpmath():
    """Within 8 ulp of a 40-digit sum (eight positive terms, each within about 2 roundings)."""
    rng = np.random.default_rng(1)
    b = 10.0 ** rng.uniform(-3, 3, 500)
    a = b + 10.0 ** rng.uniform(-3, 3, 500)
    out = np.empty_like(a)
    _shift_sum_many(a, b, out)
    with mpmath.workdps(40):
        want = np.array([float(sum(mpmath.mpf(w) / ((mpmath.mpf(ai) + s) * mpmath.sqrt(mpmath.mpf(bi) + s))
                                   for s, w in zip(_SHIFTS, _WEIGHTS))) for ai, bi in zip(a, b)])
    assert np.max(np.abs(out - want) / want) <= 8 * _ULP_NORMAL


@pytest.mark.parametrize("factory", [inverse_sqrt_sum, gauss_cauchy_sum])
@pytest.mark.parametrize("nodes, weights", [([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]), ([1.0] * 4, [1.0] * 8), ([], [])])
def test_vector_rules_refuse_bad_lengths(factory, nodes, weights):
    with pytest.raises(ValueError, match="multiple of 4"):
        factory(nodes, weights)
