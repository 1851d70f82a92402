"""VaDE in PyTorch: the export to pwaffine is exact, the ELBO is below the exact likelihood.

Needs the ``vae`` extra (PyTorch), which CI installs.  Every fit here is tiny
(300 pinwheel points, one hidden layer of 16 units, 40 epochs): about half a
second each.
"""

import numpy as np
import pytest
import torch

from pwaffine import PushforwardModel
from pwaffine.datasets import pinwheel
from pwaffine.experiments.vade import FittedVaDE, VaDE, fit_vade

FIT = dict(n_components=3, hidden_layer_sizes=(16,), n_epochs=40, batch_size=50, lr=1e-2,
           n_pretrain_epochs=10, seed=0)

#: name -> (n_latent, negative_slope, covariance_type)
CASES = {
    "m2-relu-diag": (2, 0.0, "diag"),
    "m2-leaky-full": (2, 0.1, "full"),
    "m1-leaky-diag": (1, 0.2, "diag"),
}


@pytest.fixture(scope="module")
def X():
    return pinwheel(300, rng=0)[0]


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request, X):
    n_latent, slope, cov = CASES[request.param]
    return fit_vade(X, n_latent, negative_slope=slope, covariance_type=cov, **FIT)


def _as_numpy(tensor):
    return tensor.detach().numpy()


# ----------------------------------------------------------- (a) the export
def test_fit_returns_a_trained_model(fitted):
    assert isinstance(fitted, FittedVaDE) and isinstance(fitted.module, VaDE)
    assert fitted.elbo_history.shape == (40,) and fitted.pretrain_history.shape == (10,)
    assert fitted.elbo_history[-1] > fitted.elbo_history[0]  # training raised the ELBO
    assert all(p.dtype == torch.float64 for p in fitted.module.parameters())


def test_pushforward_decoder_equals_the_torch_decoder(fitted):
    model = fitted.to_pushforward()
    assert isinstance(model, PushforwardModel)
    assert model.network.negative_slope == fitted.module.negative_slope
    assert model.network.hidden_sizes == (16,)
    Z = 3.0 * np.random.default_rng(1).standard_normal((1000, fitted.n_latent))
    with torch.no_grad():
        expected = _as_numpy(fitted.module.decode(torch.from_numpy(Z)))
    # The same float64 weights; only the order of the additions may differ.
    np.testing.assert_allclose(model.network.forward(Z), expected, rtol=1e-12, atol=1e-12)


def test_pushforward_prior_equals_the_torch_prior(fitted):
    model = fitted.to_pushforward()
    Z = 2.0 * np.random.default_rng(2).standard_normal((1000, fitted.n_latent))
    with torch.no_grad():
        expected = _as_numpy(fitted.module.prior_log_prob(torch.from_numpy(Z)))
        weights = _as_numpy(torch.softmax(fitted.module.prior_logits, 0))
    np.testing.assert_allclose(model.prior.logpdf(Z), expected, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(model.prior.weights, weights, rtol=1e-14)
    np.testing.assert_array_equal(model.prior.means, _as_numpy(fitted.module.prior_means))


def test_pushforward_noise_is_the_torch_noise(fitted):
    model = fitted.to_pushforward()
    expected = float(torch.exp(fitted.module.log_noise_std.detach()))
    assert model.noise_std == expected
    np.testing.assert_array_equal(model.noise_vector, np.full(2, expected))


#: Tolerance of the importance-sampling check, by latent dimension (see the test).
IWAE_TOL = {2: 0.01, 1: 0.1}


def test_torch_joint_density_is_the_pushforward_density(fitted, X):
    """Importance sampling of the torch joint ``p(x | z) p(z)`` tends to pwaffine's ``log p(x)``.

    ``log mean_k p(x, z_k) / q(z_k | x)`` over ``K = 2000`` draws from the
    encoder (the IWAE bound) is below ``log p(x)`` in expectation and
    approaches it as ``K`` grows; the means over every other point (150) are
    compared.  Tolerances: for ``m = 2`` the encoder is a good proposal
    (per-point spread about 0.015 nats, so a standard error of 0.0013 on the
    mean, and a bias about 0.001), and 0.01 nats is far above both yet below
    the 0.02 that a noise standard deviation 10 % off would cause.  For
    ``m = 1`` the posterior of the latent curve through the pinwheel is
    multimodal and the weights are heavy-tailed (per-point spread 0.2, bias
    about 0.03): 0.1 nats, a check for gross mismatches only; (a) above
    checks the parameters themselves.
    """
    module, K, points = fitted.module, 2000, X[::2]
    generator = torch.Generator().manual_seed(0)
    iwae = []
    with torch.no_grad():
        for start in range(0, points.shape[0], 25):
            x = torch.from_numpy(points[start:start + 25])
            mean, log_var = module.encode(x)
            std = torch.exp(0.5 * log_var)
            eps = torch.randn((K,) + tuple(mean.shape), generator=generator,
                              dtype=torch.float64)
            z = mean + std * eps
            log_q = (-0.5 * eps**2 - torch.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)
            log_w = module.log_likelihood(x, z) + module.prior_log_prob(z) - log_q
            iwae.append(_as_numpy(torch.logsumexp(log_w, 0) - np.log(K)))
    exact = fitted.to_pushforward().score(points)
    assert abs(exact - np.mean(np.concatenate(iwae))) < IWAE_TOL[fitted.n_latent]


# ------------------------------------------------------------ (b) the bound
def test_exact_log_likelihood_exceeds_the_elbo(fitted, X):
    elbo = fitted.elbo(X)
    exact = fitted.to_pushforward().score(X)
    assert exact >= elbo
    # The assertion means something: the Monte Carlo error of the ELBO (1000 samples
    # per point, 300 points) is far below the gap.
    other = fitted.elbo(X, seed=1)
    assert abs(other - elbo) < 0.1 * (exact - elbo)


def test_elbo_samples_are_the_elbo_point_by_point(fitted, X):
    values = fitted.elbo_samples(X, n_mc=200, seed=3)
    assert values.shape == (300,) and values.dtype == np.float64
    assert fitted.elbo(X, n_mc=200, seed=3) == pytest.approx(values.mean(), rel=1e-15)
    # Blocks of points are processed independently of how many points are given.
    np.testing.assert_array_equal(fitted.elbo_samples(X, n_mc=200, seed=3), values)


def test_encode_gives_posterior_means(fitted, X):
    Z = fitted.encode(X)
    assert Z.shape == (300, fitted.n_latent) and Z.dtype == np.float64
    with torch.no_grad():
        expected = _as_numpy(fitted.module.encode(torch.from_numpy(X))[0])
    np.testing.assert_array_equal(Z, expected)


# ----------------------------------------------------------- (c) the seed
def test_refit_with_the_same_seed_gives_the_same_numbers(X):
    kwargs = dict(FIT, n_epochs=15)
    first, second = (fit_vade(X, 2, covariance_type="full", **kwargs) for _ in range(2))
    np.testing.assert_array_equal(first.elbo_history, second.elbo_history)
    for (name, a), (_, b) in zip(first.module.state_dict().items(),
                                 second.module.state_dict().items()):
        assert torch.equal(a, b), name
    assert first.elbo(X, n_mc=100) == second.elbo(X, n_mc=100)
    np.testing.assert_array_equal(first.encode(X), second.encode(X))
    other = fit_vade(X, 2, covariance_type="full", **dict(kwargs, seed=1))
    assert not np.array_equal(first.elbo_history, other.elbo_history)


def test_fit_leaves_torch_global_state_alone(X):
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit = fit_vade(X, 2, **dict(FIT, n_epochs=2, n_pretrain_epochs=1))
    fit.elbo(X, n_mc=10)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_latent_beyond_pwaffine_is_refused_at_export(X):
    fit = fit_vade(X, 3, 2, (4,), n_epochs=1, n_pretrain_epochs=0)
    assert fit.encode(X).shape == (300, 3)
    with pytest.raises(NotImplementedError):
        fit.to_pushforward()


# ------------------------------------------------------------ (d) bad input
@pytest.mark.parametrize("change, name", [
    ({"X": np.full((10, 2), np.nan)}, "X"),
    ({"X": np.zeros(10)}, "X"),
    ({"X": "data"}, "X"),
    ({"X": np.zeros((2, 2))}, "n_components"),
    ({"n_latent": 0}, "n_latent"),
    ({"n_latent": 2.0}, "n_latent"),
    ({"n_components": 0}, "n_components"),
    ({"hidden_layer_sizes": 8}, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": "8"}, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
    ({"negative_slope": -0.1}, "negative_slope"),
    ({"covariance_type": "spherical"}, "covariance_type"),
    ({"covariance_type": np.array(["diag", "full"])}, "covariance_type"),
    ({"n_epochs": -1}, "n_epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"lr": np.nan}, "lr"),
    ({"n_mc": 0}, "n_mc"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"seed": None}, "seed"),
    ({"n_pretrain_epochs": -1}, "n_pretrain_epochs"),
])
def test_fit_bad_input(X, change, name):
    args = dict(X=X, n_latent=2, n_components=3, hidden_layer_sizes=(4,))
    args.update(change)
    with pytest.raises(ValueError, match=name):
        fit_vade(**args)


@pytest.mark.parametrize("args, name", [
    ((0, 2, 3, (4,)), "n_features"),
    ((2, 2, 3, [4, -1]), "hidden_layer_sizes"),
    ((2, 2, 3, (4,), 0.0, "tied"), "covariance_type"),
])
def test_module_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        VaDE(*args)


def test_fitted_methods_bad_input(X):
    fit = fit_vade(X, 2, 3, (4,), n_epochs=1, n_pretrain_epochs=0)
    for call, name in [
        (lambda: fit.elbo(X[:, :1]), "X"),
        (lambda: fit.elbo(X[:0]), "at least one"),
        (lambda: fit.elbo(X, n_mc=0), "n_mc"),
        (lambda: fit.elbo(X, seed=-2), "seed"),
        (lambda: fit.elbo_samples(X.ravel()), "X"),
        (lambda: fit.encode(np.full((3, 2), np.inf)), "X"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()
