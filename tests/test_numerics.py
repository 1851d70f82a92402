"""Every numeric path is finite or refused: extreme scales, degenerate models, bad input types."""

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from pwaffine import (GaussianMixture, PopulationNLL, PushforwardModel, ReLUNetwork,
                      fisher_information, mcc, nll_surface, population_nll)
from pwaffine.inference import quadrature


def _gaussian_logpdf(X, mean, cov):
    return stats.multivariate_normal(mean, cov).logpdf(X)


# --------------------------------------------------------------------------- extreme scales
@pytest.mark.parametrize("log10_noise", [0, -5, -20, -50, -80, -99, -100, -150, -160, -300])
@pytest.mark.parametrize("n_latent,n_features", [(1, 1), (2, 1), (2, 2)])
def test_tiny_noise_is_computed_exactly_or_refused(log10_noise, n_latent, n_features):
    """A linear f gives a Gaussian P(X): pwaffine must match it, or refuse the noise by name.

    (``n > m`` makes that Gaussian singular at tiny noise, which scipy cannot
    evaluate: see the next test.)
    """
    rng = np.random.default_rng(n_latent + 10 * n_features)
    A = rng.normal(size=(n_features, n_latent)) + 0.5
    c = rng.normal(size=n_features)
    mean = rng.normal(size=n_latent)
    B = rng.normal(size=(n_latent, n_latent))
    cov = B @ B.T + 0.5 * np.eye(n_latent)
    noise = 10.0**log10_noise
    prior = GaussianMixture([1.0], [mean], [cov])
    try:
        model = PushforwardModel(prior, ReLUNetwork([A], [c]), noise)
    except ValueError as exc:
        assert "noise_std" in str(exc) and "too small" in str(exc)
        assert log10_noise <= -100  # refused only beyond MAX_SCALE = 1e100
        return
    # Points on the image's range (the density is then finite at any noise).
    Z = mean + rng.normal(size=(4, n_latent))
    X = Z @ A.T + c
    x_cov = A @ cov @ A.T + noise**2 * np.eye(n_features)
    want = _gaussian_logpdf(X, A @ mean + c, x_cov)
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("log10_noise", [0, -5, -8, -20, -50, -99])
def test_tiny_noise_on_an_image_of_lower_dimension(log10_noise):
    """n > m: exact up to the problem's own conditioning, at the float inputs.

    Near the image, ``log p(x)`` falls by ``d^2 / 2`` with ``d`` the distance of
    ``x`` from the image in noise units.  Rounding the inputs moves ``x``, and
    the image, by about ``eps |x|``, so ``d`` is only defined to about
    ``e = eps |x| / noise``: no float64 algorithm can do better than an error
    of ``|d| e + e^2 / 2``.  The reference is the exact density at the float
    inputs (mpmath, 400 digits); the tolerance is that bound plus 1e-10.
    """
    mp.mp.dps = 400
    A = np.array([[1.5], [-0.5]])
    c = np.array([0.1, -0.3])
    mean, var = 0.2, 0.7
    noise = 10.0**log10_noise
    model = PushforwardModel(GaussianMixture([1.0], [[mean]], [[[var]]]),
                             ReLUNetwork([A], [c]), noise)
    X = np.array([[-0.4], [0.0], [0.9]]) @ A.T + c  # on the image, up to rounding
    got = model.logpdf(X)
    a = [mp.mpf(float(v)) for v in A[:, 0]]
    norm_a = mp.sqrt(a[0] ** 2 + a[1] ** 2)
    s = mp.mpf(noise)
    for x, value in zip(X, got):
        r = [mp.mpf(float(x[t])) - mp.mpf(float(c[t])) for t in range(2)]
        t = (r[0] * a[0] + r[1] * a[1]) / norm_a  # coordinate along the image
        d = (r[0] * a[1] - r[1] * a[0]) / norm_a / s  # distance from it, in noise units
        v = norm_a**2 * mp.mpf(var) + s**2
        want = (-mp.log(2 * mp.pi * v) / 2 - (t - norm_a * mp.mpf(mean)) ** 2 / (2 * v)
                - mp.log(2 * mp.pi) / 2 - mp.log(s) - d**2 / 2)
        e = 8 * np.finfo(float).eps * (np.abs(x).sum() + np.abs(c).sum()) / noise
        tol = abs(float(d)) * e + e * e / 2 + 1e-10 * (1 + abs(float(want)))
        assert np.isfinite(value) and abs(value - float(want)) <= tol


@pytest.mark.parametrize("log10_weight", [0, 20, 50, 90, 98, 99, 100, 101, 154, 300])
def test_huge_weights_are_computed_exactly_or_refused(log10_weight):
    w = 10.0**log10_weight
    prior = GaussianMixture([1.0], [[0.3]], [[[0.8]]])
    try:
        model = PushforwardModel(prior, ReLUNetwork([[[w]]], [[0.0]]), 0.1)
    except ValueError as exc:
        assert ("weights and biases are too large" in str(exc)
                or "noise_std=0.1 is too small" in str(exc))
        assert log10_weight >= 99
        return
    X = np.array([[0.5 * w], [w], [-2.0 * w]])
    want = stats.norm(0.3 * w, np.sqrt(0.8 * w * w + 0.01)).logpdf(X[:, 0])
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-12)
    assert np.all(np.isfinite(model.logpdf(X)))


def test_networks_whose_maps_overflow_are_refused():
    with pytest.raises(ValueError, match="weights and biases are too large"):
        ReLUNetwork([[[1e300]], [[1e300]]], [[0.0], [0.0]])
    with pytest.raises(ValueError, match="weights and biases are too large"):
        ReLUNetwork([[[1.0]], [[1.0]]], [[1e200], [0.0]])


def test_priors_beyond_the_supported_scale_are_refused():
    with pytest.raises(ValueError, match="means and standard deviations"):
        GaussianMixture([1.0], [[1e150]], [[[1.0]]])
    with pytest.raises(ValueError, match="means and standard deviations"):
        GaussianMixture([1.0], [[0.0]], [[[1e-220]]])


@pytest.mark.parametrize("scale", [1e154, 1e-300, 1e300, 1.0])
@pytest.mark.parametrize("kind", ["strong", "weak"])
def test_mcc_is_scale_invariant(scale, kind):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 3))
    Z_est = Z @ np.diag([2.0, -0.5, 1.0]) + 0.1 * rng.normal(size=(400, 3))
    base = mcc(Z, Z_est, kind=kind, rng=1).value
    assert mcc(Z * scale, Z_est, kind=kind, rng=1).value == pytest.approx(base, rel=1e-12)
    assert mcc(Z, Z_est * scale, kind=kind, rng=1).value == pytest.approx(base, rel=1e-12)


# --------------------------------------------------------------------------- degenerate models
def _abs_truth():
    return PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                            ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]]), 0.2)


def test_population_nll_of_a_noiseless_model_is_inf_at_once():
    truth = _abs_truth()
    noiseless = PushforwardModel(truth.prior, truth.network, 0.0)  # density 0 below 0
    value, error = PopulationNLL(truth).with_error(noiseless)
    assert value == np.inf and error == np.inf
    assert population_nll(noiseless, truth) == np.inf


def test_surface_through_zero_noise_is_inf_there_and_finite_elsewhere():
    truth = _abs_truth()
    surface = nll_surface(truth, "noise_std", np.linspace(0.0, 0.4, 5), truth=truth)
    assert surface.values[0] == np.inf
    assert np.all(np.isfinite(surface.values[1:]))
    assert not np.any(np.isnan(surface.values))


def test_quadrature_stops_on_infinite_and_refuses_nan_integrands():
    edges = np.linspace(-1.0, 1.0, 5)
    assert quadrature.integrate_1d(lambda x: np.where(x > 0.3, np.inf, 1.0), edges, 1e-10) == \
        (np.inf, np.inf)
    with pytest.raises(FloatingPointError, match="NaN"):
        quadrature.integrate_1d(lambda x: np.where(x > 0.3, np.nan, 1.0), edges, 1e-10)


def test_quadrature_of_a_jump_is_bounded_in_work():
    calls = []

    def step(x):
        calls.append(x.size)
        return (x > 1.0 / 3.0).astype(float)

    # An unreachable tolerance: refinement stops at the cap on active panels, and
    # the error estimate returned still covers the error made.
    value, error = quadrature.integrate_1d(step, np.linspace(0.0, 1.0, 3), 1e-300)
    assert abs(value - 2.0 / 3.0) <= error < 1e-6
    assert len(calls) <= quadrature.MAX_ROUNDS and max(calls) <= 15 * quadrature.MAX_ACTIVE_CELLS


# --------------------------------------------------------------------------- input types
def _model():
    return PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                            ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)


@pytest.mark.parametrize("X,message", [
    (None, "X must be an array of real numbers; got None"),
    (np.array([[1.0 + 2.0j]]), "X must be real; got complex values"),
    ("0.1", "X must be an array of real numbers; got the string"),
    ([[True]], "X must be an array of real numbers; got booleans"),
    ([[object()]], "X must be an array of real numbers; got dtype object"),
])
def test_logpdf_refuses_non_real_input_by_name(X, message):
    with pytest.raises(ValueError, match=message):
        _model().logpdf(X)


@pytest.mark.parametrize("noise,message", [
    ("0.1", "noise_std must be an array of real numbers; got the string"),
    (0.1 + 0.0j, "noise_std must be real; got complex"),
    (None, "noise_std must be an array of real numbers; got None"),
])
def test_model_refuses_non_real_noise_by_name(noise, message):
    with pytest.raises(ValueError, match=message):
        PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                         ReLUNetwork([[[1.0]]], [[0.0]]), noise)


def test_other_constructors_refuse_non_real_input_by_name():
    with pytest.raises(ValueError, match="means must be real"):
        GaussianMixture([1.0], np.array([[1j]]), [[[1.0]]])
    with pytest.raises(ValueError, match=r"weights\[0\] must be an array of real numbers; got None"):
        ReLUNetwork([None], [[0.0]])
    with pytest.raises(ValueError, match="Z_true must be real"):
        mcc(np.ones((10, 2)) * 1j, np.ones((10, 2)))


@pytest.mark.parametrize("step,message", [
    (0.0, "step must be > 0"), (-1e-5, "step must be > 0"), (1.0, "step must be <= 0.1"),
    ("1e-5", "step must be a real number"), (np.nan, "step must be finite"),
])
def test_fisher_step_is_validated(step, message):
    with pytest.raises(ValueError, match=message):
        fisher_information(_model(), step=step)
