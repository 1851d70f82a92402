"""The exact density for a 2-D latent against independent references."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import networks, priors

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
from pwaffine._reference import logpdf_closed_form, logpdf_slices_2d


@st.composite
def models_2d(draw, n_outputs=st.integers(2, 3), noise=st.floats(0.05, 1.5)):
    network = draw(networks(n_inputs=2, n_outputs=n_outputs, depth=st.integers(1, 3),
                            width=st.integers(1, 5)))
    prior = draw(priors(n_features=2, n_components=st.integers(1, 3)))
    return PushforwardModel(prior, network, draw(noise))


@settings(max_examples=10)
@given(models_2d(noise=st.floats(0.1, 1.5)), st.integers(0, 2**32 - 1))
def test_logpdf_matches_slice_quadrature(model, seed):
    rng = np.random.default_rng(seed)
    X = model.sample(2, rng=rng)
    X[-1] += 3 * model.noise_vector * rng.choice([-1, 1], size=model.n_features)
    want = np.array([logpdf_slices_2d(model, x) for x in X])
    np.testing.assert_allclose(model.logpdf(X), want, rtol=0, atol=1e-9)


@settings(max_examples=30)
@given(networks(n_inputs=2, n_outputs=st.integers(2, 3)), priors(n_features=2))
def test_region_prior_masses_sum_to_one(network, prior):
    masses = np.exp(network.affine_regions().log_prior_masses(prior))
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)


def test_linear_network_gives_gaussian_mixture_2d():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    cov = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.2, -0.1], [-0.1, 0.6]]])
    prior = GaussianMixture([0.3, 0.7], [[0.0, 1.0], [-1.0, 0.5]], cov)
    model = PushforwardModel(prior, ReLUNetwork([W], [b]), [0.2, 0.3, 0.4])
    X = model.sample(40, rng=rng)
    D = np.diag([0.04, 0.09, 0.16])
    want = np.logaddexp.reduce([np.log(w) + stats.multivariate_normal(W @ m + b, W @ C @ W.T + D).logpdf(X)
                                for w, m, C in zip(prior.weights, prior.means, cov)], axis=0)
    np.testing.assert_allclose(model.logpdf(X), want, rtol=1e-13)


@settings(max_examples=20)
@given(models_2d(), st.data())
def test_invariances_2d(model, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    X = model.sample(6, rng=rng)
    base = model.logpdf(X)
    net = model.network
    if net.n_layers > 1:
        width = net.weights[0].shape[0]
        perm = list(data.draw(st.permutations(range(width))))
        t = np.exp(rng.uniform(-2, 2, width))
        W = [w.copy() for w in net.weights]
        B = [v.copy() for v in net.biases]
        W[0], B[0] = W[0][perm] * t[:, None], B[0][perm] * t
        W[1] = W[1][:, perm] / t
        other = PushforwardModel(model.prior, ReLUNetwork(W, B, net.negative_slope), model.noise_vector)
        np.testing.assert_allclose(other.logpdf(X), base, rtol=0, atol=1e-10)
    # An arbitrary invertible affine map h(z) = M z + b of the latent, with f o h^-1.
    M = rng.normal(size=(2, 2))
    assume_ok = abs(np.linalg.det(M)) > 0.2
    if not assume_ok:
        M = M + 2 * np.eye(2)
    shift = rng.normal(size=2)
    prior = model.prior
    new_prior = GaussianMixture(prior.weights, prior.means @ M.T + shift,
                                np.einsum("ab,jbc,dc->jad", M, prior.covariances, M))
    Minv = np.linalg.inv(M)
    W = [w.copy() for w in net.weights]
    B = [v.copy() for v in net.biases]
    B[0] = B[0] - W[0] @ Minv @ shift
    W[0] = W[0] @ Minv
    other = PushforwardModel(new_prior, ReLUNetwork(W, B, net.negative_slope), model.noise_vector)
    np.testing.assert_allclose(other.logpdf(X), base, rtol=0, atol=1e-10)


@settings(max_examples=4)
@given(networks(n_inputs=2, n_outputs=2, width=st.integers(1, 4), depth=st.integers(1, 2)),
       priors(n_features=2, n_components=st.integers(1, 2)), st.floats(0.4, 1.0))
def test_density_integrates_to_one_2d(network, prior, noise):
    model = PushforwardModel(prior, network, noise)
    # Box: the image of every component's +-8 sd box (a dense latent grid; f is
    # Lipschitz, so the grid misses at most a small fraction of a noise sd),
    # padded by 8 noise sd; the prior and noise mass outside is ~1e-15.
    sd = np.sqrt(np.diagonal(prior.covariances, axis1=1, axis2=2))
    zlo, zhi = (prior.means - 8 * sd).min(0), (prior.means + 8 * sd).max(0)
    g = [np.linspace(zlo[t], zhi[t], 301) for t in range(2)]
    fz = network.forward(np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 2))
    lo, hi = fz.min(axis=0) - 8 * noise, fz.max(axis=0) + 8 * noise
    step = noise / 3
    grids = [np.arange(lo[t], hi[t] + step, step) for t in range(2)]
    assume(grids[0].size * grids[1].size < 4e6)
    X = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, 2)
    dens = model.pdf(X).reshape(grids[0].size, grids[1].size)
    total = np.trapezoid(np.trapezoid(dens, grids[1], axis=1), grids[0])
    assert total == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=15)
@given(models_2d(), st.integers(0, 2**32 - 1))
def test_logpdf_matches_textbook_closed_form_2d(model, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([model.sample(5, rng=rng), 1e3 * rng.standard_normal((3, model.n_features))])
    out = model.logpdf(X)
    assert np.all(np.isfinite(out))
    # The textbook marginal loses ~1e-11 relative to cancellation far out (see
    # test_logpdf_matches_textbook_closed_form for the 1-D latent).
    np.testing.assert_allclose(out, logpdf_closed_form(model, X), rtol=1e-10, atol=1e-9)


def test_noiseless_2d():
    M = np.array([[2.0, 0.5], [-0.3, 1.0]])
    prior = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, -1.0]], [np.eye(2), 0.5 * np.eye(2)])
    lin = PushforwardModel(prior, ReLUNetwork([M], [[0.1, -0.2]]), 0.0)
    X = lin.sample(5, rng=0)
    Z = np.linalg.solve(M, (X - [0.1, -0.2]).T).T
    np.testing.assert_allclose(lin.logpdf(X), prior.logpdf(Z) - np.log(abs(np.linalg.det(M))),
                               rtol=1e-13)
    # Leaky ReLU layer: injective and piecewise linear; compare with the noisy limit.
    f = ReLUNetwork([[[1.0, 0.2], [-0.4, 1.0]], M], [[0.1, -0.3], [0.0, 0.0]], negative_slope=0.3)
    noiseless = PushforwardModel(prior, f, 0.0)
    x = f.forward(np.array([[0.7, 0.4], [-1.2, 0.3]]))
    noisy = PushforwardModel(prior, f, 1e-5)
    np.testing.assert_allclose(noisy.logpdf(x), noiseless.logpdf(x), atol=1e-6)
    relu = PushforwardModel(prior, ReLUNetwork([[[1.0, 0.0], [0.0, 1.0]], np.eye(2)],
                                               [[0.0, 0.0], [0.0, 0.0]]), 0.0)
    with pytest.raises(ValueError, match="atom"):
        relu.logpdf([[0.5, 0.5]])
    rank1 = PushforwardModel(prior, ReLUNetwork([[[1.0, 1.0], [2.0, 2.0]]], [[0.0, 0.0]]), 0.0)
    with pytest.raises(ValueError, match="lower-dimensional set"):
        rank1.logpdf([[0.5, 1.0]])


@settings(max_examples=15)
@given(models_2d(), st.integers(0, 2**32 - 1))
def test_tiered_terms_keep_the_density_exact(model, seed):
    """Loose polygon masses for far-below terms: the density stays within 1e-12 of the reference.

    In the bulk (points drawn from the model) against the textbook closed form,
    which evaluates every term at full accuracy; 30 noise standard deviations
    off the data the log error stays below 1e-12 as well.
    """
    rng = np.random.default_rng(seed)
    X = model.sample(6, rng=rng)
    away = model.sample(3, rng=rng) + 30.0 * model.noise_vector * rng.choice([-1, 1], (3, model.n_features))
    np.testing.assert_allclose(model.logpdf(X), logpdf_closed_form(model, X), rtol=0, atol=1e-12)
    ref = logpdf_closed_form(model, away)
    assert np.all(np.abs(model.logpdf(away) - ref) <= 1e-12 * np.maximum(1.0, np.abs(ref)))


def _kernel_terms_against_reference(model, X):
    """Each point's terms as the kernel computes them, against full-accuracy polygon masses.

    The reference is ``log_std_polygon_mass``: the fan where it certifies a
    relative error of 1e-14 (near the mean, where the polar rule can be off
    by 3e-13), the polar quadrature elsewhere.

    Returns, per point, ``sum |term - reference|`` over all terms, those the
    kernel skipped (by a bound, or as within their share of the error
    budget) counting in full, in units of the largest term (the density is
    at least that).  Also checks that the treatment the kernel records for
    each term (``work[5]``) matches what it returned.
    """
    from pwaffine._kernels import polygons as kp
    from pwaffine._kernels.polygon_mass import log_std_polygon_mass

    model.logpdf(X[:1])
    t = model._tables
    out = []
    for top, work in t.point_terms(X):
        terms, gauss, line, tier = work[1].copy(), work[0], work[2], work[5]
        evaluated = np.isin(tier, [kp.TIER_WHOLE_PLANE, kp.TIER_FAN, kp.TIER_LOOSE, kp.TIER_FULL])
        assert np.array_equal(evaluated, terms > -np.inf)
        total = 0.0
        for idx in range(terms.size):
            nx, ny, h = t.polygon(idx, line)
            ref = gauss[idx]  # a region that is the whole plane has mass 1
            if h.size:
                ref += log_std_polygon_mass(nx, ny, h, h.size)
            total += abs(np.exp(terms[idx] - top) - np.exp(ref - top))
        out.append(total)
    return np.array(out)


@settings(max_examples=10)
@given(models_2d(noise=st.floats(0.01, 1.0)), st.integers(0, 2**32 - 1))
def test_fan_terms_stay_within_their_error_budget(model, seed):
    """The fan of Owen's T values and the skipped terms change a point's density by at most FAN_RTOL (8e-13).

    Every term against full-accuracy masses (themselves accurate to ~5e-14
    relative, which the tolerance adds), in units of the largest term.
    """
    from pwaffine._kernels.polygons import FAN_RTOL

    X = model.sample(8, rng=np.random.default_rng(seed))
    assert np.all(_kernel_terms_against_reference(model, X) <= FAN_RTOL + 5e-14 * model.prior.n_components
                  * model.network.affine_regions().n_regions)


def _benchmark_model(noise):
    """The 2-D benchmark's model (``benchmarks/bench_2d.py``): a 2-8-8-3 network, J = 3."""
    prior = GaussianMixture([0.3, 0.5, 0.2], [[-1.0, 0.5], [0.0, 0.0], [1.5, -0.5]],
                            [0.3 * np.eye(2), [[0.5, 0.1], [0.1, 0.4]], 0.2 * np.eye(2)])
    return PushforwardModel(prior, ReLUNetwork.random([2, 8, 8, 3], rng=0), noise)


@pytest.mark.parametrize("noise", [0.01, 0.2, 1.0])
def test_fan_budget_on_a_deep_network(noise):
    # The benchmark's network: many terms per point near the largest one.
    model = _benchmark_model(noise)
    from pwaffine._kernels.polygons import FAN_RTOL

    X = model.sample(40, rng=np.random.default_rng(1))
    assert np.all(_kernel_terms_against_reference(model, X) <= FAN_RTOL)


def test_terms_skipped_from_the_pool_fit_the_pool():
    # The benchmark's network at noise 0.2, where the skips' pool serves about
    # 7% of the terms that would otherwise get a fan mass.  Each point's terms
    # skipped from the pool, at their full-accuracy values, add up to at most
    # the pool (in units of the largest term), and the pool is used.
    from pwaffine._kernels import polygons as kp
    from pwaffine._kernels.polygon_mass import log_std_polygon_mass

    model = _benchmark_model(0.2)
    X = model.sample(40, rng=np.random.default_rng(2))
    model.logpdf(X[:1])
    t = model._tables
    n_pool = 0
    for top, work in t.point_terms(X):
        pooled = np.flatnonzero(work[5] == kp.TIER_POOL)
        n_pool += pooled.size
        total = 0.0
        for idx in pooled:
            nx, ny, h = t.polygon(idx, work[2])
            total += np.exp(work[0][idx] + log_std_polygon_mass(nx, ny, h, h.size) - top)
        assert total <= kp._SKIP_POOL
    assert n_pool > 0


def test_far_point_whose_largest_term_has_an_underflowing_mass():
    # Found by hypothesis: 1e3 noise scales off the data the largest term's Gaussian
    # part is 1e6 nats above the others and its polygon mass is exp(-1.1e6).  The fan
    # then underflows to 0 with an error bound of 0, which must not drop the term.
    network = ReLUNetwork(
        [[[0.1336809282724566, -0.3696389678257356], [-0.2920800325933515, -1.7263781423104132]],
         [[-0.23010869470220222, 0.5471638848019457], [0.1988459715559288, -0.3916118832114155]]],
        [[2.699561074081353, 1.7162488080558431], [1.4663511766890536, -0.46583481998872883]],
        negative_slope=0.05)
    prior = GaussianMixture(
        [0.6901606162262288, 0.3098393837737711],
        [[-1.32311038769102, -2.5438337925387877], [3.3716888187442766, -1.480125693953927]],
        [[[2.0862798353636225, 0.15564553266050415], [0.15564553266050415, 0.8226751043098177]],
         [[0.2338457015210203, -0.4010084755141332], [-0.4010084755141332, 2.2138218445130704]]])
    model = PushforwardModel(prior, network, 1.0 / 3.0)
    X = np.array([[783.1809961440773, 2056.7028183423686], [-1504.83141386432, 841.4588934539998]])
    np.testing.assert_allclose(model.logpdf(X), logpdf_closed_form(model, X), rtol=1e-10)
