"""Negative log-likelihoods, the analytic score, and parameters by name."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from strategies import models

from pwaffine import (GaussianMixture, PopulationNLL, PushforwardModel, ReLUNetwork,
                      population_nll, sample_nll)


def _quad_population_nll(model, truth):
    """Independent reference: scipy quad over x between the kink images, n = 1."""
    from pwaffine.inference.domain import image_pieces

    seg = np.stack(image_pieces(truth))[..., 0]
    pad = 12 * truth.noise_vector[0]
    pts = np.unique(np.concatenate([[seg.min() - pad, seg.max() + pad], seg.ravel()]))
    f = lambda x: -truth.pdf([[x]])[0] * model.logpdf([[x]])[0]  # noqa: E731
    return sum(integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
               for a, b in zip(pts[:-1], pts[1:]))


@settings(max_examples=10)
@given(models(n_outputs=st.just(1), noise=st.floats(0.05, 1.0)), st.floats(-0.5, 0.5))
def test_population_nll_matches_quad(truth, shift):
    model = truth.with_parameters({"prior.means[0,0]": truth.prior.means[0, 0] + shift})
    got = population_nll(model, truth)
    # quad's own error estimate at these tolerances is ~1e-11; the requirement is 1e-8.
    assert got == pytest.approx(_quad_population_nll(model, truth), abs=1e-9)


def test_entropy_of_linear_gaussian_is_closed_form():
    truth = PushforwardModel(GaussianMixture([1.0], [[0.3]], [[[0.5]]]),
                             ReLUNetwork([[[2.0]]], [[1.0]]), 0.2)
    want = 0.5 * np.log(2 * np.pi * np.e * (4 * 0.5 + 0.04))
    assert PopulationNLL(truth).entropy == pytest.approx(want, abs=1e-12)


def test_population_nll_2d_matches_closed_form():
    # Linear network into R^2: P(X) is Gaussian, so the cross-entropy is closed form.
    W = np.array([[1.0], [0.5]])
    truth = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), ReLUNetwork([W], [[0.0, 0.0]]), 0.3)
    model = truth.with_parameters({"network.weights[0][1,0]": 0.8, "noise_std": 0.4})
    cov_t = W @ W.T + 0.09 * np.eye(2)
    W2 = np.array([[1.0], [0.8]])
    cov_m = W2 @ W2.T + 0.16 * np.eye(2)
    want = 0.5 * (np.trace(np.linalg.solve(cov_m, cov_t)) + np.log(np.linalg.det(2 * np.pi * cov_m)))
    assert population_nll(model, truth) == pytest.approx(want, abs=1e-8)


def test_population_nll_2d_nonlinear_against_grid():
    rng = np.random.default_rng(4)
    truth = PushforwardModel(GaussianMixture([0.4, 0.6], [[-1.0], [1.0]], [[[0.3]], [[0.5]]]),
                             ReLUNetwork.random([1, 3, 2], rng=rng), 0.5)
    model = truth.with_parameters({"prior.means[1,0]": 0.7})
    got = population_nll(model, truth)
    # Reference: trapezoid on a fine grid (spectrally accurate for this smooth,
    # rapidly decaying integrand).
    from pwaffine.inference.domain import image_pieces

    seg = np.concatenate(image_pieces(truth))
    g = [np.arange(seg[:, t].min() - 6, seg[:, t].max() + 6, 0.05) for t in range(2)]
    X = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 2)
    f = (-truth.pdf(X) * model.logpdf(X)).reshape(g[0].size, g[1].size)
    want = np.trapezoid(np.trapezoid(f, g[1], axis=1), g[0])
    assert got == pytest.approx(want, abs=1e-8)


def test_population_nll_is_minimised_at_truth_and_matches_sampling():
    rng = np.random.default_rng(0)
    truth = PushforwardModel(GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [[[0.2]], [[0.4]]]),
                             ReLUNetwork.random([1, 4, 1], rng=rng), 0.3)
    P = PopulationNLL(truth)
    H = P.entropy
    for name in ("prior.means[0,0]", "network.weights[0][1,0]", "noise_std"):
        v = truth.parameters()[name]
        assert P(truth.with_parameters({name: v + 0.05})) > H
    X = truth.sample(200_000, rng=1)
    s = sample_nll(truth, X)
    se = truth.logpdf(X).std() / np.sqrt(len(X))
    assert abs(s - H) < 5 * se


def test_fixed_rule_agrees_with_adaptive():
    rng = np.random.default_rng(2)
    truth = PushforwardModel(GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[0.25]], [[0.25]]]),
                             ReLUNetwork.random([1, 2, 1], rng=rng), 0.25)
    model = truth.with_parameters({"network.biases[0][0]": 0.3})
    for width in (1.0, 1.5):
        fixed = PopulationNLL(truth, adaptive=False, panel_width=width)(model)
        assert fixed == pytest.approx(population_nll(model, truth), abs=1e-11)


@settings(max_examples=8)
@given(models(n_outputs=st.just(1), noise=st.floats(0.1, 1.0)))
def test_population_gradient_matches_finite_differences(truth):
    P = PopulationNLL(truth, adaptive=False)
    model = truth.with_parameters({"prior.means[0,0]": truth.prior.means[0, 0] + 0.2})
    value, grad = P.value_and_gradient(model)
    assert value == pytest.approx(P(model), abs=1e-13)
    names = list(model.parameters())
    for p, name in enumerate(names):
        if name.startswith("prior.weights"):
            continue  # raw weight partials are checked in test_score_matches_finite_differences
        h = 1e-5 * max(1.0, abs(model.parameters()[name]))
        v = model.parameters()[name]
        fd = (P(model.with_parameters({name: v + h})) - P(model.with_parameters({name: v - h}))) / (2 * h)
        # Central differences: O(h^2) truncation plus rounding ~1e-16/h.
        assert grad[p] == pytest.approx(fd, abs=1e-7, rel=1e-6), name


@settings(max_examples=25)
@given(models(noise=st.floats(0.05, 1.0)), st.integers(0, 2**32 - 1))
def test_score_matches_finite_differences(model, seed):
    X = model.sample(4, rng=seed)
    S = model.logpdf_grad(X)
    base = model.logpdf(X)
    for p, (name, v) in enumerate(model.parameters().items()):
        if name.startswith("prior.weights"):
            j = int(name[len("prior.weights["):-1])
            comp = PushforwardModel(GaussianMixture([1.0], model.prior.means[j:j + 1],
                                                    model.prior.covariances[j:j + 1]),
                                    model.network, model.noise_std)
            want = np.exp(comp.logpdf(X) - base)  # d log p / d weight_j = p_j / p
            np.testing.assert_allclose(S[:, p], want, rtol=1e-10, atol=1e-12)
            continue
        h = 1e-6 * max(1.0, abs(v))
        try:
            up = model.with_parameters({name: v + h}).logpdf(X)
            down = model.with_parameters({name: v - h}).logpdf(X)
        except ValueError:
            continue  # e.g. a variance stepped out of the positive definite cone
        fd = (up - down) / (2 * h)
        # Central differences with h = 1e-6: error ~h^2 * f''' + 1e-16 / h.
        np.testing.assert_allclose(S[:, p], fd, rtol=2e-6, atol=2e-6 * (1 + np.abs(fd).max()),
                                   err_msg=name)


def test_score_with_zero_weight_component():
    prior = GaussianMixture([0.0, 1.0], [[3.0], [0.0]], [[[0.3]], [[1.0]]])
    model = PushforwardModel(prior, ReLUNetwork([[[1.0], [-1.0]], [[1.0, 0.5]]], [[0.0, 0.2], [0.0]]), 0.2)
    X = np.array([[0.5], [2.9], [-1.0]])
    S = model.logpdf_grad(X)
    comp = PushforwardModel(GaussianMixture([1.0], [[3.0]], [[[0.3]]]), model.network, 0.2)
    np.testing.assert_allclose(S[:, 0], np.exp(comp.logpdf(X) - model.logpdf(X)), rtol=1e-12)
    assert np.all(S[:, 2] == 0)  # the mean of an absent component does not matter


def test_likelihood_errors():
    truth3 = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                              ReLUNetwork([np.ones((3, 1))], [np.zeros(3)]), 0.1)
    with pytest.raises(NotImplementedError, match=r"\(m=1, n=3\+, noisy\).*otherwise use sample_nll"):
        population_nll(truth3, truth3)
    noiseless = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                                 ReLUNetwork([[[1.0]]], [[0.0]]), 0.0)
    with pytest.raises(NotImplementedError, match=r"population_nll .*not available for a model "
                                                  r"\(m=1, n=1, noiseless\)"):
        PopulationNLL(noiseless)
    with pytest.raises(NotImplementedError, match=r"logpdf_grad is not available .*noiseless"):
        noiseless.logpdf_grad([[0.0]])
    with pytest.raises(ValueError, match="X must contain at least one sample"):
        sample_nll(noiseless, np.empty((0, 1)))
    with pytest.raises(ValueError, match="model must be a PushforwardModel"):
        sample_nll("model", [[0.0]])
    truth = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
    with pytest.raises(ValueError, match="tol must be > 0"):
        PopulationNLL(truth, tol=0.0)
    with pytest.raises(ValueError, match="n_features=3 but the truth has 1"):
        PopulationNLL(truth)(truth3)


def test_noiseless_model_has_infinite_population_nll():
    truth = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                             ReLUNetwork([[[1.0]], [[1.0]]], [[0.0], [0.0]]), 0.1)
    model = truth.with_parameters({"noise_std": 0.0})  # relu(z): no density below 0
    assert population_nll(model, truth) == np.inf


# ---------------------------------------------------------------- parameters
def test_parameters_round_trip_and_weight_convention():
    prior = GaussianMixture([0.2, 0.3, 0.5], [[0.0], [1.0], [2.0]], [[[1.0]], [[0.5]], [[0.2]]])
    model = PushforwardModel(prior, ReLUNetwork.random([1, 3, 2], rng=0), [0.1, 0.2])
    params = model.parameters()
    assert list(params)[:3] == ["prior.weights[0]", "prior.weights[1]", "prior.weights[2]"]
    assert "noise_std[1]" in params and "network.weights[1][1,2]" in params
    same = model.with_parameters(params)
    np.testing.assert_array_equal(same.logpdf([[0.1, 0.2]]), model.logpdf([[0.1, 0.2]]))
    new = model.with_parameters({"prior.weights[0]": 0.6})
    np.testing.assert_allclose(new.prior.weights, [0.6, 0.15, 0.25])
    new = model.with_parameters({"prior.weights[0]": 0.0, "prior.weights[1]": 0.0})
    np.testing.assert_allclose(new.prior.weights, [0.0, 0.0, 1.0])
    iso = model.with_parameters(noise_std=0.3)
    assert iso.noise_std == 0.3 and iso.parameters()["noise_std"] == 0.3
    zero = PushforwardModel(GaussianMixture([1.0, 0.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]]),
                            ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
    np.testing.assert_allclose(zero.with_parameters({"prior.weights[0]": 0.4}).prior.weights,
                               [0.4, 0.6])
    cov2 = PushforwardModel(GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)]),
                            ReLUNetwork([np.eye(2)], [np.zeros(2)]), 0.1)
    assert cov2.with_parameters({"prior.covariances[0,0,1]": 0.3}).prior.covariances[0, 1, 0] == 0.3


@pytest.mark.parametrize("values,match", [
    ({"prior.weight[0]": 0.5}, "unknown parameter name"),
    ({"prior.weights[5]": 0.5}, "does not exist"),
    ({"network.weights[0][0]": 0.5}, "does not exist"),
    ({"prior.weights[0]": 1.5}, r"must lie in \[0, 1\]"),
    ({"prior.weights[0]": 0.7, "prior.weights[1]": 0.7}, "sum to 1.4 > 1"),
    ({"prior.weights[0]": 0.5, "prior.weights[1]": 0.2, "prior.weights[2]": 0.2}, "sum to 0.9"),
    ({"noise_std": np.nan}, "must be finite"),
    ({"noise_std": "a"}, "must be a real number"),
    ({"prior.covariances[0,0,0]": -1.0}, "not positive definite"),
    ({"noise_std": -0.1}, "noise_std must be >= 0"),
])
def test_with_parameters_errors(values, match):
    prior = GaussianMixture([0.2, 0.3, 0.5], [[0.0], [1.0], [2.0]], [[[1.0]], [[0.5]], [[0.2]]])
    model = PushforwardModel(prior, ReLUNetwork.random([1, 3, 1], rng=0), 0.1)
    with pytest.raises(ValueError, match=match):
        model.with_parameters(values)


def test_population_nll_2d_latent_is_the_entropy_of_a_gaussian_mixture():
    """m = n = 2, linear f: P(X) is a Gaussian mixture; its entropy by a plain 2-D quadrature."""
    from scipy import stats

    A = np.array([[1.2, -0.4], [0.3, 0.9]])
    c = np.array([0.2, -0.1])
    prior = GaussianMixture([0.3, 0.7], [[-1.0, 0.5], [0.8, -0.2]],
                            [[[0.3, 0.1], [0.1, 0.2]], [[0.25, -0.05], [-0.05, 0.4]]])
    truth = PushforwardModel(prior, ReLUNetwork([A], [c]), 0.15)
    parts = [stats.multivariate_normal(A @ prior.means[j] + c,
                                       A @ prior.covariances[j] @ A.T + 0.15**2 * np.eye(2))
             for j in range(2)]
    g = [np.arange(-6.0, 6.0, 0.02)] * 2
    X = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 2)
    p = sum(w * part.pdf(X) for w, part in zip(prior.weights, parts))
    integrand = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0).reshape(len(g[0]), -1)
    entropy = np.trapezoid(np.trapezoid(integrand, g[1], axis=1), g[0])
    assert population_nll(truth, truth) == pytest.approx(entropy, abs=1e-8)


def test_gradient_2d_plain_relu_matches_finite_differences():
    rng = np.random.default_rng(4)
    prior = GaussianMixture([0.4, 0.6], rng.normal(size=(2, 2)),
                            [[[0.5, 0.1], [0.1, 0.3]], [[0.3, 0.0], [0.0, 0.6]]])
    model = PushforwardModel(prior, ReLUNetwork.random([2, 4, 3, 2], rng=rng), 0.25)
    X = model.sample(5, rng=5)
    grad = model.logpdf_grad(X)
    for col, (name, value) in enumerate(model.parameters().items()):
        if name.startswith("prior.weights"):
            continue
        h = 1e-6 * max(1.0, abs(value))
        fd = (model.with_parameters({name: value + h}).logpdf(X)
              - model.with_parameters({name: value - h}).logpdf(X)) / (2 * h)
        np.testing.assert_allclose(grad[:, col], fd, rtol=1e-6, atol=1e-6, err_msg=name)
