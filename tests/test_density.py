"""The exact density of x = f(z) + eps for a 1-D latent against independent references."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import models, networks, priors

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
from pwaffine._reference import logpdf_closed_form, logpdf_mpmath, logpdf_quad


def _test_points(model, rng, n=3):
    """Samples of the model plus one point a few noise levels off the data."""
    X = model.sample(n, rng=rng)
    X[-1] += 4.0 * model.noise_vector * rng.choice([-1, 1], size=model.n_features)
    return X


# ---------------------------------------------------------------- references
@settings(max_examples=40)
@given(models(), st.integers(0, 2**32 - 1))
def test_logpdf_matches_quad(model, seed):
    X = _test_points(model, np.random.default_rng(seed))
    got = model.logpdf(X)
    want = np.array([logpdf_quad(model, x) for x in X])
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@settings(max_examples=60)
@given(models(), st.integers(0, 2**32 - 1))
def test_logpdf_matches_textbook_closed_form(model, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([_test_points(model, rng, 20), 30 * rng.standard_normal((5, model.n_features))])
    # The textbook evaluation (full covariance, log_ndtr differences) loses up
    # to ~1e-11 relative to cancellation for far points (the kernel agrees with
    # 50-digit mpmath to 1e-15 there, see test_far_points_match_mpmath).
    np.testing.assert_allclose(model.logpdf(X), logpdf_closed_form(model, X), rtol=1e-10, atol=1e-9)


@settings(max_examples=15)
@given(networks(n_outputs=1), priors(), st.floats(0.01, 2.0))
def test_density_integrates_to_one_n1(network, prior, noise):
    model = PushforwardModel(prior, network, noise)
    lo, hi = _image_range(model)
    # Trapezoid rule on a smooth, rapidly decaying integrand: the error is
    # ~exp(-2 pi^2 (noise/h)^2), i.e. far below 1e-12 for h = noise / 4.
    x = np.arange(lo, hi, noise / 4.0)
    total = np.trapezoid(model.pdf(x[:, None]), x)
    assert total == pytest.approx(1.0, abs=1e-10)


@settings(max_examples=6)
@given(networks(n_outputs=2, width=st.integers(1, 5)), priors(), st.floats(0.3, 1.5))
def test_density_integrates_to_one_n2(network, prior, noise):
    model = PushforwardModel(prior, network, noise)
    box = _image_box(model)
    step = noise / 3.0
    grids = [np.arange(lo, hi + step, step) for lo, hi in box]
    if grids[0].size * grids[1].size > 3e6:
        assume(False)  # too large a box for a quick test
    X = np.stack(np.meshgrid(*grids, indexing="ij"), axis=-1).reshape(-1, 2)
    dens = model.pdf(X).reshape(grids[0].size, grids[1].size)
    total = np.trapezoid(np.trapezoid(dens, grids[1], axis=1), grids[0])
    assert total == pytest.approx(1.0, abs=1e-9)


def _image_samples(model, n_sd=9.0):
    prior = model.prior
    sd = np.sqrt(prior.covariances[:, 0, 0])
    z = np.concatenate([np.linspace(m - n_sd * s, m + n_sd * s, 2001)
                        for m, s in zip(prior.means[:, 0], sd)])
    return model.network.forward(z[:, None])


def _image_range(model):
    fz = _image_samples(model)[:, 0]
    pad = 12.0 * model.noise_vector[0]
    return fz.min() - pad, fz.max() + pad


def _image_box(model):
    fz = _image_samples(model, n_sd=7.5)
    pad = 8.0 * model.noise_vector
    return [(fz[:, t].min() - pad[t], fz[:, t].max() + pad[t]) for t in range(fz.shape[1])]


def test_linear_network_gives_gaussian_mixture():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 1)), rng.normal(size=3)
    prior = GaussianMixture([0.2, 0.5, 0.3], [[-1.0], [0.5], [2.0]], [[[0.3]], [[1.0]], [[0.05]]])
    model = PushforwardModel(prior, ReLUNetwork([W], [b]), [0.1, 0.5, 1.0])
    X = model.sample(50, rng=rng)
    D = np.diag([0.01, 0.25, 1.0])
    want = np.logaddexp.reduce(
        [np.log(w) + stats.multivariate_normal(W[:, 0] * m[0] + b, c[0, 0] * W @ W.T + D).logpdf(X)
         for w, m, c in zip(prior.weights, prior.means, prior.covariances)],
        axis=0,
    )
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------- invariances
def _permute_units(network, layer, perm):
    W = [w.copy() for w in network.weights]
    b = [v.copy() for v in network.biases]
    W[layer], b[layer] = W[layer][perm], b[layer][perm]
    W[layer + 1] = W[layer + 1][:, perm]
    return ReLUNetwork(W, b, network.negative_slope)


def _rescale_unit(network, layer, unit, t):
    W = [w.copy() for w in network.weights]
    b = [v.copy() for v in network.biases]
    W[layer][unit] *= t
    b[layer][unit] *= t
    W[layer + 1][:, unit] /= t
    return ReLUNetwork(W, b, network.negative_slope)


def _affine_latent(model, scale, shift):
    """(h#P, f o h^-1) for h(z) = scale * z + shift."""
    prior, net = model.prior, model.network
    new_prior = GaussianMixture(prior.weights, scale * prior.means + shift,
                                scale**2 * prior.covariances)
    W = [w.copy() for w in net.weights]
    b = [v.copy() for v in net.biases]
    b[0] = b[0] - W[0][:, 0] * shift / scale
    W[0] = W[0] / scale
    return PushforwardModel(new_prior, ReLUNetwork(W, b, net.negative_slope), model.noise_vector)


@settings(max_examples=40)
@given(models(), st.data())
def test_invariances(model, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    X = _test_points(model, rng, 10)
    base = model.logpdf(X)
    net = model.network
    if net.n_layers > 1:
        layer = data.draw(st.integers(0, net.n_layers - 2))
        width = net.weights[layer].shape[0]
        perm = data.draw(st.permutations(range(width)))
        permuted = PushforwardModel(model.prior, _permute_units(net, layer, list(perm)), model.noise_vector)
        np.testing.assert_allclose(permuted.logpdf(X), base, rtol=0, atol=1e-10)
        t = data.draw(st.floats(0.05, 20.0))
        unit = data.draw(st.integers(0, width - 1))
        scaled = PushforwardModel(model.prior, _rescale_unit(net, layer, unit, t), model.noise_vector)
        np.testing.assert_allclose(scaled.logpdf(X), base, rtol=0, atol=1e-10)
    scale = data.draw(st.floats(0.2, 5.0)) * data.draw(st.sampled_from([-1.0, 1.0]))
    shift = data.draw(st.floats(-5.0, 5.0))
    np.testing.assert_allclose(_affine_latent(model, scale, shift).logpdf(X), base, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- tails, limits
@settings(max_examples=25)
@given(models(), st.integers(0, 2**32 - 1))
def test_far_points_are_finite(model, seed):
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal((6, model.n_features))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    X = model.sample(6, rng=rng) + 1e3 * direction
    out = model.logpdf(X)
    assert np.all(np.isfinite(out))
    want = np.array([logpdf_mpmath(model, x) for x in X[:3]])
    np.testing.assert_allclose(out[:3], want, rtol=1e-14)


def test_far_point_exact_value():
    # f(z) = z, N(0, 1) prior, noise 0.1: x ~ N(0, 1.01) exactly.
    model = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                             ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
    X = np.array([[1e3], [-1e4], [37.5]])
    want = stats.norm(0, np.sqrt(1.01)).logpdf(X[:, 0])
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-14)


@settings(max_examples=25)
@given(networks(), priors(), st.data())
def test_small_noise_approaches_noiseless(network, prior, data):
    noiseless = PushforwardModel(prior, network, 0.0)
    regions = network.affine_regions()
    assume(not np.any(np.all(regions.linear == 0, axis=(1, 2))))  # no atoms
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    z = prior.sample(8, rng=rng)
    x = network.forward(z)
    sigma = 1e-5
    # Keep points whose neighbourhood (100 sigma in z and in x) holds no kink image
    # and, for n > 1, no other branch of the curve: there the limit is smooth.
    bp = regions.breakpoints
    kink_x = network.forward(bp[:, None]) if bp.size else np.empty((0, x.shape[1]))
    slopes = np.linalg.norm(regions.linear[regions.locate(z), :, 0], axis=1)
    ok = np.ones(len(z), bool)
    for i in range(len(z)):
        if bp.size and np.min(np.abs(bp - z[i, 0])) * slopes[i] < 1e3 * sigma:
            ok[i] = False
        if kink_x.size and np.min(np.linalg.norm(kink_x - x[i], axis=1)) < 1e3 * sigma:
            ok[i] = False
    assume(ok.any())
    x = x[ok]
    noisy = PushforwardModel(prior, network, sigma)
    n = x.shape[1]
    # Noisy density on the curve ~ noiseless density times the (n-1)-dim normal
    # density at its mode; the error is O(sigma^2 * curvature of the prior) plus
    # the contribution of other branches, which for n > 1 decays like exp(-d^2/2sigma^2).
    want = noiseless.logpdf(x) - 0.5 * (n - 1) * np.log(2 * np.pi * sigma**2)
    got = noisy.logpdf(x)
    if n == 1:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    else:
        # Another branch of the image may pass within a few sigma of the point
        # (self-intersection): then the noisy density is larger, never smaller.
        assert np.all(got >= want - 1e-6)
        close = np.abs(got - want) < 1e-6
        assert close.mean() >= 0.5


# ---------------------------------------------------------------- noiseless
def test_noiseless_abs_network():
    # f(z) = |z|: p(x) = p_Z(x) + p_Z(-x) for x > 0, zero for x < 0.
    prior = GaussianMixture([0.4, 0.6], [[-0.5], [1.0]], [[[0.5]], [[0.8]]])
    f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    model = PushforwardModel(prior, f, 0.0)
    x = np.array([[0.3], [1.7], [4.0]])
    want = np.logaddexp(prior.logpdf(x), prior.logpdf(-x))
    np.testing.assert_allclose(model.logpdf(x), want, rtol=1e-14)
    assert model.logpdf([[-0.5]])[0] == -np.inf


def test_noiseless_curve_density_is_arc_length():
    # f(z) = (z, 2 z + 1): density w.r.t. arc length is p_Z(z) / sqrt(5).
    prior = GaussianMixture([1.0], [[0.3]], [[[0.7]]])
    f = ReLUNetwork([[[1.0], [2.0]]], [[0.0, 1.0]])
    model = PushforwardModel(prior, f, 0.0)
    z = np.array([[-1.0], [0.2], [2.5]])
    x = f.forward(z)
    np.testing.assert_allclose(model.logpdf(x), prior.logpdf(z) - 0.5 * np.log(5.0), rtol=1e-14)
    off = x + np.array([1e-3, 0.0])
    assert np.all(model.logpdf(off) == -np.inf)


@settings(max_examples=20)
@given(networks(n_outputs=1), priors())
def test_noiseless_n1_integrates_to_one(network, prior):
    model = PushforwardModel(prior, network, 0.0)
    regions = network.affine_regions()
    assume(not np.any(np.all(regions.linear == 0, axis=(1, 2))))
    # Quadrature over x, split where p_X jumps: at the images of the kinks.
    from scipy import integrate

    fz = network.forward(np.linspace(-60, 60, 2001)[:, None])[:, 0]
    kinks = network.forward(regions.breakpoints[:, None])[:, 0]
    pts = np.unique(np.concatenate((fz[[0, -1]], kinks)))
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        total += integrate.quad(lambda t: model.pdf([[t]])[0], a, b, epsabs=1e-13, epsrel=1e-12,
                                limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-8)


def test_noiseless_atom_raises():
    prior = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    relu = ReLUNetwork([[[1.0]], [[2.0]]], [[0.0], [0.5]])  # f(z) = 2 relu(z) + 0.5
    model = PushforwardModel(prior, relu, 0.0)
    with pytest.raises(ValueError, match=r"atom.*\[0\.5\].*\(-inf, 0\).*mass 0\.5"):
        model.logpdf([[1.0]])
    # With noise the same model has a density.
    assert np.isfinite(PushforwardModel(prior, relu, 0.1).logpdf([[0.5]])).all()


def test_pdf_and_score_samples():
    rng = np.random.default_rng(3)
    model = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                             ReLUNetwork.random([1, 4, 2], rng=rng), 0.2)
    X = model.sample(7, rng=rng)
    np.testing.assert_array_equal(model.score_samples(X), model.logpdf(X))
    np.testing.assert_allclose(model.pdf(X), np.exp(model.logpdf(X)), rtol=1e-15)
    assert model.logpdf(np.empty((0, 2))).shape == (0,)


def test_sample_is_reproducible_and_has_the_right_law():
    rng = np.random.default_rng(0)
    model = PushforwardModel(GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [[[0.2]], [[0.5]]]),
                             ReLUNetwork.random([1, 5, 1], rng=rng), 0.3)
    X1, Z1 = model.sample(20000, rng=7, return_latent=True)
    X2 = model.sample(20000, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(X1, X2)
    assert Z1.shape == (20000, 1)
    # Kolmogorov-Smirnov against the exact CDF (trapezoid of the exact pdf).
    grid = np.linspace(X1.min() - 2, X1.max() + 2, 20001)
    cdf = np.concatenate(([0.0], np.cumsum(np.diff(grid) * 0.5 *
                                           (model.pdf(grid[1:, None]) + model.pdf(grid[:-1, None])))))
    p = stats.kstest(X1[:, 0], lambda t: np.interp(t, grid, cdf)).pvalue
    assert p > 1e-4
