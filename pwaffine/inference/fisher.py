"""Local identifiability: the Fisher information of a model's free parameters.

A direction in parameter space along which the law of ``x`` does not change
to first order is a null vector of the Fisher information
``I = E[s(x) s(x)^T]``, ``s`` the score.  The continuous symmetries of the
model family (affine maps of the latent the prior family can absorb, the
positive rescaling of each hidden unit) always give such directions;
identifiability up to those symmetries predicts that there are no others.
:func:`fisher_information` measures the null space, :func:`predicted_null_dim`
states the prediction, each with its reasoning.
"""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int, check_rng, check_scalar
from ..model import GaussianMixture, PushforwardModel
from ..model.capabilities import supports
from .domain import observation_domain

__all__ = ["FisherInformation", "fisher_information", "free_parameters", "predicted_null_dim"]

#: Only singular values (of the weighted score matrix) below this fraction of
#: the largest can be numerically zero; among the cuts below it the rank is
#: placed at the largest ratio between consecutive singular values.  Exact
#: null directions sit at ~1e-13 relative with analytic scores (~1e-8 with
#: finite differences), weakly identified ones typically at 1e-8..1e-3.
NULL_RTOL = 1e-6


@dataclass(frozen=True)
class FisherInformation:
    """Fisher information of the free parameters and its spectrum.

    Attributes
    ----------
    names : tuple of str
        Free parameters (see :func:`free_parameters`).
    matrix : ndarray of shape (n_free, n_free)
        ``E[s(x) s(x)^T]``, symmetric positive semidefinite.
    eigenvalues : ndarray of shape (n_free,)
        Eigenvalues of ``matrix``, decreasing: the squared singular values of
        the weighted score matrix ``G`` (``matrix = G^T G``), computed from
        ``G`` so that small ones keep their relative accuracy.
    rank : int
        Numerical rank: the cut is placed at the largest ratio between
        consecutive singular values of ``G`` (square roots of the
        eigenvalues), among the cuts whose lower value is below ``NULL_RTOL``
        times the largest (no such cut: full rank).
    null_dim : int
        ``n_free - rank``.
    gap : float
        Ratio of the singular values of ``G`` on either side of the cut
        (``inf`` if the cut is at an exact zero, or for full rank); a large
        gap means a clear-cut rank.
    null_space : ndarray of shape (n_free, null_dim)
        Orthonormal basis of the numerical null space, in ``names`` order.
    method : str
        How the scores and the expectation were computed.
    """

    names: tuple
    matrix: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray
    rank: int
    null_dim: int
    gap: float
    null_space: np.ndarray = field(repr=False)
    method: str = ""


def free_parameters(model, prior_family="full"):
    """Names of the model's free parameters, as used by :func:`fisher_information`.

    Mixture weights: the first ``J - 1`` (the last is one minus their sum).
    Covariances: every entry on or above the diagonal (``prior_family="full"``)
    or the diagonal only (``"diagonal"``, the family of condition (P2)).
    Then every network weight and bias, and the noise (``noise_std``, or each
    ``noise_std[t]`` for anisotropic noise).

    Parameters
    ----------
    model : PushforwardModel
    prior_family : {"full", "diagonal"}

    Returns
    -------
    list of str
    """
    if prior_family not in ("full", "diagonal"):
        raise ValueError(f"prior_family must be 'full' or 'diagonal'; got {prior_family!r}")
    J = model.prior.n_components
    names = []
    for name in model.parameters():
        if name.startswith("prior.weights["):
            if int(name[len("prior.weights["):-1]) == J - 1:
                continue
        elif name.startswith("prior.covariances[") and prior_family == "diagonal":
            _, d, e = (int(v) for v in name[len("prior.covariances["):-1].split(","))
            if d != e:
                continue
        names.append(name)
    return names


def predicted_null_dim(model, prior_family="full"):
    """Dimension of the null space the model family's continuous symmetries predict.

    * affine maps ``z -> M z + b`` of the latent that keep the prior in its
      family: ``m^2 + m`` for full covariances; ``2 m`` (coordinate scalings and
      translations) for the diagonal family of (P2);
    * one positive rescaling per hidden unit (incoming weights and bias times
      ``t``, outgoing weights divided by ``t``; a leaky ReLU is positively
      homogeneous too);
    * nothing from the parametrisation: :func:`free_parameters` already drops
      the weight fixed by the sum-to-one constraint.

    Degenerate models (a component of weight 0, a dead or constant unit) have
    more null directions; the prediction is for the generic case.

    Returns
    -------
    total : int
    breakdown : dict
        ``{"latent affine maps": ..., "unit rescalings": ...}``.
    """
    m = model.n_latent
    affine = m * m + m if prior_family == "full" else 2 * m
    units = int(sum(model.network.hidden_sizes))
    breakdown = {"latent affine maps": affine, "unit rescalings": units}
    return affine + units, breakdown


def fisher_information(model, prior_family="full", n_samples=None, rng=None, step=1e-5):
    """Fisher information of the free parameters at ``model``.

    Scores are analytic where the capability table offers a gradient
    (:meth:`PushforwardModel.logpdf_grad`), else central finite differences
    of the exact log density (relative step ``step``).  The expectation over
    ``x`` is a quadrature over the cells of
    :func:`~pwaffine.inference.domain.observation_domain` for ``n_features <=
    2`` (the 15-point Kronrod rule on panels of one noise standard deviation
    with analytic scores; with finite-difference scores, which cost two
    density evaluations per parameter and node, the 7-point Gauss rule on
    panels of two), else a Monte Carlo average over ``n_samples`` draws from
    the model (seeded by ``rng``).

    Parameters
    ----------
    model : PushforwardModel
        A combination for which the capability table offers ``fisher``.
    prior_family : {"full", "diagonal"}
        Which covariance entries are free (see :func:`free_parameters`).
    n_samples : int, optional
        Monte Carlo size when quadrature is not available (default 20000).
    rng : None, int or Generator
        Seeds the Monte Carlo sample.
    step : float, default=1e-5
        Relative finite-difference step, in (0, 0.1].

    Returns
    -------
    FisherInformation
    """
    if not isinstance(model, PushforwardModel):
        raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
    model._require("fisher", "fisher_information")
    step = check_scalar(step, "step", low=0.0, low_inclusive=False, high=0.1)
    names = free_parameters(model, prior_family)
    analytic = supports(model.n_latent, model.n_features, True, "gradient")
    score_kind = "analytic scores" if analytic else "finite-difference scores"
    if model.n_features <= 2:
        rule, width = ("kronrod", 1.0) if analytic else ("gauss", 2.0)
        X, weights = observation_domain(model, width).nodes(rule)
        method = f"{score_kind}, {rule} quadrature over x"
    else:
        n = 20000 if n_samples is None else check_int(n_samples, "n_samples", low=10)
        X = model.sample(n, rng=check_rng(rng))
        weights = np.full(n, 1.0 / n)
        method = f"{score_kind}, Monte Carlo over {n} samples"
    if analytic:
        log_p, raw = model._logpdf_and_grad(X)
        scores = _free_scores(model, names, raw)
    else:
        log_p = model._logpdf(X)
        scores = _finite_difference_scores(model, names, X, step)
    if model.n_features <= 2:
        weights = weights * np.exp(log_p)
    G = scores * np.sqrt(weights)[:, None]
    _, sv, vt = np.linalg.svd(G, full_matrices=False)
    rank, gap = _numerical_rank(sv)
    return FisherInformation(names=tuple(names), matrix=G.T @ G, eigenvalues=sv**2, rank=rank,
                             null_dim=len(names) - rank, gap=gap, null_space=vt[rank:].T,
                             method=method)


def _numerical_rank(sv):
    """Rank at the largest gap below ``NULL_RTOL`` (see :class:`FisherInformation`)."""
    best, rank = 1.0, sv.size
    for k in range(1, sv.size + 1):
        lower = sv[k] if k < sv.size else 0.0
        if k == sv.size:
            break
        if lower < NULL_RTOL * sv[0]:
            ratio = sv[k - 1] / lower if lower > 0 else np.inf
            if ratio > best:
                best, rank = ratio, k
    return rank, (float(best) if rank < sv.size else np.inf)


def _free_scores(model, names, raw):
    """Scores of the free parameters from the raw ones (``model.parameters()`` order)."""
    all_names = list(model.parameters())
    index = {name: i for i, name in enumerate(all_names)}
    J = model.prior.n_components
    last = raw[:, index[f"prior.weights[{J - 1}]"]]
    cols = []
    for name in names:
        col = raw[:, index[name]]
        if name.startswith("prior.weights["):
            col = col - last  # the last weight is one minus the others
        cols.append(col)
    return np.column_stack(cols)


def _perturbed(model, name, delta):
    """The model with ``name`` moved by ``delta`` (the last weight compensating a weight)."""
    prior = model.prior
    if name.startswith("prior.weights["):
        j = int(name[len("prior.weights["):-1])
        w = prior.weights.copy()
        w[j] += delta
        w[-1] -= delta
        return PushforwardModel(GaussianMixture(w, prior.means, prior.covariances),
                                model.network, model.noise_vector)
    return model.with_parameters({name: model.parameters()[name] + delta})


def _finite_difference_scores(model, names, X, step):
    params = model.parameters()
    cols = []
    for name in names:
        h = step * max(1.0, abs(params[name]))
        if name.startswith("prior.weights["):
            h = min(h, 0.5 * params[name], 0.5 * model.prior.weights[-1]) or h
        up = _perturbed(model, name, h)._logpdf(X)
        down = _perturbed(model, name, -h)._logpdf(X)
        cols.append((up - down) / (2 * h))
    return np.column_stack(cols)
