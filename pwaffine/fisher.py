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

from . import _integrals, _quadrature
from ._validation import check_int, check_rng
from .likelihood import _truth_domain
from .mixture import GaussianMixture
from .model import PushforwardModel

__all__ = ["FisherInformation", "fisher_information", "free_parameters", "predicted_null_dim"]

#: Only singular values (of the weighted score matrix) below this fraction of
#: the largest can be numerically zero; among the cuts below it the rank is
#: placed at the largest ratio between consecutive singular values.  Exact
#: null directions sit at ~1e-13 relative with analytic scores (~1e-8 with
#: finite differences), weakly identified ones typically at 1e-8..1e-3.
NULL_RTOL = 1e-6


@dataclass
class FisherInformation:
    """Fisher information of the free parameters and its spectrum.

    Attributes
    ----------
    names : list of str
        Free parameters (see :func:`free_parameters`).
    matrix : ndarray of shape (n_free, n_free)
    singular_values : ndarray of shape (n_free,)
        Eigenvalues of ``matrix`` (it is symmetric positive semidefinite), decreasing.
    rank : int
        Numerical rank: the cut is placed at the largest ratio between
        consecutive singular values of the weighted score matrix, among the
        cuts whose lower value is below ``NULL_RTOL`` times the largest (no
        such cut: full rank).
    null_dim : int
        ``n_free - rank``.
    gap : float
        Ratio of the singular values on either side of the cut (``inf`` if the
        cut is at an exact zero); a large gap means a clear-cut rank.
    null_space : ndarray of shape (n_free, null_dim)
        Orthonormal basis of the numerical null space, in ``names`` order.
    method : str
        How the scores and the expectation were computed.
    """

    names: list
    matrix: np.ndarray
    singular_values: np.ndarray
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

    Scores are analytic for a 1-D latent (:meth:`PushforwardModel.score`) and
    central finite differences of the exact log density otherwise (relative
    step ``step``).  The expectation over ``x`` is a quadrature for
    ``n_features <= 2`` and a 1-D latent (the nodes and weights of
    :class:`~pwaffine.PopulationNLL`'s fixed rule), else a Monte Carlo average
    over ``n_samples`` draws from the model (seeded by ``rng``).

    Parameters
    ----------
    model : PushforwardModel
        Noisy (``noise_std > 0``).
    prior_family : {"full", "diagonal"}
        Which covariance entries are free (see :func:`free_parameters`).
    n_samples : int, optional
        Monte Carlo size when quadrature is not available (default 20000).
    rng : None, int or Generator
    step : float, default=1e-5
        Relative finite-difference step (latent dimensions other than 1).

    Returns
    -------
    FisherInformation
    """
    if not isinstance(model, PushforwardModel):
        raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
    if model.is_noiseless:
        raise ValueError("the Fisher information needs noise_std > 0")
    names = free_parameters(model, prior_family)
    if model.n_features <= 2:
        X, weights = _quadrature_nodes(model)
        method = "analytic scores, Gauss quadrature over x"
    else:
        n = 20000 if n_samples is None else check_int(n_samples, "n_samples", low=10)
        X = model.sample(n, rng=check_rng(rng))
        weights = np.full(n, 1.0 / n)
        method = f"scores by {'analytic derivatives' if model.n_latent == 1 else 'finite differences'}, " \
                 f"Monte Carlo over {n} samples"
    if model.n_latent == 1:
        log_p, raw = _integrals.score_intervals(model, X)
        scores = _free_scores(model, names, raw)
    else:
        log_p = model._logpdf(X)
        scores = _finite_difference_scores(model, names, X, step)
        method = method.replace("analytic scores", "finite-difference scores")
    if model.n_features <= 2:
        weights = weights * np.exp(log_p)
    G = scores * np.sqrt(weights)[:, None]
    matrix = G.T @ G
    _, sv, vt = np.linalg.svd(G, full_matrices=False)
    rank, gap = _numerical_rank(sv)
    eig = sv**2
    null_space = vt[rank:].T
    return FisherInformation(names=names, matrix=matrix, singular_values=eig, rank=rank,
                             null_dim=len(names) - rank, gap=gap, null_space=null_space,
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


def _quadrature_nodes(model):
    if model.n_latent == 2:
        return _quadrature_nodes_latent_2d(model)
    dom = _truth_domain(model, 1.0)
    if model.n_features == 1:
        x, w = _quadrature.kronrod_nodes_1d(dom["edges"])
        return x[:, None], w
    u = _quadrature.KRONROD_NODES
    w1 = _quadrature.KRONROD_WEIGHTS
    half = 0.5 * dom["size"]
    offsets = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
    w2 = np.outer(w1, w1).ravel() * half**2
    centers = dom["lower"] + half
    X = (centers[:, None, :] + half * offsets[None]).reshape(-1, 2)
    return X, np.tile(w2, len(centers))


#: Latent half-width (prior standard deviations) and noise padding (noise
#: standard deviations) of the region integrated over for 2-D latents.
LATENT_2D_N_SD = 6.0
NOISE_2D_N_SD = 7.0


def _quadrature_nodes_latent_2d(model):
    """Tensor 5-point Gauss nodes on squares of side twice ``noise_std`` covering ``P(X)``.

    The squares kept are those within ``NOISE_2D_N_SD`` noise standard
    deviations of the image of a dense grid over the prior's bulk
    (``LATENT_2D_N_SD`` standard deviations around every mean); the mass
    outside is below ~1e-10.  ``n_features == 2`` only.
    """
    prior, net = model.prior, model.network
    keep = prior.weights > 0
    sd = np.sqrt(np.diagonal(prior.covariances[keep], axis1=1, axis2=2))
    lo = (prior.means[keep] - LATENT_2D_N_SD * sd).min(axis=0)
    hi = (prior.means[keep] + LATENT_2D_N_SD * sd).max(axis=0)
    g = [np.linspace(lo[t], hi[t], 301) for t in range(2)]
    Z = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 2)
    image = net.forward(Z)
    size = 2.0 * float(model._noise.min())
    reach = int(np.ceil(NOISE_2D_N_SD * model._noise.max() / size)) + 1
    origin = image.min(axis=0) - (reach + 1) * size
    cells = np.floor((image - origin) / size).astype(np.int64)
    shape = cells.max(axis=0) + reach + 2
    occupied = np.zeros(shape, bool)
    occupied[cells[:, 0], cells[:, 1]] = True
    from scipy.ndimage import binary_dilation

    disk = np.add.outer(np.arange(-reach, reach + 1) ** 2, np.arange(-reach, reach + 1) ** 2) <= reach**2
    occupied = binary_dilation(occupied, structure=disk)
    lower = origin + size * np.argwhere(occupied)
    x, w = np.polynomial.legendre.leggauss(5)
    half = 0.5 * size
    offsets = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
    w2 = np.outer(w, w).ravel() * half**2
    X = (lower[:, None, :] + half + half * offsets[None]).reshape(-1, 2)
    return X, np.tile(w2, len(lower))


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
                                model.network, model._noise)
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
