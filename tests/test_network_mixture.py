"""ReLUNetwork and GaussianMixture basics against plain numpy/scipy."""

import numpy as np
import pytest
from scipy import stats

from pwaffine import GaussianMixture, ReLUNetwork


def test_forward_matches_manual_loop():
    rng = np.random.default_rng(0)
    net = ReLUNetwork.random([2, 5, 3, 4], negative_slope=0.2, rng=rng)
    Z = rng.normal(size=(50, 2))
    H = Z
    for layer in range(3):
        H = H @ net.weights[layer].T + net.biases[layer]
        if layer < 2:
            H = np.maximum(H, 0) + 0.2 * np.minimum(H, 0)
    np.testing.assert_array_equal(net.forward(Z), H)
    assert net.n_inputs == 2 and net.n_outputs == 4 and net.hidden_sizes == (5, 3)
    assert repr(net) == "ReLUNetwork(2-5-3-4, negative_slope=0.2)"


def test_random_is_reproducible():
    a = ReLUNetwork.random([1, 8, 2], rng=42)
    b = ReLUNetwork.random([1, 8, 2], rng=np.random.default_rng(42))
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)


def test_parameters_are_read_only_copies():
    W = np.ones((1, 1))
    net = ReLUNetwork([W], [np.zeros(1)])
    W[0, 0] = 5.0
    assert net.weights[0][0, 0] == 1.0
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 2.0


def test_mixture_logpdf_matches_scipy():
    rng = np.random.default_rng(1)
    cov = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.2, -0.1], [-0.1, 0.4]]])
    gm = GaussianMixture([0.25, 0.75], [[0.0, 1.0], [-1.0, 2.0]], cov)
    Z = rng.normal(size=(30, 2))
    want = np.log(0.25 * stats.multivariate_normal([0, 1], cov[0]).pdf(Z)
                  + 0.75 * stats.multivariate_normal([-1, 2], cov[1]).pdf(Z))
    np.testing.assert_allclose(gm.logpdf(Z), want, rtol=1e-13)
    np.testing.assert_allclose(gm.pdf(Z), np.exp(want), rtol=1e-13)


def test_mixture_sample_moments_and_seed():
    gm = GaussianMixture([0.3, 0.7], [[-2.0], [1.0]], [[[0.5]], [[0.2]]])
    Z, labels = gm.sample(200000, rng=3, return_labels=True)
    np.testing.assert_array_equal(Z, gm.sample(200000, rng=3))
    assert abs(labels.mean() - 0.7) < 5 * np.sqrt(0.21 / 2e5)
    mean = 0.3 * -2 + 0.7 * 1
    assert abs(Z.mean() - mean) < 5 * Z.std() / np.sqrt(2e5)


def test_zero_weight_component_is_allowed():
    gm = GaussianMixture([0.0, 1.0], [[5.0], [0.0]], [[[1.0]], [[1.0]]])
    np.testing.assert_allclose(gm.logpdf([[0.3]]), stats.norm.logpdf(0.3), rtol=1e-14)


def test_from_std():
    gm = GaussianMixture.from_std([1.0], [[0.0, 1.0]], [[2.0, 0.5]])
    np.testing.assert_array_equal(gm.covariances[0], np.diag([4.0, 0.25]))
    with pytest.raises(ValueError, match="stds must be positive"):
        GaussianMixture.from_std([1.0], [[0.0]], [0.0])
