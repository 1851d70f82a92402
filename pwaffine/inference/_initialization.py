"""Starting points for maximum-likelihood fits, from the data.

Every start is a model whose ``P(X)`` already resembles the data:

1. the latent codes are the data's first ``m`` principal components,
   standardised (for ``n < m`` the missing ones are drawn at random);
2. the prior is a Gaussian mixture fitted to those codes by EM (k-means++
   seeding from the start's random stream, then ``EM_ITERATIONS`` steps);
3. the network's hidden layers are random (each unit's kink passes through a
   random latent code, so every unit is active on part of the data), and its
   output layer is the least-squares fit of the data on the hidden
   activations: ``f`` starts near the PCA map;
4. the noise is the root-mean-square residual of that fit.

The random draws (seeding, units) differ between starts; each start takes its
own ``numpy.random.Generator``.
"""

import numpy as np
from scipy.special import logsumexp

from ..model import GaussianMixture, PushforwardModel, ReLUNetwork

__all__ = ["initial_model"]

#: EM steps of the prior's initial fit.
EM_ITERATIONS = 60
#: Variance floor of the EM fit, relative to the codes' unit variance.
EM_VARIANCE_FLOOR = 1e-3


def _pca_codes(X, m, rng):
    """Standardised scores of the first ``m`` principal components (random columns if n < m)."""
    centre = X.mean(axis=0)
    _, s, Vt = np.linalg.svd(X - centre, full_matrices=False)
    k = min(m, Vt.shape[0])
    Z = (X - centre) @ Vt[:k].T
    Z /= np.maximum(Z.std(axis=0), 1e-12)
    if k < m:
        Z = np.hstack([Z, rng.standard_normal((X.shape[0], m - k))])
    return Z


def _kmeans_pp(Z, J, rng):
    centres = [Z[rng.integers(Z.shape[0])]]
    for _ in range(1, J):
        d2 = np.min([np.sum((Z - c) ** 2, axis=1) for c in centres], axis=0)
        total = d2.sum()
        p = d2 / total if total > 0 else None
        centres.append(Z[rng.choice(Z.shape[0], p=p)])
    return np.array(centres)


def _em_mixture(Z, J, covariance_type, rng):
    """Weights, means and covariances of a J-component mixture fitted to ``Z`` by EM."""
    N, m = Z.shape
    means = _kmeans_pp(Z, J, rng)
    cov = np.repeat(np.cov(Z, rowvar=False).reshape(1, m, m) / J + EM_VARIANCE_FLOOR * np.eye(m),
                    J, axis=0)
    weights = np.full(J, 1.0 / J)
    for _ in range(EM_ITERATIONS):
        L = np.linalg.cholesky(cov)
        log_r = np.empty((N, J))
        for j in range(J):
            U = np.linalg.solve(L[j], (Z - means[j]).T)
            log_r[:, j] = (np.log(weights[j]) - np.log(np.diagonal(L[j])).sum()
                           - 0.5 * np.einsum("ij,ij->j", U, U))
        r = np.exp(log_r - logsumexp(log_r, axis=1, keepdims=True))
        nk = r.sum(axis=0) + 1e-10
        weights = nk / N
        means = (r.T @ Z) / nk[:, None]
        for j in range(J):
            D = Z - means[j]
            C = (r[:, j, None] * D).T @ D / nk[j]
            if covariance_type == "diag":
                C = np.diag(np.diag(C))
            elif covariance_type == "spherical":
                C = np.eye(m) * np.trace(C) / m
            cov[j] = C + EM_VARIANCE_FLOOR * np.eye(m)
    return weights / weights.sum(), means, cov


def initial_model(X, parametrization, rng):
    """A starting model for ``X`` (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    parametrization : Parametrization
    rng : numpy.random.Generator

    Returns
    -------
    PushforwardModel
    """
    p = parametrization
    Z = _pca_codes(X, p.m, rng)
    weights, means, cov = _em_mixture(Z, p.J, p.covariance_type, rng)
    W, B = [], []
    H = Z
    for d_in, d_out in zip(p.sizes[:-2], p.sizes[1:-1]):
        directions = rng.standard_normal((d_out, d_in))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        anchors = H[rng.integers(H.shape[0], size=d_out)]
        bias = -np.einsum("ij,ij->i", directions, anchors)
        W.append(directions)
        B.append(bias)
        pre = H @ directions.T + bias
        H = np.where(pre > 0, pre, p.negative_slope * pre)
    features = np.hstack([H, np.ones((H.shape[0], 1))])
    ridge = 1e-6 * np.trace(features.T @ features) / features.shape[1]
    coef = np.linalg.solve(features.T @ features + ridge * np.eye(features.shape[1]),
                           features.T @ X)
    W.append(coef[:-1].T)
    B.append(coef[-1])
    residual = X - features @ coef
    scale = float(np.sqrt(np.mean((X - X.mean(axis=0)) ** 2)))
    noise = float(np.sqrt(np.mean(residual**2)))
    noise = max(noise, 1e-3 * scale) if p.noise_std is None else p.noise_std
    return PushforwardModel(GaussianMixture(weights, means, cov), ReLUNetwork(W, B, p.negative_slope),
                            noise)
