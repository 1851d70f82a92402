"""Walk the whole capability table: every (m, n, noise) combination and every feature is either
computed right, against an independent reference, or refused with an error that names it.

References per feature:

* density, noisy: the textbook closed form (``logpdf_closed_form``: scipy's
  ``multivariate_normal``, the conditioning formulas, every term) and, for a
  2-D latent, quadrature over ``z1`` of exact 1-D densities;
* density, noiseless: the small-noise limit of the (separately checked) noisy
  density, ``log p_0(x) = log p_s(x) + (n - m) log(sqrt(2 pi) s) + O(s^2)`` at
  points on the image;
* gradient: central finite differences of ``logpdf`` in every parameter;
* population NLL: the entropy of the model by scipy quadrature (n = 1) or a
  fine trapezoid grid (n = 2);
* Fisher information: the closed form of a Gaussian ``N(m(theta), C(theta))``
  (a linear network and one component), ``I = dm^T C^-1 dm + tr(C^-1 dC C^-1 dC) / 2``;
* equivalence: a model mapped by a known affine map of the latent, hidden-unit
  permutation and rescaling must be found equivalent with that map, and a
  perturbed one must not.
"""

import itertools

import numpy as np
import pytest
from scipy import integrate

from pwaffine import (GaussianMixture, PushforwardModel, ReLUNetwork, find_equivalence,
                      fisher_information, population_nll)
from pwaffine._reference import logpdf_closed_form, logpdf_slices_2d
from pwaffine.inference.fisher import free_parameters
from pwaffine.model.capabilities import CAPABILITIES, FEATURES, combination, supports

COMBINATIONS = list(itertools.product((1, 2, 3), (1, 2, 3), (True, False)))


def _prior(m, rng, n_components=2):
    means = rng.normal(0.0, 1.0, (n_components, m))
    B = rng.normal(size=(n_components, m, m))
    cov = B @ np.swapaxes(B, 1, 2) / m + 0.3 * np.eye(m)
    return GaussianMixture(rng.dirichlet(np.full(n_components, 3.0)), means, cov)


def _network(m, n, rng, hidden=(4,)):
    return ReLUNetwork.random([m, *hidden, n], negative_slope=0.1, bias_scale=0.8, rng=rng)


def _model(m, n, noisy, seed=0, hidden=(4,), n_components=2):
    rng = np.random.default_rng(100 * m + 10 * n + noisy + seed)
    return PushforwardModel(_prior(m, rng, n_components), _network(m, n, rng, hidden),
                            0.3 if noisy else 0.0)


def _refused(call, m, n, noisy):
    label = f"(m={m}, n={combination(m, n, noisy)[1]}, {'noisy' if noisy else 'noiseless'})"
    with pytest.raises(NotImplementedError, match=label.replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+")):
        call()


# --------------------------------------------------------------------------- the table itself
def test_table_lists_only_known_features_and_every_model_has_density():
    for key, features in CAPABILITIES.items():
        assert features <= set(FEATURES), key
        assert "density" in features, key
        assert key[0] in (1, 2) and key[1] in ("1", "2", "3+")


@pytest.mark.parametrize("m,n,noisy", [c for c in COMBINATIONS
                                       if combination(*c) not in CAPABILITIES])
def test_combinations_outside_the_table_are_refused_at_construction(m, n, noisy):
    rng = np.random.default_rng(0)
    with pytest.raises(NotImplementedError, match="PushforwardModel is not available"):
        PushforwardModel(_prior(m, rng), _network(m, n, rng), 0.3 if noisy else 0.0)


SUPPORTED = [c for c in COMBINATIONS if combination(*c) in CAPABILITIES]


def _ids(c):
    return f"m={c[0]}-n={c[1]}-{'noisy' if c[2] else 'noiseless'}"


# --------------------------------------------------------------------------- density
def _image_points(model, n_points=6, seed=1):
    """Points f(z) for z drawn from the prior, kept away from region boundaries."""
    rng = np.random.default_rng(seed)
    regions = model.network.affine_regions()
    Z = model.prior.sample(200, rng=rng)
    if model.n_latent == 1:
        dist = np.min(np.abs(Z - regions.breakpoints[None, :]), axis=1, initial=np.inf)
    else:
        dist = np.full(len(Z), np.inf)
        k = regions.locate(Z)
        for i, z in enumerate(Z):
            normals, offsets = regions.halfplanes(k[i])
            if len(offsets):
                dist[i] = np.min(offsets - normals @ z)
    return model.network.forward(Z[dist > 1e-2][:n_points])


@pytest.mark.parametrize("m,n,noisy", SUPPORTED, ids=[_ids(c) for c in SUPPORTED])
def test_density(m, n, noisy):
    model = _model(m, n, noisy)
    if noisy:
        X = model.sample(6, rng=3)
        got = model.logpdf(X)
        np.testing.assert_allclose(got, logpdf_closed_form(model, X), rtol=1e-10, atol=1e-10)
        if m == 2:
            ref = [logpdf_slices_2d(model, x) for x in X[:2]]
            np.testing.assert_allclose(got[:2], ref, rtol=1e-8, atol=1e-8)
        return
    X = _image_points(model)
    noise = 1e-6
    noisy_model = PushforwardModel(model.prior, model.network, noise)
    want = noisy_model.logpdf(X) + (n - m) * np.log(np.sqrt(2 * np.pi) * noise)
    # O(noise^2) from the smoothing of the noisy density, relative to the scale
    # on which the noiseless density varies (~0.1 here): ~1e-10.
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-8, atol=1e-8)


# --------------------------------------------------------------------------- gradient
@pytest.mark.parametrize("m,n,noisy", SUPPORTED, ids=[_ids(c) for c in SUPPORTED])
def test_gradient(m, n, noisy):
    model = _model(m, n, noisy)
    X = model.sample(4, rng=5) if noisy else _image_points(model, 4)
    if not supports(m, n, noisy, "gradient"):
        _refused(lambda: model.logpdf_grad(X), m, n, noisy)
        return
    grad = model.logpdf_grad(X)
    params = model.parameters()
    assert grad.shape == (len(X), len(params))
    for col, (name, value) in enumerate(params.items()):
        if name.startswith("prior.weights"):
            continue  # raw partials of unnormalised weights; checked in test_likelihood
        h = 1e-6 * max(1.0, abs(value))
        up = model.with_parameters({name: value + h}).logpdf(X)
        down = model.with_parameters({name: value - h}).logpdf(X)
        np.testing.assert_allclose(grad[:, col], (up - down) / (2 * h), rtol=1e-6, atol=1e-6,
                                   err_msg=name)


# --------------------------------------------------------------------------- population NLL
@pytest.mark.parametrize("m,n,noisy", SUPPORTED, ids=[_ids(c) for c in SUPPORTED])
def test_population_nll(m, n, noisy):
    model = _model(m, n, noisy)
    if not supports(m, n, noisy, "population_nll"):
        _refused(lambda: population_nll(model, model), m, n, noisy)
        return
    got = population_nll(model, model)
    if n == 1:
        f = lambda x: -model.pdf([[x]])[0] * model.logpdf([[x]])[0]  # noqa: E731
        lo, hi = model.sample(2000, rng=0)[:, 0].min() - 5, model.sample(2000, rng=0)[:, 0].max() + 5
        want = integrate.quad(f, lo, hi, limit=500, epsabs=1e-12, epsrel=1e-12)[0]
    else:
        # The image of the prior's mass, padded by ten noise sds.
        sd = np.sqrt(np.diagonal(model.prior.covariances, axis1=1, axis2=2))
        axes = [np.linspace((model.prior.means[:, d] - 10 * sd[:, d]).min(),
                            (model.prior.means[:, d] + 10 * sd[:, d]).max(), 20001 if m == 1 else 401)
                for d in range(m)]
        S = model.network.forward(np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, m))
        g = [np.arange(S[:, t].min() - 3, S[:, t].max() + 3, 0.03) for t in range(2)]
        X = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 2)
        log_p = model.logpdf(X).reshape(g[0].size, g[1].size)
        trapezoid = lambda F: np.trapezoid(np.trapezoid(F, g[1], axis=1), g[0])  # noqa: E731
        assert trapezoid(np.exp(log_p)) == pytest.approx(1.0, abs=1e-10)  # the grid holds the mass
        want = trapezoid(-np.exp(log_p) * log_p)
    assert got == pytest.approx(want, abs=1e-7)


# --------------------------------------------------------------------------- Fisher
def _gaussian_fisher(model, names, h=1e-6):
    """Fisher information of N(A mu + c, A S A^T + s^2 I) for a linear model with one component."""
    def moments(m):
        A, c = m.network.weights[0], m.network.biases[0]
        mean = A @ m.prior.means[0] + c
        cov = A @ m.prior.covariances[0] @ A.T + np.diag(m.noise_vector**2)
        return mean, cov

    mean, cov = moments(model)
    inv = np.linalg.inv(cov)
    params = model.parameters()
    d_mean, d_cov = [], []
    for name in names:
        up = moments(model.with_parameters({name: params[name] + h}))
        down = moments(model.with_parameters({name: params[name] - h}))
        d_mean.append((up[0] - down[0]) / (2 * h))
        d_cov.append((up[1] - down[1]) / (2 * h))
    P = len(names)
    out = np.empty((P, P))
    for a in range(P):
        for b in range(P):
            out[a, b] = (d_mean[a] @ inv @ d_mean[b]
                         + 0.5 * np.trace(inv @ d_cov[a] @ inv @ d_cov[b]))
    return out


@pytest.mark.parametrize("m,n,noisy", SUPPORTED, ids=[_ids(c) for c in SUPPORTED])
def test_fisher(m, n, noisy):
    model = _model(m, n, noisy, hidden=(), n_components=1)
    if not supports(m, n, noisy, "fisher"):
        _refused(lambda: fisher_information(model), m, n, noisy)
        return
    n_samples = 200_000
    info = fisher_information(model, n_samples=n_samples, rng=0)
    assert info.names == tuple(free_parameters(model))
    want = _gaussian_fisher(model, info.names)
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    err = np.abs(info.matrix - want) / scale
    if n <= 2:
        assert err.max() < 1e-6  # quadrature over x
    else:
        # Monte Carlo over 200000 samples: the entries' relative standard errors
        # are about sqrt(kurtosis / 200000) < 0.01 here; 0.05 is five of them.
        assert err.max() < 0.05


# --------------------------------------------------------------------------- equivalence
def _mapped(model, matrix, offset, perm, factors):
    """(h#P, f o h^-1) with h(z) = matrix z + offset, hidden units permuted and rescaled."""
    net = model.network
    W1 = np.linalg.solve(matrix.T, net.weights[0].T).T  # rows W1[i] M^-1
    b1 = net.biases[0] - W1 @ offset
    W1, b1 = W1[perm] * factors[:, None], b1[perm] * factors
    W2 = net.weights[1][:, perm] / factors
    prior = GaussianMixture(model.prior.weights, model.prior.means @ matrix.T + offset,
                            matrix @ model.prior.covariances @ matrix.T)
    return PushforwardModel(prior, ReLUNetwork([W1, W2], [b1, net.biases[1]],
                                               net.negative_slope), model.noise_vector)


@pytest.mark.parametrize("m,n,noisy", SUPPORTED, ids=[_ids(c) for c in SUPPORTED])
def test_equivalence(m, n, noisy):
    model = _model(m, n, noisy)
    if not supports(m, n, noisy, "equivalence"):
        _refused(lambda: find_equivalence(model, model), m, n, noisy)
        return
    perm = np.array([2, 0, 3, 1])
    matrix = np.array([[-1.7]]) if m == 1 else np.array([[-1.7, 0.3], [0.4, 0.9]])
    offset = np.full(m, 0.4)
    other = _mapped(model, matrix, offset, perm, np.array([2.0, 0.5, 1.0, 3.0]))
    eq = find_equivalence(model, other)
    assert eq is not None
    np.testing.assert_allclose(eq.matrix, matrix, rtol=1e-10)
    np.testing.assert_allclose(eq.offset, offset, rtol=0, atol=1e-10)
    assert eq.verify(model, other) < 1e-9
    shifted = other.with_parameters({"network.biases[1][0]": other.network.biases[1][0] + 1e-3})
    assert find_equivalence(model, shifted) is None
