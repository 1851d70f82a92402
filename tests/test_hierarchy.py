"""Fisher information, the hierarchy's cases, and the condition checks for 2-D latents."""

import numpy as np
import pytest

from pwaffine import (GaussianMixture, PushforwardModel, ReLUNetwork, fisher_information,
                      is_injective, is_weakly_injective, predicted_null_dim)
from pwaffine.inference.fisher import free_parameters
from pwaffine.experiments.hierarchy import (case_abs_counterexample, case_constant_where_mass,
                                           case_recover_affine_1d, case_recover_affine_2d,
                                           case_rotation_without_p2, cases_latent_1d)
from pwaffine.experiments.random_models import random_identifiable_model_2d


def test_fisher_matches_outer_product_of_finite_difference_scores():
    rng = np.random.default_rng(0)
    model = PushforwardModel(GaussianMixture([0.4, 0.6], [[-1.0], [1.0]], [[[0.3]], [[0.5]]]),
                             ReLUNetwork.random([1, 2, 1], rng=rng), 0.3)
    fi = fisher_information(model)
    # Reference: E[s s^T] with scores by finite differences, expectation by a
    # fine trapezoid over x (independent of the analytic score and of the rule).
    x = np.linspace(-12, 12, 24001)[:, None]
    p = model.pdf(x)
    cols = []
    for name in fi.names:
        v = model.parameters()[name]
        h = 1e-6
        if name == "prior.weights[0]":
            up = PushforwardModel(GaussianMixture([0.4 + h, 0.6 - h], model.prior.means,
                                                  model.prior.covariances), model.network, 0.3)
            dn = PushforwardModel(GaussianMixture([0.4 - h, 0.6 + h], model.prior.means,
                                                  model.prior.covariances), model.network, 0.3)
        else:
            up, dn = model.with_parameters({name: v + h}), model.with_parameters({name: v - h})
        cols.append((up.logpdf(x) - dn.logpdf(x)) / (2 * h))
    S = np.column_stack(cols)
    ref = np.trapezoid(S[:, :, None] * S[:, None, :] * p[:, None, None], x[:, 0], axis=0)
    np.testing.assert_allclose(fi.matrix, ref, rtol=1e-5, atol=1e-7 * np.abs(ref).max())


def test_free_parameters_and_prediction():
    model = PushforwardModel(GaussianMixture([0.5, 0.5], np.zeros((2, 2)), [np.eye(2)] * 2),
                             ReLUNetwork.random([2, 3, 2], rng=0), 0.2)
    full = free_parameters(model)
    diag = free_parameters(model, "diagonal")
    assert "prior.weights[1]" not in full and "prior.weights[0]" in full
    assert "prior.covariances[0,0,1]" in full and "prior.covariances[0,0,1]" not in diag
    assert predicted_null_dim(model)[0] == 6 + 3
    assert predicted_null_dim(model, "diagonal")[0] == 4 + 3
    with pytest.raises(ValueError, match="prior_family"):
        free_parameters(model, "spherical")
    noiseless = PushforwardModel(model.prior, model.network, 0.0)
    with pytest.raises(NotImplementedError, match=r"not available for a model \(m=\d, n=\d, noiseless\)"):
        fisher_information(noiseless)


def test_random_models_match_the_prediction():
    for case in cases_latent_1d(np.random.default_rng(1), n_models=3):
        assert case.measured_null_dim == case.predicted_null_dim, case.notes
    rng = np.random.default_rng(2)
    model = random_identifiable_model_2d(rng, n_features=3, n_hidden=2, n_components=2, p2=False)
    fi = fisher_information(model, n_samples=600, rng=0)
    assert fi.null_dim == predicted_null_dim(model)[0]
    assert fi.gap > 1e3


def test_counterexamples():
    abs_case, grown = case_abs_counterexample()
    assert abs_case.kl_between_alternatives < 1e-9 and abs_case.affinely_equivalent is False
    assert not abs_case.weakly_injective
    assert grown.measured_null_dim > grown.predicted_null_dim
    (const,) = case_constant_where_mass()
    assert const.kl_between_alternatives < 1e-9 and const.affinely_equivalent is False
    (rot,) = case_rotation_without_p2(np.random.default_rng(0))
    assert rot.p2 is False and rot.kl_between_alternatives < 1e-12
    assert rot.measured_null_dim == rot.predicted_null_dim + 1


def test_recovering_the_affine_map():
    (c1,) = case_recover_affine_1d(np.random.default_rng(0))
    assert "true -1.7 z + 0.6" in c1.notes and c1.injective
    err = float(c1.notes.rsplit("=", 1)[1])
    assert err < 1e-12
    (c2,) = case_recover_affine_2d(np.random.default_rng(0))
    err = float(c2.notes.rsplit("=", 1)[1])
    assert err < 1e-10 and c2.injective


def test_conditions_2d():
    rng = np.random.default_rng(0)
    leaky = ReLUNetwork([rng.normal(size=(2, 2)), rng.normal(size=(2, 2))],
                        [rng.normal(size=2), np.zeros(2)], negative_slope=0.3)
    assert is_injective(leaky) and is_weakly_injective(leaky)
    v = is_weakly_injective(leaky)
    z0 = np.array(v.witnesses["z0"])
    np.testing.assert_allclose(leaky.forward(z0[None])[0], v.witnesses["x0"])
    relu = ReLUNetwork([np.eye(2), np.eye(2)], [np.zeros(2), np.zeros(2)])
    assert not is_injective(relu)  # constant on the negative quadrant
    fold = ReLUNetwork([np.array([[1.0, 0], [-1.0, 0], [0, 1.0]]),
                        np.array([[1.0, 1.0, 0], [0, 0, 1.0]])], [np.zeros(3), np.zeros(2)])
    assert not is_weakly_injective(fold)  # (|z1|, relu(z2)): every point has two preimages
