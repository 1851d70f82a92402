"""Latent-space and prior metrics, and condition (P2) (``pwaffine.metrics``)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from strategies import priors

from pwaffine import GaussianMixture
from pwaffine.identifiability import metrics
from pwaffine import check_p2, dist_aff_l2, l2_distance, mcc


# --------------------------------------------------------------------------- helpers
def _independent_latents(n, m, seed):
    return np.random.default_rng(seed).standard_normal((n, m))


def _noise_bound(n_score, m, n_sd=5.0):
    """Upper bound for the MCC of unrelated latents.

    Out of sample, each scored correlation of independent variables is about
    N(0, 1/n_score) whatever the fitted matching, so |r| has mean
    sqrt(2 / (pi n)) and variance (1 - 2/pi) / n; the mean of m of them stays
    below mean + n_sd * sd with probability > 1 - 1e-6 for n_sd = 5.
    """
    mean = np.sqrt(2.0 / (np.pi * n_score))
    sd = np.sqrt((1.0 - 2.0 / np.pi) / n_score / m)
    return mean + n_sd * sd


def _image(prior, matrix, offset):
    """h#prior for h(z) = matrix z + offset, built directly."""
    matrix = np.asarray(matrix, float)
    cov = matrix @ prior.covariances @ matrix.T
    return GaussianMixture(prior.weights, prior.means @ matrix.T + offset,
                           0.5 * (cov + np.swapaxes(cov, 1, 2)))


def _mix1(weights, means, variances):
    return GaussianMixture(weights, np.asarray(means, float)[:, None],
                           np.asarray(variances, float)[:, None, None])


# ========================================================================= MCC
@pytest.mark.parametrize("kind", ["strong", "weak"])
def test_mcc_identical_latents_is_one(kind):
    Z = _independent_latents(500, 3, seed=0)
    result = mcc(Z, Z, kind=kind, rng=1)
    assert result.value == pytest.approx(1.0, abs=1e-12)
    assert float(result) == result.value
    assert result.fit_value == pytest.approx(1.0, abs=1e-12)
    if kind == "strong":
        np.testing.assert_array_equal(result.matching, [0, 1, 2])


def test_mcc_strong_is_one_under_permutation_and_scaling():
    Z = _independent_latents(600, 3, seed=1)
    perm = np.array([2, 0, 1])
    Z_est = Z[:, perm] * np.array([-3.0, 0.5, 7.0]) + np.array([1.0, -2.0, 0.3])
    result = mcc(Z, Z_est, rng=2)
    assert result.value == pytest.approx(1.0, abs=1e-12)
    # Z_est[:, k] = scale * Z[:, perm[k]], so Z[:, i] pairs with the k where perm[k] = i.
    np.testing.assert_array_equal(result.matching, np.argsort(perm))
    assert mcc(Z, Z_est, kind="weak", rng=2).value == pytest.approx(1.0, abs=1e-12)


def test_mcc_rotation_strong_below_one_weak_one():
    n = 4000
    Z = _independent_latents(n, 2, seed=3)
    c = np.cos(np.pi / 4)
    Z_est = Z @ np.array([[c, -c], [c, c]]) + 5.0
    strong = mcc(Z, Z_est, rng=4)
    # Each coordinate of Z_est has correlation cos(45 deg) = 0.7071 with each of Z's;
    # the sample correlation has sd (1 - rho^2) / sqrt(n_score) = 0.011, so 0.05 is
    # more than 4 sd for the mean of the two.
    assert strong.value == pytest.approx(c, abs=0.05)
    assert strong.value < 0.8
    # Z_est is an exact linear image of Z, so the canonical correlations are 1 on any rows.
    weak = mcc(Z, Z_est, kind="weak", rng=4)
    assert weak.value == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(weak.fit_correlations, 1.0, atol=1e-10)


@pytest.mark.parametrize("kind", ["strong", "weak"])
def test_mcc_independent_noise_is_near_zero(kind):
    n, m = 4000, 3
    result = mcc(_independent_latents(n, m, seed=5), _independent_latents(n, m, seed=6),
                 kind=kind, rng=7)
    assert 0.0 <= result.value < _noise_bound(len(result.score_index), m)  # ~0.057


def test_mcc_one_dimensional_weak_equals_strong():
    rng = np.random.default_rng(8)
    z = rng.standard_normal((300, 1))
    z_est = np.tanh(z) + 0.3 * rng.standard_normal((300, 1))
    strong, weak = mcc(z, z_est, rng=9), mcc(z, z_est, kind="weak", rng=9)
    assert weak.value == pytest.approx(strong.value, rel=1e-12)


def test_mcc_split_partitions_rows():
    Z = _independent_latents(101, 2, seed=10)
    result = mcc(Z, Z, rng=11, split=0.3)
    assert len(result.fit_index) == round(0.3 * 101)
    both = np.concatenate([result.fit_index, result.score_index])
    np.testing.assert_array_equal(np.sort(both), np.arange(101))
    again = mcc(Z, Z, rng=11, split=0.3)
    np.testing.assert_array_equal(again.fit_index, result.fit_index)


def test_mcc_strong_matching_is_fitted_on_one_part_and_scored_on_the_other():
    n = 4000
    Z = _independent_latents(n, 2, seed=12)
    split = mcc(Z, Z, rng=13)  # the split depends only on (n, rng, split)
    fit, score = split.fit_index, split.score_index
    # Z_est equals Z on the fitting rows but has its coordinates swapped on the others.
    Z_est = Z.copy()
    Z_est[score] = Z[score][:, ::-1]
    result = mcc(Z, Z_est, rng=13)
    np.testing.assert_array_equal(result.fit_index, fit)
    np.testing.assert_array_equal(result.matching, [0, 1])  # learned on the fitting rows
    assert result.fit_value == pytest.approx(1.0, abs=1e-12)
    # ... and applied to the scoring rows, where the pairs are unrelated.
    assert result.value < _noise_bound(len(score), 2)
    # Re-matching on the scoring rows would have found the swap.
    in_sample = mcc(Z[score], Z_est[score], rng=0)
    np.testing.assert_array_equal(in_sample.matching, [1, 0])


def test_mcc_weak_projections_are_fitted_on_one_part_and_scored_on_the_other():
    n = 4000
    rng = np.random.default_rng(14)
    Z = rng.standard_normal((n, 2))
    split = mcc(Z, Z, kind="weak", rng=15)
    Z_est = Z @ np.array([[2.0, 1.0], [-1.0, 3.0]])
    Z_est[split.score_index] = rng.standard_normal((len(split.score_index), 2))
    result = mcc(Z, Z_est, kind="weak", rng=15)
    assert result.fit_value == pytest.approx(1.0, abs=1e-10)
    assert result.value < _noise_bound(len(split.score_index), 2)


def test_mcc_strong_matches_reference():
    rng = np.random.default_rng(16)
    Z = rng.standard_normal((400, 3))
    Z_est = Z @ rng.standard_normal((3, 3)) + 0.5 * rng.standard_normal((400, 3))
    result = mcc(Z, Z_est, rng=17, split=0.4)
    m = 3
    C_fit = np.abs(np.corrcoef(Z[result.fit_index], Z_est[result.fit_index], rowvar=False)[:m, m:])
    _, cols = optimize.linear_sum_assignment(C_fit, maximize=True)
    C_score = np.abs(np.corrcoef(Z[result.score_index], Z_est[result.score_index],
                                 rowvar=False)[:m, m:])
    np.testing.assert_array_equal(result.matching, cols)
    np.testing.assert_allclose(result.fit_correlations, C_fit[np.arange(m), cols], rtol=1e-12)
    np.testing.assert_allclose(result.correlations, C_score[np.arange(m), cols], rtol=1e-12)
    assert result.value == pytest.approx(C_score[np.arange(m), cols].mean(), rel=1e-12)


def test_mcc_weak_matches_reference_cca():
    rng = np.random.default_rng(18)
    n, m = 500, 3
    Z = rng.standard_normal((n, m)) * [1.0, 3.0, 0.2]
    Z_est = np.tanh(Z @ rng.standard_normal((m, m))) + 0.3 * rng.standard_normal((n, m))
    result = mcc(Z, Z_est, kind="weak", rng=19)
    X, Y = Z[result.fit_index], Z_est[result.fit_index]
    # Reference: squared canonical correlations are the eigenvalues of
    # Sxx^-1 Sxy Syy^-1 Syx (textbook form, from the covariance blocks).
    S = np.cov(X, Y, rowvar=False)
    Sxx, Sxy, Syy = S[:m, :m], S[:m, m:], S[m:, m:]
    eig = np.linalg.eigvals(np.linalg.solve(Sxx, Sxy) @ np.linalg.solve(Syy, Sxy.T))
    np.testing.assert_allclose(result.fit_correlations, np.sqrt(np.sort(eig.real)[::-1]),
                               rtol=1e-9)
    W_true, W_est = result.projections
    U, V = X @ W_true, Y @ W_est
    # Defining properties on the fitting rows: unit variance, uncorrelated within each
    # set, diagonal cross-covariance equal to the canonical correlations.
    np.testing.assert_allclose(np.cov(U, rowvar=False), np.eye(m), atol=1e-10)
    np.testing.assert_allclose(np.cov(V, rowvar=False), np.eye(m), atol=1e-10)
    np.testing.assert_allclose(np.cov(U, V, rowvar=False)[:m, m:],
                               np.diag(result.fit_correlations), atol=1e-10)
    # Scored correlations: the k-th variates on the scoring rows.
    U_s, V_s = Z[result.score_index] @ W_true, Z_est[result.score_index] @ W_est
    expected = [abs(np.corrcoef(U_s[:, k], V_s[:, k])[0, 1]) for k in range(m)]
    np.testing.assert_allclose(result.correlations, expected, rtol=1e-10)
    assert result.matching is None


@pytest.mark.parametrize(
    "Z_true,Z_est,kwargs,match",
    [
        (np.zeros((10, 2)), np.zeros((10, 3)), {}, r"Z_est must have the shape of Z_true"),
        (np.zeros((10, 2)), np.zeros((9, 2)), {}, r"Z_est must have the shape of Z_true"),
        (np.zeros(10), np.zeros(10), {}, r"Z_true must be 2-dimensional"),
        (np.ones((10, 2)), np.full((10, 2), np.nan), {}, r"Z_est contains NaN"),
        (np.ones((10, 2)), np.full((10, 2), np.inf), {}, r"Z_est contains infinite"),
        (np.zeros((0, 2)), np.zeros((0, 2)), {}, r"Z_true must not be empty"),
        (None, None, dict(kind="medium"), r"kind must be 'strong' or 'weak'"),
        (None, None, dict(kind=None), r"kind must be 'strong' or 'weak'"),
        (None, None, dict(split=0.0), r"split must be > 0"),
        (None, None, dict(split=1.0), r"split must be < 1"),
        (None, None, dict(split=1.5), r"split must be <= 1"),
        (None, None, dict(split="half"), r"split must be a real number"),
        (None, None, dict(rng="seed"), r"rng must be"),
        (None, None, dict(split=0.01), r"leaves 0 fitting and 40 scoring"),
        (None, None, dict(kind="weak", split=0.08), r"weak MCC needs at least 4"),
    ],
)
def test_mcc_errors(Z_true, Z_est, kwargs, match):
    if Z_true is None:
        Z_true = Z_est = _independent_latents(40, 3, seed=20)
    with pytest.raises(ValueError, match=match):
        mcc(Z_true, Z_est, **kwargs)


def test_mcc_degenerate_columns_errors():
    Z = _independent_latents(40, 3, seed=21)
    constant = Z.copy()
    constant[:, 1] = 2.0
    with pytest.raises(ValueError, match=r"Z_est\[:, 1\] is constant on the fitting"):
        mcc(Z, constant, rng=0)
    collinear = Z.copy()
    collinear[:, 2] = collinear[:, 0] - 2.0 * collinear[:, 1]
    with pytest.raises(ValueError, match=r"Z_true has collinear coordinates"):
        mcc(collinear, Z, kind="weak", rng=0)
    assert 0.0 < mcc(collinear, Z, kind="strong", rng=0).value <= 1.0  # strong is defined


# ================================================================== L2 distance
def test_l2_distance_1d_against_quadrature():
    p = _mix1([0.2, 0.5, 0.3], [-2.0, 0.5, 1.5], [0.3, 1.0, 0.05])
    q = _mix1([0.6, 0.4], [0.0, 2.0], [2.0, 0.4])
    a, b = -1.7, 0.4

    def pdf_p(x):  # density of h#p, h(z) = a z + b: p((x - b) / a) / |a|
        z = (x - b) / a
        return sum(w * stats.norm.pdf(z, mu, np.sqrt(v)) for w, mu, v in
                   zip([0.2, 0.5, 0.3], [-2.0, 0.5, 1.5], [0.3, 1.0, 0.05])) / abs(a)

    def pdf_q(x):
        return 0.6 * stats.norm.pdf(x, 0.0, np.sqrt(2.0)) + 0.4 * stats.norm.pdf(x, 2.0,
                                                                              np.sqrt(0.4))

    def quad(f):
        return integrate.quad(f, -np.inf, np.inf, epsabs=0.0, epsrel=1e-13, limit=500)[0]

    sq = quad(lambda x: (pdf_p(x) - pdf_q(x)) ** 2)
    pp, qq = quad(lambda x: pdf_p(x) ** 2), quad(lambda x: pdf_q(x) ** 2)
    got_raw = l2_distance(p, q, [[a]], [b], normalize=False)
    got = l2_distance(p, q, [[a]], [b])
    assert got_raw == pytest.approx(np.sqrt(sq), rel=1e-9)
    assert got == pytest.approx(np.sqrt(sq / np.sqrt(pp * qq)), rel=1e-9)


def test_l2_distance_2d_against_grid():
    p = GaussianMixture([0.3, 0.7], [[-1.0, 0.5], [1.0, -0.5]],
                        [[[1.0, 0.4], [0.4, 0.6]], [[0.5, -0.2], [-0.2, 1.2]]])
    q = GaussianMixture([0.5, 0.25, 0.25], [[0.0, 0.0], [1.5, 1.0], [-1.0, 1.0]],
                        [np.eye(2), [[0.6, 0.1], [0.1, 0.4]], [[2.0, 0.0], [0.0, 0.5]]])
    A, b = np.array([[1.2, -0.3], [0.4, 0.8]]), np.array([0.2, -0.1])
    # Trapezoid rule on a fine grid: for integrands made of Gaussians with sd >= 0.3
    # and step 0.04 the (aliasing) error is of order exp(-pi^2 0.3^2 / 0.04^2) ~ 1e-241,
    # and the box [-15, 15]^2 leaves out mass below 1e-20.
    t = np.linspace(-15.0, 15.0, 751)
    X = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)
    h = t[1] - t[0]
    f_q = q.pdf(X)
    f_p = p.pdf(np.linalg.solve(A, (X - b).T).T) / abs(np.linalg.det(A))
    sq = np.sum((f_p - f_q) ** 2) * h * h
    pp, qq = np.sum(f_p**2) * h * h, np.sum(f_q**2) * h * h
    assert l2_distance(p, q, A, b, normalize=False) == pytest.approx(np.sqrt(sq), rel=1e-9)
    assert l2_distance(p, q, A, b) == pytest.approx(np.sqrt(sq / np.sqrt(pp * qq)), rel=1e-9)


def test_l2_distance_zero_weight_and_identity():
    p = _mix1([0.0, 1.0], [5.0, 0.0], [1.0, 1.0])
    q = _mix1([1.0], [0.0], [1.0])
    assert l2_distance(p, q) == 0.0
    assert l2_distance(q, q, [[-1.0]]) == pytest.approx(0.0, abs=1e-8)


@settings(max_examples=25)
@given(p=priors(n_features=2), q=priors(n_features=2), seed=st.integers(0, 2**32 - 1))
def test_l2_distance_invariant_under_common_affine_map_and_symmetric(p, q, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    A = Q @ np.diag(np.exp(rng.uniform(-1.0, 1.0, 2)))
    b = rng.normal(0.0, 2.0, 2)
    base = l2_distance(p, q)
    # Rounding: the squared distance carries an absolute error ~ eps * cond of the
    # covariances (<= ~1e4 here), so compare squared values to 1e-10.
    assert l2_distance(_image(p, A, b), _image(q, A, b)) ** 2 == pytest.approx(base**2,
                                                                               abs=1e-10)
    assert l2_distance(q, p) ** 2 == pytest.approx(base**2, abs=1e-10)
    assert l2_distance(p, q, A, b) ** 2 == pytest.approx(l2_distance(_image(p, A, b), q) ** 2,
                                                         abs=1e-10)


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (("p", "q"), {}, "p1 must be a GaussianMixture"),
        ((None, None), {}, "p1 must be a GaussianMixture"),
        ((_mix1([1.0], [0.0], [1.0]), GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])), {},
         r"same dimension; got p1.n_features=1 and p2.n_features=2"),
        ((_mix1([1.0], [0.0], [1.0]), _mix1([1.0], [0.0], [1.0])), dict(matrix=[[0.0]]),
         "matrix must be invertible"),
        ((_mix1([1.0], [0.0], [1.0]), _mix1([1.0], [0.0], [1.0])), dict(matrix=[1.0]),
         r"matrix must have shape \(1, 1\)"),
        ((_mix1([1.0], [0.0], [1.0]), _mix1([1.0], [0.0], [1.0])), dict(offset=[np.nan]),
         "offset contains NaN"),
        ((_mix1([1.0], [0.0], [1.0]), _mix1([1.0], [0.0], [1.0])), dict(normalize="yes"),
         "normalize must be a bool"),
    ],
)
def test_l2_distance_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        l2_distance(*args, **kwargs)


# =========================================================== affine-invariant distance
def test_objective_gradient_matches_finite_differences():
    rng = np.random.default_rng(22)
    p = GaussianMixture([0.2, 0.8], rng.normal(size=(2, 2)), [np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])
    q = GaussianMixture([0.5, 0.3, 0.2], rng.normal(size=(3, 2)), np.stack([np.eye(2)] * 3) * 0.7)
    log_pp = metrics._log_inner(p.weights, p.means, p.covariances,
                                p.weights, p.means, p.covariances)  # log ||p||^2
    log_qq = metrics._log_inner(q.weights, q.means, q.covariances,
                                q.weights, q.means, q.covariances)
    problem = (p.weights, p.means, p.covariances, q.weights, q.means, q.covariances,
               log_pp, log_qq)
    theta = np.concatenate([(np.eye(2) + 0.3 * rng.standard_normal((2, 2))).ravel(),
                            rng.standard_normal(2)])
    value, grad = metrics._objective_and_gradient(theta, *problem)
    B, c = theta[:4].reshape(2, 2), theta[4:]
    assert value == pytest.approx(l2_distance(p, q, B, c) ** 2, rel=1e-12)
    step = 1e-6
    fd = [(metrics._objective_and_gradient(theta + step * e, *problem)[0]
           - metrics._objective_and_gradient(theta - step * e, *problem)[0]) / (2 * step)
          for e in np.eye(6)]
    # Central differences: truncation ~ step^2 * f''' ~ 1e-12, rounding ~ eps / step ~ 1e-10.
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "prior,matrix,offset",
    [
        (_mix1([0.3, 0.5, 0.2], [-2.0, 0.0, 1.5], [0.5, 1.0, 0.3]), [[-0.4]], [3.0]),
        (GaussianMixture([0.2, 0.3, 0.5], [[0.0, 0.0], [2.0, 0.5], [-1.0, 1.5]],
                         [np.eye(2), [[0.5, 0.2], [0.2, 0.8]], [[1.5, -0.3], [-0.3, 0.4]]]),
         [[0.0, 2.0], [-1.5, 0.5]], [1.0, -2.0]),
        (GaussianMixture([0.5, 0.5], [[0.0, 0.0], [3.0, 0.0]],  # det < 0: a reflection
                         [[[1.0, 0.0], [0.0, 0.3]], [[0.3, 0.0], [0.0, 1.0]]]),
         [[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0]),
    ],
)
def test_dist_aff_of_affine_image_is_zero(prior, matrix, offset):
    image = _image(prior, matrix, offset)
    result = dist_aff_l2(prior, image, n_starts=4, rng=0)
    # The closed form resolves normalised distances down to sqrt(eps * cond) ~ 1e-7
    # for these well-conditioned covariances (see l2_distance, Notes).
    assert result.value < 1e-6
    assert l2_distance(prior, image, result.matrix, result.offset) == result.value
    if prior.n_components == 3:  # no symmetry: the map is unique
        np.testing.assert_allclose(result.matrix, matrix, atol=1e-6)
        np.testing.assert_allclose(result.offset, offset, atol=1e-6)


@settings(max_examples=8)
@given(prior=priors(n_features=2, n_components=st.integers(1, 3)),
       seed=st.integers(0, 2**32 - 1))
def test_dist_aff_of_random_affine_image_is_zero(prior, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    A = Q @ np.diag(np.exp(rng.uniform(-1.0, 1.0, 2)))
    image = _image(prior, A, rng.normal(0.0, 2.0, 2))
    # Drawn covariances have condition numbers up to ~1e3 and A up to e^2, so the
    # resolution floor sqrt(eps * cond) is up to ~3e-6.
    assert dist_aff_l2(prior, image, n_starts=2, rng=0).value < 1e-5


def test_dist_aff_1d_matches_brute_force_search():
    p = _mix1([0.5, 0.5], [-1.0, 1.5], [0.3, 1.0])
    q = _mix1([0.2, 0.5, 0.3], [-2.0, 0.0, 2.0], [0.4, 0.4, 0.4])
    w1, m1, v1 = p.weights, p.means[:, 0], p.covariances[:, 0, 0]
    w2, m2, v2 = q.weights, q.means[:, 0], q.covariances[:, 0, 0]

    def inner(wa, ma, va, wb, mb, vb):  # vectorised over leading axes of ma, va
        return sum(wa[i] * wb[j] * stats.norm.pdf(ma[..., i], mb[..., j],
                                               np.sqrt(va[..., i] + vb[..., j]))
                   for i in range(len(wa)) for j in range(len(wb)))

    def quotient_sq(a, b):  # ||h#p - q||^2 / (||h#p|| ||q||), h(z) = a z + b
        ma, va = a[..., None] * m1 + b[..., None], a[..., None] ** 2 * v1
        pp, qq = inner(w1, ma, va, w1, ma, va), inner(w2, m2, v2, w2, m2, v2)
        return (pp + qq - 2.0 * inner(w1, ma, va, w2, m2, v2)) / np.sqrt(pp * qq)

    scales = np.exp(np.linspace(np.log(0.05), np.log(20.0), 300))
    a, b = np.meshgrid(np.concatenate([-scales, scales]), np.linspace(-8.0, 8.0, 321))
    values = quotient_sq(a, b)
    k = np.argmin(values)
    polish = optimize.minimize(lambda x: quotient_sq(np.array(x[0]), np.array(x[1])),
                               [a.flat[k], b.flat[k]], method="Nelder-Mead",
                               options=dict(xatol=1e-10, fatol=1e-15, maxiter=4000))
    reference = np.sqrt(polish.fun)
    result = dist_aff_l2(p, q, n_starts=4, rng=0)
    assert reference > 0.1  # genuinely different: a 2-component and a 3-component shape
    # Both are minimisers of the same smooth function: agree to the optimisers' accuracy.
    assert result.value == pytest.approx(reference, rel=1e-6)
    assert result.matrix[0, 0] == pytest.approx(polish.x[0], rel=1e-4)


def test_dist_aff_positive_and_symmetric_for_different_mixtures():
    gaussian = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    three = GaussianMixture([1 / 3] * 3, [[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]],
                            np.stack([np.eye(2) * 0.3] * 3))
    forward = dist_aff_l2(gaussian, three, n_starts=3, rng=1)
    backward = dist_aff_l2(three, gaussian, n_starts=3, rng=1)
    # Any affine image of a Gaussian is a Gaussian; three separated bumps are far from it.
    assert forward.value > 0.5
    # Symmetry of the normalised quotient (see dist_aff_l2, Notes): two independent
    # searches reach the same minimum to the optimiser's accuracy.
    assert forward.value == pytest.approx(backward.value, rel=1e-6)
    # The minimum is no worse than the moment-matching start's value.
    moment = metrics._mixture_moments
    mean1, chol1 = moment(gaussian.weights, gaussian.means, gaussian.covariances)
    mean2, chol2 = moment(three.weights, three.means, three.covariances)
    A = chol2 @ np.linalg.inv(chol1)
    assert forward.value <= l2_distance(gaussian, three, A, mean2 - A @ mean1) + 1e-12
    assert len(forward.start_values) == len(forward.start_kinds)
    assert forward.start_kinds[:2] == ("moment", "moment-reflected")


def test_dist_aff_many_components_uses_sampled_pairings():
    rng = np.random.default_rng(23)
    J, _m = 7, 1  # 7! = 5040 pairings > 720: sorted-weight pairing plus random ones
    prior = _mix1(rng.dirichlet(np.full(J, 3.0)), rng.normal(0.0, 3.0, J),
                  rng.uniform(0.2, 1.0, J))
    assert dist_aff_l2(prior, _image(prior, [[2.5]], [-1.0]), n_starts=2, rng=0).value < 1e-6


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_starts=-1), "n_starts must be >= 0"),
        (dict(n_starts=2.5), "n_starts must be an integer"),
        (dict(maxiter=0), "maxiter must be >= 1"),
        (dict(rng="seed"), "rng must be"),
    ],
)
def test_dist_aff_errors(kwargs, match):
    p = _mix1([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match=match):
        dist_aff_l2(p, p, **kwargs)
    with pytest.raises(ValueError, match="p2 must be a GaussianMixture"):
        dist_aff_l2(p, [[0.0]])
    with pytest.raises(ValueError, match="same dimension"):
        dist_aff_l2(p, GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)]))


# ============================================================================ (P2)
def test_p2_diagonal_with_distinct_ratios_holds():
    prior = GaussianMixture.from_std([0.4, 0.6], np.zeros((2, 3)),
                                     [[1.0, 1.0, 1.0], [1.0, 2.0, 0.5]])
    verdict = check_p2(prior)
    assert verdict.holds and bool(verdict)
    assert verdict.witnesses["components"] == [0, 1]
    np.testing.assert_allclose(verdict.witnesses["ratios"], [1.0, 0.25, 4.0], rtol=1e-14)
    assert verdict.witnesses["min_log_gap"] == pytest.approx(np.log(4.0), rel=1e-12)


def test_p2_equal_ratios_fail_until_a_good_pair_exists():
    stds = [[1.0, 2.0, 3.0], [2.0, 4.0, 1.0]]  # variance ratios 1/4, 1/4, 9: not distinct
    prior = GaussianMixture.from_std([0.5, 0.5], np.zeros((2, 3)), stds)
    verdict = check_p2(prior)
    assert not verdict.holds
    assert verdict.witnesses["components"] == [0, 1]
    assert sorted(verdict.witnesses["coordinates"]) == [0, 1]
    assert "equal variance ratios" in verdict.reason
    # A third component gives pairs with distinct ratios: (0, 2) with 1, 4, 9/4 and
    # (1, 2) with 4, 16, 1/4; the latter has the larger smallest log gap, log 4.
    three = GaussianMixture.from_std([0.3, 0.3, 0.4], np.zeros((3, 3)),
                                     stds + [[1.0, 1.0, 2.0]])
    verdict = check_p2(three)
    assert verdict.holds
    assert verdict.witnesses["components"] == [1, 2]
    np.testing.assert_allclose(verdict.witnesses["ratios"], [4.0, 16.0, 0.25], rtol=1e-14)
    assert verdict.witnesses["min_log_gap"] == pytest.approx(np.log(4.0), rel=1e-12)


def test_p2_isotropic_scaling_fails():
    prior = GaussianMixture.from_std([0.5, 0.5], np.zeros((2, 2)), [1.0, 3.0])
    assert not check_p2(prior).holds


def test_p2_full_covariance_fails():
    cov = np.array([[[1.0, 0.5], [0.5, 2.0]], [[1.0, 0.0], [0.0, 3.0]]])
    verdict = check_p2(GaussianMixture([0.5, 0.5], np.zeros((2, 2)), cov))
    assert not verdict.holds
    assert verdict.witnesses["component"] == 0
    assert verdict.witnesses["coordinates"] == [0, 1]
    assert verdict.witnesses["correlation"] == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-14)


def test_p2_tolerance():
    eps = 1e-9  # ratios 1 and 1 + 1e-9: equal at the default rtol, distinct at 1e-12
    cov = np.array([np.eye(2), np.diag([1.0, 1.0 + eps])])
    prior = GaussianMixture([0.5, 0.5], np.zeros((2, 2)), cov)
    assert not check_p2(prior).holds
    assert check_p2(prior, rtol=1e-12).holds
    tiny = np.array([[[1.0, 1e-9], [1e-9, 1.0]], np.diag([2.0, 3.0])])
    assert check_p2(GaussianMixture([0.5, 0.5], np.zeros((2, 2)), tiny)).holds
    assert not check_p2(GaussianMixture([0.5, 0.5], np.zeros((2, 2)), tiny), rtol=1e-12).holds


def test_p2_needs_two_components_with_positive_weight():
    one = GaussianMixture.from_std([1.0], [[0.0, 0.0]], [[1.0, 2.0]])
    verdict = check_p2(one)
    assert not verdict.holds and verdict.witnesses == {"n_components": 1}
    # A zero-weight component is not a state of U.
    padded = GaussianMixture.from_std([1.0, 0.0], np.zeros((2, 2)), [[1.0, 2.0], [1.0, 1.0]])
    assert not check_p2(padded).holds


def test_p2_one_dimensional_latent():
    assert check_p2(_mix1([0.5, 0.5], [0.0, 1.0], [1.0, 1.0])).holds
    verdict = check_p2(_mix1([1.0], [0.0], [1.0]))
    assert not verdict.holds and verdict.witnesses["n_components"] == 1


@settings(max_examples=30)
@given(prior=priors(n_features=3, n_components=st.integers(1, 3)),
       seed=st.integers(0, 2**32 - 1))
def test_p2_invariant_under_permutation_and_scaling(prior, seed):
    rng = np.random.default_rng(seed)
    diag = GaussianMixture.from_std(prior.weights, prior.means,
                                    np.sqrt(np.diagonal(prior.covariances, axis1=1, axis2=2)))
    perm = rng.permutation(3)
    D = np.diag(rng.choice([-1.0, 1.0], 3) * np.exp(rng.uniform(-2.0, 2.0, 3)))[perm]
    for mixture in (prior, diag):
        assert check_p2(_image(mixture, D, rng.normal(size=3))).holds == check_p2(mixture).holds


@pytest.mark.parametrize(
    "prior,rtol,match",
    [
        ("prior", 1e-6, "prior must be a GaussianMixture"),
        (None, -1.0, "rtol must be >= 0"),
        (None, np.nan, "rtol must be finite"),
        (None, "small", "rtol must be a real number"),
    ],
)
def test_p2_errors(prior, rtol, match):
    if prior is None:
        prior = _mix1([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match=match):
        check_p2(prior, rtol=rtol)
