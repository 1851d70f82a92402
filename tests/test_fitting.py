"""Exact maximum-likelihood fits (``ExactMLE``): gradients, optimality, consistency, determinism."""

import numpy as np
import pytest

from pwaffine import (ExactMLE, GaussianMixture, PushforwardModel, ReLUNetwork, find_equivalence)
from pwaffine.experiments.executors import process_pool
from pwaffine.inference._parametrization import Parametrization
from pwaffine.inference.fitting import _mean_nll_and_gradient


def _truth_1d(noise=0.1):
    """An injective f with no flat region and distinct components: identifiable (Theorem 3.5)."""
    prior = GaussianMixture([0.4, 0.6], [[-0.8], [0.9]], [[[0.16]], [[0.25]]])
    net = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 0.2], [0.3, -1.0]]], [[0.3, 0.4], [0.0, 0.1]])
    return PushforwardModel(prior, net, noise)


def _truth_2d(noise=0.15):
    prior = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.5]],
                            [np.diag([0.3, 0.1]), np.diag([0.1, 0.4])])
    net = ReLUNetwork([[[1.0, 0.3], [-0.2, 1.0], [0.6, -0.7]],
                       [[0.8, -0.5, 0.3], [0.4, 1.1, -0.2]]],
                      [[0.1, -0.2, 0.3], [0.0, 0.0]], negative_slope=0.2)
    return PushforwardModel(prior, net, noise)


@pytest.mark.parametrize("m,covariance_type,noise", [
    (1, "full", None), (1, "diag", 0.2), (2, "full", None), (2, "diag", None),
    (2, "spherical", 0.3),
])
def test_gradient_in_theta_matches_finite_differences(m, covariance_type, noise):
    truth = _truth_1d() if m == 1 else _truth_2d()
    X = truth.sample(60, rng=1)
    p = Parametrization(2, m, X.shape[1], (3,), 0.1, covariance_type, noise)
    theta = np.random.default_rng(2).normal(0.0, 0.5, p.size)
    value, grad = _mean_nll_and_gradient(theta, X, p)
    h = 1e-6
    for i in range(p.size):
        e = np.zeros(p.size)
        e[i] = h
        fd = (_mean_nll_and_gradient(theta + e, X, p)[0]
              - _mean_nll_and_gradient(theta - e, X, p)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-6), i


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_parametrization_round_trip(covariance_type):
    p = Parametrization(3, 2, 2, (4, 3), 0.2, covariance_type, None)
    theta = np.random.default_rng(0).normal(size=p.size)
    np.testing.assert_allclose(p.point(p.model(theta)), theta, rtol=1e-12, atol=1e-12)


def test_fit_beats_the_truth_on_its_data_and_recovers_it_with_many_samples():
    truth = _truth_1d()
    for n_samples in (500, 20000):
        X = truth.sample(n_samples, rng=n_samples)
        fit = ExactMLE(n_components=2, hidden_layer_sizes=(2,), noise_std=0.1, n_init=3,
                       random_state=0).fit(X)
        # The maximum of the likelihood is at least the truth's value on the same data.
        assert fit.score(X) >= truth.score(X) - 1e-9
        assert fit.nll_ == pytest.approx(-fit.score(X), rel=1e-12)
    # Parameters are estimated to O(1/sqrt(N)): equivalence with a tolerance
    # that shrinks with N (5 / sqrt(N) ~ 0.035 here).
    tol = 5.0 / np.sqrt(n_samples)
    eq = find_equivalence(truth, fit.model_, atol=tol, rtol=tol)
    assert eq is not None, "the fit to 20000 samples is not equivalent to the truth"


def test_fit_2d_beats_the_truth_on_its_data():
    truth = _truth_2d()
    X = truth.sample(800, rng=3)
    fit = ExactMLE(n_components=2, hidden_layer_sizes=(3,), negative_slope=0.2, n_latent=2,
                   covariance_type="diag", noise_std=0.15, n_init=2, max_iter=150,
                   random_state=1).fit(X)
    assert fit.score(X) >= truth.score(X) - 1e-9
    assert fit.model_.n_latent == 2 and np.all(np.diagonal(fit.model_.prior.covariances, 0, 1, 2)
                                               > 0)


def test_same_seed_same_bytes_whatever_the_executor():
    X = _truth_1d().sample(400, rng=5)
    kwargs = dict(n_components=2, hidden_layer_sizes=(2,), n_init=3, max_iter=60, random_state=7)
    a = ExactMLE(**kwargs).fit(X)
    b = ExactMLE(**kwargs).fit(X)
    with process_pool(2) as pool:
        c = ExactMLE(**kwargs, executor=pool).fit(X)
    for other in (b, c):
        assert [r.theta.tobytes() for r in other.restarts_] == [r.theta.tobytes()
                                                               for r in a.restarts_]
        assert other.nll_ == a.nll_
    d = ExactMLE(**{**kwargs, "random_state": 8}).fit(X)
    assert d.restarts_[0].theta.tobytes() != a.restarts_[0].theta.tobytes()


def test_information_criteria_and_sampling():
    X = _truth_1d().sample(400, rng=5)
    fit = ExactMLE(n_components=2, hidden_layer_sizes=(2,), noise_std=0.1, n_init=1,
                   random_state=0).fit(X)
    # 1 logit, 2 means, 2 variances, 2 + 2 + 4 + 2 network numbers (the noise is
    # fixed), minus the 2 latent affine dimensions and the 2 unit rescalings.
    assert fit.n_parameters_ == 1 + 2 + 2 + 10 - 2 - 2
    n = X.shape[0]
    assert fit.bic(X) == pytest.approx(-2 * n * fit.score(X) + fit.n_parameters_ * np.log(n))
    assert fit.aic(X) == pytest.approx(-2 * n * fit.score(X) + 2 * fit.n_parameters_)
    assert fit.sample(5, rng=0).shape == (5, 2)
    np.testing.assert_array_equal(fit.score_samples(X[:3]), fit.model_.logpdf(X[:3]))


@pytest.mark.parametrize("kwargs,X,message", [
    ({}, np.zeros((5, 1)), "too few"),
    ({}, np.full((200, 1), np.nan), "X contains NaN"),
    ({}, np.zeros(200), "X must be 2-dimensional"),
    ({}, np.zeros((200, 1)), "X is constant"),
    ({"covariance_type": "tied"}, None, "covariance_type must be one of"),
    ({"n_init": 0}, None, "n_init must be >= 1"),
    ({"noise_std": 0.0}, None, "noise_std must be > 0"),
    ({"random_state": -1}, None, "random_state must be None or a non-negative integer"),
    ({"hidden_layer_sizes": (0,)}, None, "hidden_layer_sizes entries must be >= 1"),
])
def test_bad_input_is_refused_by_name(kwargs, X, message):
    if X is None:
        X = np.random.default_rng(0).normal(size=(200, 1))
    with pytest.raises(ValueError, match=message):
        ExactMLE(**kwargs).fit(X)


def test_refused_combinations_and_unfitted_use():
    with pytest.raises(NotImplementedError, match=r"\(m=3, n=2, noisy\)"):
        ExactMLE(n_latent=3).fit(np.random.default_rng(0).normal(size=(300, 2)))
    with pytest.raises(ValueError, match="not fitted yet"):
        ExactMLE().score(np.zeros((3, 1)))
