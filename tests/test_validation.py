"""Bad input raises a clear ValueError naming the argument."""

import numpy as np
import pytest

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork

GOOD_W = [[[1.0], [-1.0]], [[1.0, 2.0]]]
GOOD_B = [[0.0, 0.5], [0.0]]


def _prior(m=1):
    return GaussianMixture([0.5, 0.5], np.zeros((2, m)), np.stack([np.eye(m), 2 * np.eye(m)]))


@pytest.mark.parametrize(
    "weights,biases,slope,match",
    [
        ([], [], 0.0, "at least one layer"),
        ([[[1.0]]], [], 0.0, "one entry per layer"),
        ([[1.0, 2.0]], [[0.0]], 0.0, r"weights\[0\] must be 2-dimensional"),
        ([np.ones((2, 1)), np.ones((1, 3))], [np.zeros(2), np.zeros(1)], 0.0,
         r"weights\[1\] has 3 input columns but layer 0 has 2 outputs"),
        ([np.ones((2, 1))], [np.zeros(3)], 0.0, r"biases\[0\] must have shape \(2\)"),
        ([[[np.nan]]], [[0.0]], 0.0, r"weights\[0\] contains NaN"),
        ([[[1.0]]], [[np.inf]], 0.0, r"biases\[0\] contains infinite"),
        (GOOD_W, GOOD_B, -0.1, "negative_slope must be >= 0"),
        (GOOD_W, GOOD_B, np.nan, "negative_slope must be finite"),
        (GOOD_W, GOOD_B, "0.1", "negative_slope must be a real number"),
        (np.ones((2, 2)), [np.zeros(2)], 0.0, "sequence of 2-D arrays"),
        ([[["a"]]], [[0.0]], 0.0, r"weights\[0\] must be an array of real numbers"),
    ],
)
def test_network_errors(weights, biases, slope, match):
    with pytest.raises(ValueError, match=match):
        ReLUNetwork(weights, biases, negative_slope=slope)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(layer_sizes=[1]), "at least"),
        (dict(layer_sizes=[1, 0, 1]), "layer_sizes entries must be >= 1"),
        (dict(layer_sizes=[1, 2.5, 1]), "layer_sizes entries must be an integer"),
        (dict(layer_sizes=[1, 2], rng="seed"), "rng must be"),
        (dict(layer_sizes=[1, 2], weight_scale=-1.0), "weight_scale must be >= 0"),
    ],
)
def test_network_random_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReLUNetwork.random(**kwargs)


@pytest.mark.parametrize(
    "w,m,c,match",
    [
        ([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "weights must sum to 1"),
        ([1.2, -0.2], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "weights must be non-negative"),
        ([[1.0]], [[0.0]], [[[1.0]]], "weights must be 1-dimensional"),
        ([np.nan, 1.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]], "weights contains NaN"),
        ([1.0], [0.0], [[[1.0]]], "means must be 2-dimensional"),
        ([0.5, 0.5], [[0.0]], [[[1.0]], [[1.0]]], r"means must have shape \(n_components, n_features\)"),
        ([1.0], [[np.inf]], [[[1.0]]], "means contains infinite"),
        ([1.0], [[0.0]], [[1.0]], r"covariances must have shape \(1, 1, 1\)"),
        ([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]], r"covariances\[0\] is not symmetric"),
        ([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]], r"covariances\[0\] is not positive definite"),
        ([1.0], [[0.0]], [[[0.0]]], r"covariances\[0\] is not positive definite"),
        ([1.0], [[0.0]], [[[-1.0]]], r"covariances\[0\] is not positive definite"),
        ([1.0], [[0.0]], [[[np.nan]]], "covariances contains NaN"),
    ],
)
def test_mixture_errors(w, m, c, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(w, m, c)


def test_mixture_weights_tolerance():
    GaussianMixture([0.5, 0.5 + 5e-10], [[0.0], [1.0]], [[[1.0]], [[1.0]]])  # within 1e-9
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture([0.5, 0.5 + 2e-9], [[0.0], [1.0]], [[[1.0]], [[1.0]]])


@pytest.mark.parametrize(
    "noise,match",
    [
        (-0.1, "noise_std must be >= 0"),
        (np.nan, "noise_std contains NaN"),
        (np.inf, "noise_std contains infinite"),
        ([0.1, 0.2, 0.3], r"noise_std must be a scalar or have shape \(1,\)"),
        ("x", "noise_std must be an array of real numbers"),
    ],
)
def test_model_noise_errors(noise, match):
    with pytest.raises(ValueError, match=match):
        PushforwardModel(_prior(), ReLUNetwork(GOOD_W, GOOD_B), noise)


def test_model_mixed_zero_noise():
    net = ReLUNetwork([np.ones((2, 1))], [np.zeros(2)])
    with pytest.raises(ValueError, match="all positive or all zero"):
        PushforwardModel(_prior(), net, [0.0, 0.1])


def test_model_dimension_mismatch():
    with pytest.raises(ValueError, match=r"prior dimension \(2\) must equal the network's input dimension \(1\)"):
        PushforwardModel(_prior(2), ReLUNetwork(GOOD_W, GOOD_B), 0.1)
    with pytest.raises(ValueError, match="prior must be a GaussianMixture"):
        PushforwardModel("prior", ReLUNetwork(GOOD_W, GOOD_B), 0.1)
    with pytest.raises(ValueError, match="network must be a ReLUNetwork"):
        PushforwardModel(_prior(), None, 0.1)


@pytest.mark.parametrize(
    "X,match",
    [
        (np.zeros((3, 2)), r"X must have shape \(n_samples, 1\) to match the model's dimension 1; got 2 columns"),
        (np.zeros(3), r"X must have shape \(n_samples, 1\); got shape \(3,\); use X.reshape\(-1, 1\)"),
        (np.zeros((2, 1, 1)), r"X must have shape \(n_samples, 1\); got shape \(2, 1, 1\)"),
        ([[np.nan]], "X contains NaN"),
        ([[np.inf]], "X contains infinite"),
        ([["a"]], "X must be an array of real numbers"),
    ],
)
def test_logpdf_input_errors(X, match):
    model = PushforwardModel(_prior(), ReLUNetwork(GOOD_W, GOOD_B), 0.1)
    for method in (model.logpdf, model.pdf, model.score_samples):
        with pytest.raises(ValueError, match=match):
            method(X)


def test_other_input_errors():
    net = ReLUNetwork(GOOD_W, GOOD_B)
    with pytest.raises(ValueError, match=r"Z must have shape \(n_samples, 1\)"):
        net.forward(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Z must have shape \(n_samples, 1\)"):
        _prior().logpdf(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_samples must be >= 0"):
        _prior().sample(-1)
    with pytest.raises(ValueError, match="n_samples must be an integer"):
        PushforwardModel(_prior(), net, 0.1).sample(2.5)
    with pytest.raises(ValueError, match="rng must be"):
        PushforwardModel(_prior(), net, 0.1).sample(2, rng="abc")
    with pytest.raises(ValueError, match="prior must be 1-dimensional"):
        net.affine_regions().log_prior_masses(_prior(2))


def test_unsupported_latent_dimension_is_refused_at_construction():
    net = ReLUNetwork.random([3, 4, 2], rng=0)
    with pytest.raises(NotImplementedError, match=r"\(m=3, n=2, noisy\).*latent dimensions 1 "
                                                  r"\(intervals\) and 2"):
        PushforwardModel(_prior(3), net, 0.1)
    with pytest.raises(NotImplementedError, match="n_inputs=3"):
        net.affine_regions()


def test_sklearn_style_api_names():
    model = PushforwardModel(_prior(), ReLUNetwork(GOOD_W, GOOD_B), 0.1)
    X = model.sample(50, rng=0)
    assert model.score(X) == pytest.approx(np.mean(model.logpdf(X)), rel=1e-15)
    np.testing.assert_array_equal(model.score_samples(X), model.logpdf(X))
    assert model.logpdf_grad(X).shape == (50, len(model.parameters()))
    noise = model.noise_vector
    assert noise.shape == (1,) and not noise.flags.writeable
    with pytest.raises(ValueError, match="X must contain at least one sample"):
        model.score(np.empty((0, 1)))


@pytest.mark.parametrize("m", [1, 2])
def test_latent_mean_is_the_posterior_mean(m):
    """E[z | x] against a direct integral of z p(z) p(x | z) over a fine latent grid."""
    rng = np.random.default_rng(m)
    prior = GaussianMixture([0.3, 0.7], rng.normal(size=(2, m)), [0.3 * np.eye(m), 0.5 * np.eye(m)])
    net = ReLUNetwork.random([m, 3, 2], negative_slope=0.1, rng=rng)
    model = PushforwardModel(prior, net, 0.3)
    X = model.sample(3, rng=4)
    axes = [np.linspace(-6, 6, 1201 if m == 1 else 241)] * m
    Z = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, m)
    log_prior = prior.logpdf(Z)
    F = net.forward(Z)
    for x, got in zip(X, model.latent_mean(X)):
        log_w = log_prior - 0.5 * ((x - F) ** 2).sum(axis=1) / 0.09
        w = np.exp(log_w - log_w.max())
        want = (w[:, None] * Z).sum(axis=0) / w.sum()
        np.testing.assert_allclose(got, want, atol=1e-6)
