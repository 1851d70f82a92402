"""Affine equivalence and canonical forms of models with a 2-D latent (``m = 2``).

Written for the capability table that lists ``equivalence`` for every ``m = 2``
combination.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
from pwaffine.identifiability.equivalence import (
    Equivalence,
    canonical_form,
    find_equivalence,
)


# --------------------------------------------------------------------------- helpers
def rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def random_map(rng):
    """A random invertible ``(M, c)``; ``det M < 0`` (a reflection) half of the time."""
    M = (rotation(rng.uniform(0, 2 * np.pi))
         @ np.diag(rng.choice([-1.0, 1.0], 2) * rng.uniform(0.3, 3.0, 2))
         @ rotation(rng.uniform(0, 2 * np.pi)))
    return M, rng.uniform(-3.0, 3.0, 2)


@st.composite
def models_2d(draw, depth=st.sampled_from([2, 3]), n_components=st.integers(1, 3),
              n_outputs=st.sampled_from([1, 2, 3]), noise=0.3):
    """Random 2-D models: plain or leaky, one or two hidden layers (at least two units each),
    full or diagonal covariances."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_layers, J, n = draw(depth), draw(n_components), draw(n_outputs)
    widths = [int(rng.integers(2, 6 if n_layers == 2 else 5)) for _ in range(n_layers - 1)]
    net = ReLUNetwork.random([2, *widths, n], negative_slope=draw(st.sampled_from([0.0, 0.2])),
                             bias_scale=1.0, rng=rng)
    means = rng.normal(0.0, 1.5, (J, 2))
    if draw(st.booleans()):
        A = rng.normal(size=(J, 2, 2))
        cov = A @ np.swapaxes(A, 1, 2) / 2 + 0.1 * np.eye(2)
    else:
        cov = np.zeros((J, 2, 2))
        cov[:, [0, 1], [0, 1]] = rng.uniform(0.2, 2.0, (J, 2))
    return PushforwardModel(GaussianMixture(rng.dirichlet(np.full(J, 2.0)), means, cov), net,
                            noise)


def _activate(x, slope):
    return np.where(x > 0, x, slope * x)


def transformed(model, rng, *, split_unit=False, dead_unit=False, constant_unit=False,
                zero_components=0, split_component=False):
    """An equivalent copy of ``model``: returns (copy, M, c).

    The latent is mapped by a random ``h(z) = M z + c``, components permuted,
    the hidden units of every layer permuted and rescaled by ``t > 0``, and
    optionally (one hidden layer): a unit split into two rescaled copies, a
    dead unit, a constant unit compensated in the output bias; zero-weight
    components; a component split into two halves.
    """
    M, c = random_map(rng)
    prior = model.prior
    w, mu = list(prior.weights), list(prior.means @ M.T + c)
    cov = list(M @ prior.covariances @ M.T)
    if split_component:
        j = rng.integers(len(w))
        w[j] /= 2
        w.append(w[j]), mu.append(mu[j]), cov.append(cov[j])
    for _ in range(zero_components):
        A = rng.normal(size=(2, 2))
        w.append(0.0), mu.append(rng.normal(0.0, 5.0, 2)), cov.append(A @ A.T + 0.1 * np.eye(2))
    perm = rng.permutation(len(w))
    new_prior = GaussianMixture(np.array(w)[perm], np.array(mu)[perm], np.array(cov)[perm])

    net = model.network
    slope = net.negative_slope
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    Minv = np.linalg.inv(M)
    bs[0] = bs[0] - Ws[0] @ Minv @ c
    Ws[0] = Ws[0] @ Minv
    for layer in range(net.n_layers - 1):
        p = rng.permutation(Ws[layer].shape[0])
        t = rng.uniform(0.2, 5.0, p.size)
        Ws[layer], bs[layer] = Ws[layer][p] * t[:, None], bs[layer][p] * t
        Ws[layer + 1] = Ws[layer + 1][:, p] / t[None, :]
    if net.n_layers == 2:
        W1, b1, W2, b2 = Ws[0], bs[0], Ws[1], bs[1]
        n = W2.shape[0]
        if split_unit:
            i = rng.integers(W1.shape[0])
            t2 = rng.uniform(0.2, 5.0)
            W1, b1 = np.vstack([W1, t2 * W1[i]]), np.append(b1, t2 * b1[i])
            W2 = np.hstack([W2, W2[:, [i]] / (2 * t2)])
            W2[:, i] /= 2
        if dead_unit:
            W1, b1 = np.vstack([W1, rng.normal(size=(1, 2))]), np.append(b1, rng.normal())
            W2 = np.hstack([W2, np.zeros((n, 1))])
        if constant_unit:
            p_, q = rng.normal(), rng.normal(size=n)
            W1, b1 = np.vstack([W1, np.zeros((1, 2))]), np.append(b1, p_)
            W2 = np.hstack([W2, q[:, None]])
            b2 = b2 - q * _activate(p_, slope)
        Ws, bs = [W1, W2], [b1, b2]
    copy = PushforwardModel(new_prior, ReLUNetwork(Ws, bs, negative_slope=slope),
                            model.noise_std)
    return copy, M, c


def model_scale(model):
    """Size of the numbers a model's functions produce, for absolute tolerances."""
    net = model.network
    pts = np.concatenate([model.prior.means - 5, model.prior.means + 5,
                          net.affine_regions().points])
    return 1.0 + np.abs(net.forward(pts)).max() + np.abs(pts).max()


def assert_valid(eq, a, b):
    """``eq`` maps a onto b: recomputed discrepancy at rounding level."""
    assert isinstance(eq, Equivalence)
    assert eq.residual_ratio <= 1.0
    size = (1 + np.abs(eq.matrix).max()) * (1 + np.abs(eq.offset).max())
    assert eq.verify(a, b) <= 1e-8 * max(1.0, 1e-3 * model_scale(b) * size)


def assert_map(eq, M, c):
    np.testing.assert_allclose(eq.matrix, M, rtol=0, atol=1e-8 * np.abs(M).max())
    np.testing.assert_allclose(eq.offset, c, rtol=0, atol=1e-8 * (1 + np.abs(c).max()))


def logpdf_gap(model_a, model_b, rng):
    X = np.concatenate([model_a.sample(100, rng=rng), model_b.sample(100, rng=rng)])
    return np.abs(model_a.logpdf(X) - model_b.logpdf(X)).max()


def model_arrays(model):
    net = model.network
    return ([model.prior.weights, model.prior.means, model.prior.covariances,
             np.atleast_1d(model.noise_std)] + list(net.weights) + list(net.biases))


def assert_same_model(p, q, atol=1e-9):
    ap, aq = model_arrays(p), model_arrays(q)
    assert [x.shape for x in ap] == [y.shape for y in aq]
    assert p.network.negative_slope == q.network.negative_slope
    for x, y in zip(ap, aq):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol * (1 + np.abs(x).max()))


# --------------------------------------------------------------------------- recognised
@settings(max_examples=40)
@given(models_2d(), st.integers(0, 2**32 - 1))
def test_transformed_models_are_recognised_with_the_true_map(model, seed):
    rng = np.random.default_rng(seed)
    copy, M, c = transformed(model, rng, zero_components=int(rng.integers(0, 2)))
    eq = find_equivalence(model, copy)
    assert eq is not None
    assert_map(eq, M, c)
    assert_valid(eq, model, copy)
    np.testing.assert_allclose(eq.latent_map(model.prior.means), copy.prior.means[
        [k for k in eq.component_map]], atol=1e-8 * (1 + np.abs(copy.prior.means).max()))
    assert (eq.unit_map is not None) == (model.network.n_layers == 2)
    back = find_equivalence(copy, model)
    assert back is not None
    assert_map(back, np.linalg.inv(M), -np.linalg.solve(M, c))
    assert_valid(back, copy, model)


@settings(max_examples=25)
@given(models_2d(depth=st.just(2)), st.integers(0, 2**32 - 1), st.booleans(), st.booleans(),
       st.booleans(), st.integers(0, 2), st.booleans())
def test_unit_splits_dead_and_constant_units_are_matched(model, seed, split_unit, dead_unit,
                                                         constant_unit, zero_components,
                                                         split_component):
    rng = np.random.default_rng(seed)
    copy, M, c = transformed(model, rng, split_unit=split_unit, dead_unit=dead_unit,
                             constant_unit=constant_unit, zero_components=zero_components,
                             split_component=split_component)
    eq = find_equivalence(model, copy)
    assert eq is not None
    assert_map(eq, M, c)
    assert_valid(eq, model, copy)
    statuses = {m.status for m in eq.inverse_unit_map}
    assert ("constant" in statuses) == constant_unit
    assert ("zero outgoing weight" in statuses) == dead_unit
    assert ("merged" in statuses) == split_unit
    assert sum(k == -1 for k in eq.inverse_component_map) == zero_components
    for u, m in enumerate(eq.unit_map):  # t * (a's unit o h^-1) = b's unit
        if m.status == "matched":
            row = model.network.weights[0][u] @ np.linalg.inv(M)
            np.testing.assert_allclose(m.factor * row, copy.network.weights[0][m.target],
                                       rtol=1e-8, atol=1e-10)


def test_recovers_a_stated_map_and_describes_it():
    prior = GaussianMixture([0.3, 0.7], [[-1.0, 0.0], [1.0, 1.0]],
                            [[[0.5, 0.1], [0.1, 0.3]], np.eye(2)])
    net = ReLUNetwork([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, -0.5, 2.0]]],
                      [[0.0, 0.5, -1.0], [0.2]])
    a = PushforwardModel(prior, net, 0.1)
    b, M, c = transformed(a, np.random.default_rng(3))
    eq = find_equivalence(a, b)
    assert_map(eq, M, c)
    assert eq.n_latent == 2
    np.testing.assert_allclose(eq.inverse_latent_map(eq.latent_map(prior.means)), prior.means,
                               atol=1e-12)
    text = eq.describe()
    assert text.startswith("h(z) = M z + b with M = [[")
    assert f"{M[0, 0]:.6g}" in text and f"b = [{c[0]:.6g}, {c[1]:.6g}]" in text
    assert "hidden units a -> b: unit 0 -> " in text and "residual" in text
    with pytest.raises(AttributeError, match="1-D latent only"):
        _ = eq.scale
    with pytest.raises(AttributeError, match="use .matrix"):
        _ = eq.shift
    with pytest.raises(dataclasses.FrozenInstanceError):
        eq.matrix = np.eye(2)
    with pytest.raises(ValueError):
        eq.matrix[0, 0] = 1.0  # read-only
    # A stated map that is off is caught by verify.
    assert dataclasses.replace(eq, offset=eq.offset + 0.1).verify(a, b) > 0.05
    assert dataclasses.replace(eq, matrix=eq.matrix * 1.01).verify(a, b) > 1e-3
    assert eq == dataclasses.replace(eq) and hash(eq) == hash(dataclasses.replace(eq))


def test_model_is_equivalent_to_itself_by_the_identity():
    prior = GaussianMixture([0.2, 0.3, 0.5], [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
                            [np.eye(2), 0.5 * np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])
    net = ReLUNetwork.random([2, 4, 2], negative_slope=0.1, rng=5)
    a = PushforwardModel(prior, net, 0.2)
    eq = find_equivalence(a, a)
    np.testing.assert_allclose(eq.matrix, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(eq.offset, 0.0, atol=1e-12)
    assert eq.component_map == (0, 1, 2)
    assert all(m.status == "matched" and m.factor == pytest.approx(1.0) for m in eq.unit_map)
    assert eq.verify(a, a) < 1e-12


def test_symmetric_model_prefers_a_rotation_with_the_smallest_residual():
    # f(z) = |z1| + |z2| and N(0, I): invariant under the 8 symmetries of the square.
    net = ReLUNetwork([[[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], [[1.0] * 4]],
                      [[0.0] * 4, [0.0]])
    a = PushforwardModel(GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)]), net, 0.1)
    eq = find_equivalence(a, a)
    np.testing.assert_allclose(eq.matrix, np.eye(2), atol=1e-12)
    # Its image under a random h is found too, with det M > 0 among the symmetric choices.
    b, _, _ = transformed(a, np.random.default_rng(0))
    eq = find_equivalence(a, b)
    assert eq is not None and np.linalg.det(eq.matrix) > 0
    assert_valid(eq, a, b)


def test_isotropic_single_component_is_pinned_by_the_network():
    prior = GaussianMixture([1.0], [[0.5, -0.5]], [0.7 * np.eye(2)])
    net = ReLUNetwork.random([2, 3, 3, 1], negative_slope=0.0, bias_scale=1.0, rng=11)
    a = PushforwardModel(prior, net, 0.2)
    for seed in range(4):
        b, M, c = transformed(a, np.random.default_rng(seed))
        eq = find_equivalence(a, b)
        assert_map(eq, M, c)
        assert_valid(eq, a, b)
        assert eq.unit_map is None


def test_equal_functions_of_other_activation_or_depth():
    prior = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2), 0.5 * np.eye(2)])
    # s(x) = relu(x) - 0.25 relu(-x) and y = relu(y) - relu(-y).
    leaky = ReLUNetwork([[[1.0, 0.5], [-0.5, 1.0]], [[1.0, -2.0]]], [[0.2, -0.1], [0.3]],
                        negative_slope=0.25)
    W1, b1 = leaky.weights[0], leaky.biases[0]
    plain = ReLUNetwork([np.vstack([W1, -W1]), [[1.0, -2.0, -0.25, 0.5]]],
                        [np.concatenate([b1, -b1]), [0.3]])
    deep = ReLUNetwork([np.vstack([W1, -W1]), np.vstack([np.eye(4), -np.eye(4)]),
                        [[1.0, -2.0, -0.25, 0.5, -1.0, 2.0, 0.25, -0.5]]],
                       [np.concatenate([b1, -b1]), np.zeros(8), [0.3]])
    a = PushforwardModel(prior, leaky, 0.2)
    for net in (plain, deep):
        b = PushforwardModel(prior, net, 0.2)
        eq = find_equivalence(a, b)
        assert eq is not None and eq.unit_map is None
        np.testing.assert_allclose(eq.matrix, np.eye(2), atol=1e-10)
        assert_valid(eq, a, b)
    assert_same_model(canonical_form(a), canonical_form(PushforwardModel(prior, plain, 0.2)))


def test_support_sd_compares_only_where_the_prior_has_mass():
    prior = GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.0, 0.5]], [0.1 * np.eye(2)] * 2)
    f = ReLUNetwork([[[1.0, 0.2], [0.3, -1.0]], [[1.0, 0.5]]], [[0.0, 0.1], [0.0]])
    # g adds a unit active only beyond z1 = 30, 90 standard deviations out.
    g = ReLUNetwork([[[1.0, 0.2], [0.3, -1.0], [1.0, 0.0]], [[1.0, 0.5, 2.0]]],
                    [[0.0, 0.1, -30.0], [0.0]])
    a, b = PushforwardModel(prior, f, 0.1), PushforwardModel(prior, g, 0.1)
    assert find_equivalence(a, b) is None
    eq = find_equivalence(a, b, support_sd=8)
    assert eq is not None
    np.testing.assert_allclose(eq.matrix, np.eye(2), atol=1e-10)
    assert find_equivalence(a, b, support_sd=400) is None


def test_noiseless_models():
    prior = GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2), 0.5 * np.eye(2)])
    net = ReLUNetwork.random([2, 4, 2], negative_slope=0.2, rng=2)
    a = PushforwardModel(prior, net, 0.0)
    b, M, c = transformed(a, np.random.default_rng(4))
    eq = find_equivalence(a, b)
    assert_map(eq, M, c)
    assert find_equivalence(a, PushforwardModel(b.prior, b.network, 0.1)) is None


# --------------------------------------------------------------------------- rejected
_PERTURBED = ["output bias", "hidden bias", "hidden weight", "outgoing weight", "mean",
              "covariance diagonal", "covariance off-diagonal", "weight", "noise"]


@settings(max_examples=45)
@given(models_2d(), st.integers(0, 2**32 - 1), st.sampled_from(_PERTURBED),
       st.sampled_from([1e-4, 1e-2, 0.3]))
def test_near_misses_are_rejected(model, seed, what, delta):
    rng = np.random.default_rng(seed)
    copy, _, _ = transformed(model, rng)
    prior, net = copy.prior, copy.network
    w, mu, cov = prior.weights.copy(), prior.means.copy(), prior.covariances.copy()
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    noise = copy.noise_std
    j = rng.integers(w.size)
    W = copy.prior.sample(200, rng=rng)
    F = np.abs(net.forward(W)).max()
    if what == "output bias":
        bs[-1][0] += delta * (1 + F)
    elif what == "hidden bias":
        bs[0][rng.integers(bs[0].size)] += delta
    elif what == "hidden weight":
        Ws[0][rng.integers(Ws[0].shape[0]), rng.integers(2)] += delta
    elif what == "outgoing weight":
        Ws[-1][0, rng.integers(Ws[-1].shape[1])] += delta
    elif what == "mean":
        mu[j] += delta * (1 + np.abs(mu[j]).max()) * rng.normal(size=2)
    elif what == "covariance diagonal":
        cov[j, 0, 0] *= 1 + delta
    elif what == "covariance off-diagonal":
        shift = delta * np.sqrt(cov[j, 0, 0] * cov[j, 1, 1])
        cov[j, 0, 1] += shift
        cov[j, 1, 0] += shift
        assume(np.linalg.eigvalsh(cov[j])[0] > 0)
    elif what == "weight":
        assume(w.size > 1)
        w[j] *= 1 + delta
        w /= w.sum()
    else:
        noise *= 1 + delta
    perturbed = PushforwardModel(GaussianMixture(w, mu, cov),
                                 ReLUNetwork(Ws, bs, net.negative_slope), noise)
    # A perturbation that leaves the law of x unchanged proves nothing, and one
    # that changes f by less than about rtol * |f| is within the tolerance.
    assume(logpdf_gap(model, perturbed, rng) > 1e-7)
    assume(np.abs(perturbed.network.forward(W) - net.forward(W)).max() > 3e-5 * (1 + F)
           or what in ("mean", "covariance diagonal", "covariance off-diagonal", "weight",
                       "noise"))
    assert find_equivalence(model, perturbed) is None
    assert find_equivalence(perturbed, model) is None


@settings(max_examples=20)
@given(models_2d(), st.integers(0, 2**32 - 1))
def test_other_networks_with_the_same_prior_are_rejected(model, seed):
    net = model.network
    other = ReLUNetwork.random([2, *net.hidden_sizes, net.n_outputs],
                               negative_slope=net.negative_slope, rng=seed)
    b = PushforwardModel(model.prior, other, model.noise_std)
    assume(logpdf_gap(model, b, np.random.default_rng(seed)) > 1e-7)
    assert find_equivalence(model, b) is None


def test_tolerances_decide_near_misses():
    prior = GaussianMixture([0.3, 0.7], [[-1.0, 0.0], [2.0, 1.0]], [np.eye(2), 0.5 * np.eye(2)])
    net = ReLUNetwork.random([2, 3, 1], rng=1)
    a = PushforwardModel(prior, net, 0.1)
    moved = GaussianMixture([0.3, 0.7], [[-1.0, 0.0], [2.0 + 1e-5, 1.0]],
                            [np.eye(2), 0.5 * np.eye(2)])
    b = PushforwardModel(moved, net, 0.1)
    assert find_equivalence(a, b) is None
    eq = find_equivalence(a, b, atol=1e-4)
    assert eq is not None and 0.01 < eq.residual_ratio <= 1.0
    assert eq.verify(a, b) < 2e-5


# --------------------------------------------------------------------------- canonical form
@settings(max_examples=30)
@given(models_2d(depth=st.sampled_from([1, 2, 2])), st.integers(0, 2**32 - 1))
def test_equivalent_models_have_equal_canonical_forms(model, seed):
    rng = np.random.default_rng(seed)
    one_hidden = model.network.n_layers == 2
    copy, _, _ = transformed(model, rng, split_unit=one_hidden, dead_unit=one_hidden,
                             constant_unit=one_hidden, zero_components=1, split_component=True)
    canon = canonical_form(model)
    assert_same_model(canon, canonical_form(copy))
    assert_same_model(canon, canonical_form(canon))  # idempotent
    prior = canon.prior
    mean = prior.weights @ prior.means
    d = prior.means - mean
    cov = np.einsum("j,jab->ab", prior.weights, prior.covariances + d[:, :, None] * d[:, None])
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(cov, np.eye(2), atol=1e-12)
    if canon.network.n_layers == 2:
        assert canon.network.negative_slope == 0.0
        np.testing.assert_allclose(np.linalg.norm(canon.network.weights[0], axis=1), 1.0)
    eq = find_equivalence(model, canon)
    assert eq is not None
    assert_valid(eq, model, canon)


@settings(max_examples=15)
@given(models_2d(depth=st.sampled_from([1, 2])), st.integers(0, 2**32 - 1))
def test_canonical_form_keeps_the_law_of_x(model, seed):
    canon = canonical_form(model)
    rng = np.random.default_rng(seed)
    X = np.concatenate([model.sample(40, rng=rng), rng.normal(0.0, 3.0, (10, model.n_features))])
    np.testing.assert_allclose(canon.logpdf(X), model.logpdf(X), rtol=1e-10, atol=1e-10)


def test_canonical_form_of_symmetric_and_affine_models():
    # |z1| + |z2| under N(0, I): the frame comes from the lines; four units of norm 1.
    net = ReLUNetwork([[[2.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -3.0]],
                       [[0.5, 1.0, 1.0, 1.0 / 3.0]]], [[0.0] * 4, [0.0]])
    sym = PushforwardModel(GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)]), net, 0.1)
    c = canonical_form(sym)
    assert c.network.weights[0].shape == (4, 2)
    np.testing.assert_allclose(c.network.biases[0], 0.0, atol=1e-15)
    np.testing.assert_allclose(np.abs(c.network.weights[1]).sum(), 4.0)
    b, _, _ = transformed(sym, np.random.default_rng(1))
    assert_same_model(c, canonical_form(b))
    # An affine f: one layer, oriented by its gradient.
    affine = PushforwardModel(GaussianMixture([1.0], [[1.0, 2.0]], [np.diag([4.0, 1.0])]),
                              ReLUNetwork([[[3.0, 1.0]]], [[1.0]]), 0.1)
    c = canonical_form(affine)
    assert c.network.n_layers == 1
    np.testing.assert_allclose(c.network.weights[0], [[np.sqrt(37.0), 0.0]], atol=1e-12)
    np.testing.assert_allclose(c.network.biases[0], [6.0])


def test_canonical_form_refuses_deep_networks():
    prior = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    deep = PushforwardModel(prior, ReLUNetwork.random([2, 3, 3, 1], rng=0), 0.1)
    with pytest.raises(NotImplementedError, match="at most one hidden layer.*2 hidden layers"):
        canonical_form(deep)


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_are_refused_by_name():
    prior = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    a = PushforwardModel(prior, ReLUNetwork.random([2, 3, 1], rng=0), 0.1)
    one_d = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
                             ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
    assert find_equivalence(a, one_d) is None  # no invertible affine map between R^2 and R
    with pytest.raises(ValueError, match="model_b must be a PushforwardModel"):
        find_equivalence(a, a.network)
    with pytest.raises(ValueError, match="model_a must be a PushforwardModel"):
        find_equivalence("a", a)
    with pytest.raises(ValueError, match="atol"):
        find_equivalence(a, a, atol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        find_equivalence(a, a, rtol=float("nan"))
    with pytest.raises(ValueError, match="support_sd"):
        find_equivalence(a, a, support_sd=0.0)
    with pytest.raises(ValueError, match="model must be a PushforwardModel"):
        canonical_form(prior)
    eq = find_equivalence(a, a)
    with pytest.raises(ValueError, match=r"Z must have shape \(n_samples, 2\)"):
        eq.latent_map([1.0, 2.0])
    with pytest.raises(ValueError, match="acts on a 2-D latent"):
        eq.verify(one_d, one_d)
    with pytest.raises(ValueError, match="model_b must be a PushforwardModel"):
        eq.verify(a, None)
    with pytest.raises(ValueError, match="matrix must be invertible"):
        Equivalence([[1.0, 2.0], [2.0, 4.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="offset must have shape"):
        Equivalence(np.eye(2), [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="matrix must have shape"):
        Equivalence(np.eye(3), np.zeros(3))
