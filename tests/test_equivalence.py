"""Affine equivalence of models and canonical forms (``pwaffine.equivalence``)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import models

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
from pwaffine.identifiability.equivalence import (
    Equivalence,
    UnitMatch,
    canonical_form,
    find_equivalence,
)
from pwaffine.model.capabilities import supports


# --------------------------------------------------------------------------- helpers
def paper_model(alpha, beta, pi, weights, means, stds, noise=0.1, out_bias=0.0,
                negative_slope=0.0):
    """f(z) = sum_i alpha_i s(beta_i z + pi_i) + out_bias, z ~ sum_j w_j N(mean_j, std_j^2)."""
    net = ReLUNetwork([np.asarray(beta, float)[:, None], np.asarray(alpha, float)[None, :]],
                      [np.asarray(pi, float), [out_bias]], negative_slope=negative_slope)
    prior = GaussianMixture.from_std(weights, np.asarray(means, float)[:, None], stds)
    return PushforwardModel(prior, net, noise)


@st.composite
def paper_models(draw, n_components=st.integers(1, 3)):
    """The paper's family: two hidden units, m = n = 1, J = 1..3 components."""
    J = draw(n_components)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    signs = rng.choice([-1.0, 1.0], size=(2, 2))
    return paper_model(alpha=signs[0] * rng.uniform(0.3, 3.0, 2),
                       beta=signs[1] * rng.uniform(0.3, 3.0, 2),
                       pi=rng.uniform(-2.0, 2.0, 2),
                       weights=rng.dirichlet(np.full(J, 2.0)),
                       means=rng.uniform(-3.0, 3.0, J),
                       stds=rng.uniform(0.3, 1.5, J),
                       noise=rng.uniform(0.05, 1.0),
                       out_bias=rng.normal(),
                       negative_slope=draw(st.sampled_from([0.0, 0.0, 0.2])))


def _activate(x, slope):
    return np.where(x > 0, x, slope * x)


def transformed(model, rng, *, units=True, split_unit=False, dead_unit=False,
                constant_unit=False, zero_components=0, split_component=False):
    """An equivalent copy of ``model``: returns (copy, scale, shift).

    The latent is mapped by a random h (negative scales included), components
    permuted, hidden units of every layer permuted and rescaled by t > 0, and
    optionally: a unit split into two copies (rescaled differently) sharing its
    outgoing weight, a dead unit (zero outgoing weight), a constant unit
    (zero incoming weight) compensated in the output bias, zero-weight
    components with arbitrary means, a component split into two halves.
    """
    s = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 3.0)
    c = rng.uniform(-3.0, 3.0)
    prior = model.prior
    w = list(prior.weights)
    mu = list(s * prior.means[:, 0] + c)
    var = list(s * s * prior.covariances[:, 0, 0])
    if split_component:
        j = rng.integers(len(w))
        w[j] /= 2
        w.append(w[j]), mu.append(mu[j]), var.append(var[j])
    for _ in range(zero_components):
        w.append(0.0), mu.append(rng.normal(0.0, 5.0)), var.append(rng.uniform(0.1, 4.0))
    perm = rng.permutation(len(w))
    new_prior = GaussianMixture(np.array(w)[perm], np.array(mu)[perm, None],
                                np.array(var)[perm, None, None])

    net = model.network
    slope = net.negative_slope
    Ws = [W.copy() for W in net.weights]
    bs = [b.copy() for b in net.biases]
    bs[0] = bs[0] - Ws[0][:, 0] * c / s
    Ws[0] = Ws[0] / s
    if units:
        for layer in range(net.n_layers - 1):
            p = rng.permutation(Ws[layer].shape[0])
            t = rng.uniform(0.2, 5.0, p.size)
            Ws[layer] = Ws[layer][p] * t[:, None]
            bs[layer] = bs[layer][p] * t
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
            W1, b1 = np.vstack([W1, rng.normal(size=(1, 1))]), np.append(b1, rng.normal())
            W2 = np.hstack([W2, np.zeros((n, 1))])
        if constant_unit:
            p_, q = rng.normal(), rng.normal(size=n)
            W1, b1 = np.vstack([W1, np.zeros((1, 1))]), np.append(b1, p_)
            W2 = np.hstack([W2, q[:, None]])
            b2 = b2 - q * _activate(p_, slope)
        Ws, bs = [W1, W2], [b1, b2]
    copy = PushforwardModel(new_prior, ReLUNetwork(Ws, bs, negative_slope=slope),
                            model.noise_std)
    return copy, s, c


def model_scale(model):
    """Size of the numbers a model's functions produce, for absolute tolerances."""
    net = model.network
    z = model.prior.means[:, 0]
    pts = np.concatenate([z - 5, z + 5, net.affine_regions().breakpoints])[:, None]
    return 1.0 + np.abs(net.forward(pts)).max() + np.abs(pts).max()


def logpdf_gap(model_a, model_b, rng):
    """Largest |log p_a(x) - log p_b(x)| over samples of both models and a grid."""
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


def assert_valid(eq, a, b):
    """``eq`` maps a onto b: recomputed discrepancy at rounding level."""
    assert isinstance(eq, Equivalence)
    assert eq.residual_ratio <= 1.0
    # Rounding errors of forward evaluations scale with the size of f and z.
    assert eq.verify(a, b) <= 1e-11 * model_scale(b) * (1 + abs(eq.scale)) * (1 + abs(eq.shift))


# --------------------------------------------------------------------------- recognised
@settings(max_examples=60)
@given(paper_models(), st.integers(0, 2**32 - 1), st.booleans(), st.booleans(), st.booleans(),
       st.integers(0, 2), st.booleans())
def test_transformed_paper_models_are_recognised(model, seed, split_unit, dead_unit,
                                                  constant_unit, zero_components,
                                                  split_component):
    rng = np.random.default_rng(seed)
    copy, s, c = transformed(model, rng, split_unit=split_unit, dead_unit=dead_unit,
                             constant_unit=constant_unit, zero_components=zero_components,
                             split_component=split_component)
    eq = find_equivalence(model, copy)
    assert eq is not None
    assert_valid(eq, model, copy)
    # Both networks have one hidden layer and the same activation, and copy's
    # units are a's units rescaled, split, plus dead/constant ones.
    assert eq.unit_map is not None and len(eq.unit_map) == 2
    statuses = {m.status for m in eq.inverse_unit_map}
    assert ("constant" in statuses) == constant_unit
    assert ("zero outgoing weight" in statuses) == dead_unit
    assert sum(k == -1 for k in eq.inverse_component_map) == zero_components
    # And the reverse direction.
    back = find_equivalence(copy, model)
    assert back is not None
    assert_valid(back, copy, model)


@settings(max_examples=40)
@given(models(), st.integers(0, 2**32 - 1))
def test_transformed_deep_models_are_recognised(model, seed):
    rng = np.random.default_rng(seed)
    copy, s, c = transformed(model, rng, zero_components=1)
    eq = find_equivalence(model, copy)
    assert eq is not None
    assert_valid(eq, model, copy)
    if model.network.n_layers != 2:
        assert eq.unit_map is None


def test_recovers_the_transformation_and_matching():
    # a: f(z) = relu(z) + 0.5 relu(-2 z + 0.5); h(z) = -2 z + 1.
    a = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[0.3, 0.7], means=[-1.0, 2.0], stds=[0.5, 1.0])
    # b's units: 0, 1 = a's unit 1 o h^-1 (= relu(w - 0.5)) split and scaled by
    # t = 2 and 4; 2 = a's unit 0 o h^-1; 3 constant (+2); 4 dead.  Component 1
    # of b has weight 0.
    f_b = ReLUNetwork([[[2.0], [4.0], [-0.5], [0.0], [1.0]],
                       [[0.125, 0.0625, 1.0, 2.0, 0.0]]],
                      [[-1.0, -2.0, 0.5, 1.0, 3.0], [-2.0]])
    prior_b = GaussianMixture([0.7, 0.0, 0.3], [[-3.0], [7.0], [3.0]],
                              [[[4.0]], [[3.0]], [[1.0]]])
    b = PushforwardModel(prior_b, f_b, 0.1)
    eq = find_equivalence(a, b)
    assert eq.scale == pytest.approx(-2.0, abs=1e-14)
    assert eq.shift == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(eq.latent_map([[0.0], [1.0]]), [[1.0], [-1.0]], atol=1e-14)
    assert eq.component_map == (2, 0)
    assert eq.inverse_component_map == (1, -1, 0)
    assert [(m.target, m.status) for m in eq.unit_map] == [(2, "matched"), (0, "merged")]
    assert eq.unit_map[0].factor == pytest.approx(1.0)
    assert eq.unit_map[1].factor == pytest.approx(2.0)
    inv = eq.inverse_unit_map
    assert [m.target for m in inv] == [1, 1, 0, -1, -1]
    assert inv[1].factor == pytest.approx(0.25)  # 0.25 * (4 w - 2) = a's unit 1 o h^-1
    assert inv[3].status == "constant" and inv[3].absorbed == (2.0,)
    assert inv[4].status == "zero outgoing weight"
    assert_valid(eq, a, b)
    text = eq.describe()
    for phrase in ("h(z) = -2 z + 1", "0 -> 2", "1 dropped (weight <= atol)",
                   "unit 1 -> 0 (t=2, merged)", "unit 3 constant", "(+[2])",
                   "unit 4 dropped (zero outgoing weight)", "residual"):
        assert phrase in text, (phrase, text)
    # A stated transformation that is off is caught by verify.
    assert dataclasses.replace(eq, shift=eq.shift + 0.1).verify(a, b) > 0.05
    with pytest.raises(dataclasses.FrozenInstanceError):
        eq.scale = 1.0


def test_model_is_equivalent_to_itself_by_the_identity():
    a = paper_model(alpha=[1.0, -0.7], beta=[1.5, 0.4], pi=[0.3, -1.0],
                    weights=[0.5, 0.5], means=[-1.0, 1.0], stds=[0.5, 0.5])
    eq = find_equivalence(a, a)
    assert (eq.scale, eq.shift) == (1.0, 0.0)
    assert eq.component_map == (0, 1) and eq.residual == 0.0
    assert all(m.factor == 1.0 and m.status == "matched" for m in eq.unit_map)


def test_merged_components():
    a = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[0.2, 0.3, 0.5], means=[1.0, 1.0, -1.0], stds=[0.5, 0.5, 1.0])
    b = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[0.5, 0.5], means=[-1.0, 1.0], stds=[1.0, 0.5])
    eq = find_equivalence(a, b)
    assert eq.component_map == (1, 1, 0) and eq.inverse_component_map == (2, 0)
    assert "a's 0, 1 merged (identical) onto b's 1" in eq.describe()
    assert_valid(eq, a, b)


def test_single_component_tries_both_orientations():
    relu = ReLUNetwork([[[1.0]], [[1.0]]], [[0.0], [0.0]])
    relu_flipped = ReLUNetwork([[[-1.0]], [[1.0]]], [[0.0], [0.0]])
    prior = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
    eq = find_equivalence(PushforwardModel(prior, relu, 0.2),
                          PushforwardModel(prior, relu_flipped, 0.2))
    assert (eq.scale, eq.shift) == (-1.0, 0.0)


# --------------------------------------------------------------------------- |z| (non-(F2))
def test_abs_with_mirrored_component_is_equivalent():
    f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])  # |z|
    a = PushforwardModel(GaussianMixture([1.0], [[1.3]], [[[0.4]]]), f, 0.1)
    b = PushforwardModel(GaussianMixture([1.0], [[-1.3]], [[[0.4]]]), f, 0.1)
    assert logpdf_gap(a, b, np.random.default_rng(0)) < 1e-10
    eq = find_equivalence(a, b)
    assert (eq.scale, eq.shift) == (-1.0, 0.0)
    assert [m.target for m in eq.unit_map] == [1, 0]
    assert eq.verify(a, b) == 0.0


def test_abs_with_one_mirrored_component_of_two_is_not_equivalent():
    # The paper's counterexample to (a) without (F2): same P(X), but no affine h
    # maps {N(1, s), N(3, s)} onto {N(1, s), N(-3, s)}.
    f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    a = PushforwardModel(GaussianMixture([0.5, 0.5], [[1.0], [3.0]], [[[0.3]], [[0.3]]]), f, 0.1)
    b = PushforwardModel(GaussianMixture([0.5, 0.5], [[1.0], [-3.0]], [[[0.3]], [[0.3]]]), f, 0.1)
    assert logpdf_gap(a, b, np.random.default_rng(1)) < 1e-10
    assert find_equivalence(a, b) is None
    # Their canonical forms differ too (the priors alone are not affinely equivalent).
    assert not np.allclose(canonical_form(a).prior.means, canonical_form(b).prior.means)


# --------------------------------------------------------------------------- function level only
def test_relu_pair_equals_linear_map_without_unit_correspondence():
    prior = GaussianMixture([0.4, 0.6], [[-1.0], [0.5]], [[[0.3]], [[0.6]]])
    pair = ReLUNetwork([[[1.0], [-1.0]], [[2.0, -2.0]]], [[0.0, 0.0], [0.5]])  # 2z + 0.5
    linear = ReLUNetwork([[[2.0]]], [[0.5]])
    shifted_pair = ReLUNetwork([[[1.0], [-1.0]], [[2.0, -2.0]]], [[1.0, -1.0], [-1.5]])
    a = PushforwardModel(prior, pair, 0.3)
    for net in (linear, shifted_pair):
        b = PushforwardModel(prior, net, 0.3)
        eq = find_equivalence(a, b)
        assert (eq.scale, eq.shift) == (1.0, 0.0)
        assert eq.unit_map is None and eq.inverse_unit_map is None
        assert "no unit-by-unit correspondence" in eq.describe()
        assert_valid(eq, a, b)
        assert_same_model(canonical_form(a), canonical_form(b))


def test_leaky_network_equals_plain_network():
    # leaky_s(x) = s x + (1 - s) relu(x): equal functions, different activations.
    prior = GaussianMixture([1.0], [[0.2]], [[[0.7]]])
    leaky = ReLUNetwork([[[1.0]], [[1.0]]], [[-0.5], [0.0]], negative_slope=0.25)
    plain = ReLUNetwork([[[1.0], [1.0], [-1.0]], [[0.75, 0.25, -0.25]]],
                        [[-0.5, -0.5, 0.5], [0.0]])
    a, b = PushforwardModel(prior, leaky, 0.2), PushforwardModel(prior, plain, 0.2)
    eq = find_equivalence(a, b)
    assert eq is not None and eq.unit_map is None
    assert_valid(eq, a, b)


# --------------------------------------------------------------------------- rejected
_PERTURBED = ["weight", "mean", "variance", "alpha", "beta", "pi", "bias", "noise"]


@settings(max_examples=50)
@given(paper_models(), st.integers(0, 2**32 - 1), st.sampled_from(_PERTURBED),
       st.floats(1e-3, 1.0), st.sampled_from([-1.0, 1.0]))
def test_perturbed_copies_are_rejected(model, seed, what, delta, sign):
    rng = np.random.default_rng(seed)
    copy, _, _ = transformed(model, rng)
    prior, net = copy.prior, copy.network
    w, mu, var = prior.weights.copy(), prior.means[:, 0].copy(), prior.covariances[:, 0, 0].copy()
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    noise = copy.noise_std
    j, i = rng.integers(w.size), rng.integers(2)
    if what == "weight":
        assume(w.size > 1)
        w[j] *= 1 + delta
        w /= w.sum()
    elif what == "mean":
        mu[j] += sign * delta * (0.1 + abs(mu[j]))
    elif what == "variance":
        var[j] *= (1 + delta) ** sign
    elif what == "alpha":
        Ws[1][0, i] += sign * delta * abs(Ws[1][0, i])
    elif what == "beta":
        Ws[0][i, 0] += sign * delta * abs(Ws[0][i, 0])
    elif what == "pi":
        bs[0][i] += sign * delta * (0.1 + abs(bs[0][i]))
    elif what == "bias":
        bs[1][0] += sign * delta
    else:
        noise *= (1 + delta) ** sign
    perturbed = PushforwardModel(GaussianMixture(w, mu[:, None], var[:, None, None]),
                                 ReLUNetwork(Ws, bs, net.negative_slope), noise)
    # Different laws of x prove the models are not equivalent; a perturbation
    # that leaves the law unchanged proves nothing and is skipped.
    assume(logpdf_gap(model, perturbed, rng) > 1e-7)
    assert find_equivalence(model, perturbed) is None
    assert find_equivalence(perturbed, model) is None


def test_different_noise_or_dimensions_are_rejected():
    a = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[1.0], means=[0.0], stds=[1.0], noise=0.1)
    b = PushforwardModel(a.prior, a.network, 0.1 * (1 + 1e-4))
    assert find_equivalence(a, b) is None
    assert find_equivalence(a, PushforwardModel(a.prior, a.network, 0.1 * (1 + 1e-8))) is not None
    wide = ReLUNetwork([[[1.0], [-2.0]], [[1.0, 0.5], [0.0, 1.0]]], [[0.0, 0.5], [0.0, 0.0]])
    assert find_equivalence(a, PushforwardModel(a.prior, wide, 0.1)) is None


def test_tolerances_decide_near_misses():
    # An optimiser-accurate copy: one mean off by 1e-5.
    a = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[0.3, 0.7], means=[-1.0, 2.0], stds=[0.5, 1.0])
    b = paper_model(alpha=[1.0, 0.5], beta=[1.0, -2.0], pi=[0.0, 0.5],
                    weights=[0.3, 0.7], means=[-1.0, 2.0 + 1e-5], stds=[0.5, 1.0])
    assert find_equivalence(a, b) is None
    eq = find_equivalence(a, b, atol=1e-4)
    assert eq is not None
    # The refitted shift splits the 1e-5 between the two components.
    assert 1e-6 < eq.residual < 1e-5 and 0.01 < eq.residual_ratio <= 1.0
    assert eq.verify(a, b) < 2e-5


def test_capability_table_decides_and_bad_input():
    prior = GaussianMixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    net = ReLUNetwork.random([2, 3, 1], rng=0)
    m2 = PushforwardModel(prior, net, 0.1)
    if supports(2, 1, True, "equivalence"):  # m = 2: tests/test_equivalence_2d.py
        assert find_equivalence(m2, m2) is not None
        assert canonical_form(m2).n_latent == 2
    else:
        with pytest.raises(NotImplementedError, match=r"find_equivalence is not available "
                                                      r"for a model \(m=2, n=1, noisy\)"):
            find_equivalence(m2, m2)
        with pytest.raises(NotImplementedError, match=r"canonical_form is not available "
                                                      r"for a model \(m=2, n=1, noisy\)"):
            canonical_form(m2)
    a = paper_model(alpha=[1.0], beta=[1.0], pi=[0.0], weights=[1.0], means=[0.0], stds=[1.0])
    assert find_equivalence(a, m2) is None  # no invertible affine map between R and R^2
    with pytest.raises(ValueError, match="model_b must be a PushforwardModel"):
        find_equivalence(a, a.network)
    with pytest.raises(ValueError, match="atol"):
        find_equivalence(a, a, atol=-1.0)


# --------------------------------------------------------------------------- canonical form
@settings(max_examples=40)
@given(st.one_of(paper_models(), models()), st.integers(0, 2**32 - 1))
def test_equivalent_models_have_equal_canonical_forms(model, seed):
    rng = np.random.default_rng(seed)
    one_hidden = model.network.n_layers == 2
    copy, _, _ = transformed(model, rng, split_unit=one_hidden, dead_unit=one_hidden,
                             constant_unit=one_hidden, zero_components=1,
                             split_component=True)
    canon = canonical_form(model)
    assert_same_model(canon, canonical_form(copy))
    assert_same_model(canon, canonical_form(canon))  # idempotent
    weights, means = canon.prior.weights, canon.prior.means[:, 0]
    mean = means @ weights
    variance = (canon.prior.covariances[:, 0, 0] + means**2) @ weights
    assert mean == pytest.approx(0.0, abs=1e-12) and variance == pytest.approx(1.0)
    if canon.network.n_layers == 2:
        assert np.all(np.abs(canon.network.weights[0]) == 1.0)
    # The canonical form is itself equivalent to the model.
    assert_valid(find_equivalence(model, canon), model, canon)


@settings(max_examples=25)
@given(st.one_of(paper_models(), models()), st.integers(0, 2**32 - 1))
def test_canonical_form_keeps_the_law_of_x(model, seed):
    canon = canonical_form(model)
    X = model.sample(200, rng=seed)
    # Same law: the log densities agree to rounding (they are sums over
    # different region/component tables, so not bit-identical).
    np.testing.assert_allclose(canon.logpdf(X), model.logpdf(X), rtol=1e-9, atol=1e-9)


def test_canonical_form_of_symmetric_and_affine_models():
    f = ReLUNetwork([[[2.0], [-1.0]], [[0.5, 1.0]]], [[0.0, 0.0], [0.0]])  # |z|
    sym = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), f, 0.1)
    c = canonical_form(sym)
    np.testing.assert_array_equal(c.network.weights[0], [[-1.0], [1.0]])
    np.testing.assert_array_equal(c.network.biases[0], [0.0, 0.0])
    np.testing.assert_array_equal(c.network.weights[1], [[1.0, 1.0]])
    affine = PushforwardModel(GaussianMixture([0.5, 0.5], [[1.0], [3.0]], [[[1.0]], [[1.0]]]),
                              ReLUNetwork([[[3.0]]], [[1.0]]), 0.1)
    c = canonical_form(affine)
    assert c.network.n_layers == 1
    # Prior symmetric, so the sign tie is broken by the slope: -3 * sqrt(2) < 3 * sqrt(2).
    np.testing.assert_allclose(c.network.weights[0], [[-3.0 * np.sqrt(2.0)]])
    np.testing.assert_allclose(c.network.biases[0], [7.0])
    assert UnitMatch(0, 1.0, "matched") == UnitMatch(0, 1.0, "matched")
