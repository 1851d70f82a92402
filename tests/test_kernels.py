"""Scalar special functions of ``_kernels.special`` against mpmath at 50 digits."""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pwaffine._kernels import special as _kernels

mp.mp.dps = 50


def _mp_log_mass(a, b):
    """log(Phi(b) - Phi(a)) in high precision."""
    phi = lambda t: mp.ncdf(mp.mpf(t)) if math.isfinite(t) else (mp.mpf(1) if t > 0 else mp.mpf(0))
    if a > 0:  # reflect to keep the difference of small numbers
        val = mp.ncdf(-mp.mpf(a)) - (mp.ncdf(-mp.mpf(b)) if math.isfinite(b) else 0)
    else:
        val = phi(b) - phi(a)
    return float(mp.log(val))


@pytest.mark.parametrize("x", np.concatenate([np.linspace(0, 12, 241), np.geomspace(12, 1e8, 60)]))
def test_erfcx_matches_mpmath(x):
    ref = mp.erfc(mp.mpf(x)) * mp.exp(mp.mpf(x) ** 2)
    assert abs(_kernels.erfcx(x) / float(ref) - 1) < 1e-15


@pytest.mark.parametrize(
    "a,b",
    [
        (40.0, 41.0),        # 40 standard deviations out: mass ~ 1e-350
        (-41.0, -40.0),
        (40.0, 40.0 + 1e-6),  # narrow far-tail interval
        (1e3, 1e3 + 1.0),
        (-math.inf, -60.0),
        (60.0, math.inf),
        (-1e-8, 1e-8),       # tiny interval straddling zero
        (0.0, 1e-10),
        (-math.inf, math.inf),
        (2.0, 2.0 + 1e-9),
    ],
)
def test_log_interval_mass_extremes(a, b):
    got = _kernels.log_interval_mass(a, b)
    ref = _mp_log_mass(a, b)
    assert math.isfinite(got)
    assert abs(got - ref) <= 2e-14 * max(1.0, abs(ref))


@given(st.floats(-50, 50), st.one_of(st.floats(1e-12, 1e-2), st.floats(1e-2, 20)))
def test_log_interval_mass_random(a, width):
    b = a + width
    ref = _mp_log_mass(a, b)
    got = _kernels.log_interval_mass(a, b)
    # Cancellation in the tail-ratio formula costs at most ~eps / 1e-3 relative
    # (narrower intervals take the direct quadrature branch).
    assert abs(got - ref) <= 2e-13 + 2e-15 * abs(ref)


def test_log_interval_mass_empty():
    assert _kernels.log_interval_mass(1.0, 1.0) == -math.inf
    assert _kernels.log_interval_mass(2.0, 1.0) == -math.inf
