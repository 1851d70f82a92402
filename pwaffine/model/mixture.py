"""Gaussian-mixture priors on the latent space."""

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    MAX_SCALE,
    check_array,
    check_covariances,
    check_int,
    check_rng,
    check_samples,
    check_weights,
)

__all__ = ["GaussianMixture"]

_LOG_2PI = np.log(2.0 * np.pi)


class GaussianMixture:
    """A finite mixture of multivariate normal distributions.

    ``p(z) = sum_j weights[j] * N(z; means[j], covariances[j])``.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
        Mixing proportions: non-negative, summing to one within ``1e-9``
        (they are then renormalised exactly).  Zero weights are allowed.
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
        Symmetric positive definite matrices.

    Attributes
    ----------
    n_components : int
    n_features : int
        Latent dimension ``m``.
    cholesky : ndarray of shape (n_components, n_features, n_features)
        Lower Cholesky factors of the covariances; every log-determinant and
        whitening in pwaffine derives from them.

    Examples
    --------
    >>> from pwaffine import GaussianMixture
    >>> prior = GaussianMixture([0.3, 0.7], [[-1.0], [2.0]], [[[0.25]], [[1.0]]])
    >>> prior.logpdf([[0.0]]).round(6)
    array([-2.656574])
    """

    def __init__(self, weights, means, covariances):
        self.weights = check_weights(weights, "weights")
        n_components = self.weights.shape[0]
        means = check_array(means, "means", ndim=2)
        if means.shape[0] != n_components:
            raise ValueError(
                f"means must have shape (n_components, n_features) with n_components="
                f"{n_components} (the length of weights); got shape {means.shape}"
            )
        self.means = means
        self.covariances, self.cholesky = check_covariances(
            covariances, n_components, means.shape[1], "covariances"
        )
        eig = np.linalg.eigvalsh(self.covariances)
        sd_min, sd_max = float(np.sqrt(eig[:, 0].min())), float(np.sqrt(eig[:, -1].max()))
        if not (np.abs(means).max() <= MAX_SCALE and 1.0 / MAX_SCALE <= sd_min
                and sd_max <= MAX_SCALE):
            raise ValueError(
                f"means and standard deviations must lie within [{1 / MAX_SCALE:.0e}, "
                f"{MAX_SCALE:.0e}] in magnitude (got |means| up to {np.abs(means).max():.3g}, "
                f"standard deviations from {sd_min:.3g} to {sd_max:.3g}); rescale the latent"
            )
        for arr in (self.weights, self.means, self.covariances, self.cholesky):
            arr.setflags(write=False)

    @property
    def n_components(self):
        return self.weights.shape[0]

    @property
    def n_features(self):
        return self.means.shape[1]

    @property
    def log_det_covariances(self):
        """Log-determinants of the covariances, shape ``(n_components,)``."""
        return 2.0 * np.log(np.diagonal(self.cholesky, axis1=1, axis2=2)).sum(axis=1)

    def __repr__(self):
        return f"GaussianMixture(n_components={self.n_components}, n_features={self.n_features})"

    @classmethod
    def from_std(cls, weights, means, stds):
        """Mixture with diagonal covariances given by per-coordinate standard deviations.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
        means : array-like of shape (n_components, n_features)
        stds : array-like of shape (n_components, n_features) or (n_components,)
            Standard deviations; a 1-D array gives isotropic components.
        """
        means = check_array(means, "means", ndim=2)
        stds = check_array(stds, "stds")
        if stds.ndim == 1:
            stds = np.repeat(stds[:, None], means.shape[1], axis=1)
        if stds.shape != means.shape:
            raise ValueError(f"stds must have shape {means.shape} or ({means.shape[0]},); "
                             f"got {stds.shape}")
        if np.any(stds <= 0):
            raise ValueError(f"stds must be positive; got {stds}")
        cov = np.zeros(means.shape + (means.shape[1],))
        idx = np.arange(means.shape[1])
        cov[:, idx, idx] = stds**2
        return cls(weights, means, cov)

    # --------------------------------------------------------------- density
    def logpdf(self, Z):
        """Log density at ``Z``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        Z = check_samples(Z, self.n_features, "Z")
        return logsumexp(self._component_logpdf(Z), axis=1)

    def pdf(self, Z):
        """Density at ``Z``; ``exp(logpdf(Z))``."""
        return np.exp(self.logpdf(Z))

    def _component_logpdf(self, Z):
        """``log(weights[j]) + log N(z; means[j], covariances[j])``, shape (n_samples, J)."""
        out = np.empty((Z.shape[0], self.n_components))
        with np.errstate(divide="ignore"):
            log_w = np.log(self.weights)
        for j in range(self.n_components):
            U = np.linalg.solve(self.cholesky[j], (Z - self.means[j]).T)
            out[:, j] = (
                log_w[j]
                - 0.5 * (self.n_features * _LOG_2PI + self.log_det_covariances[j])
                - 0.5 * np.einsum("ij,ij->j", U, U)
            )
        return out

    # -------------------------------------------------------------- sampling
    def sample(self, n_samples, rng=None, return_labels=False):
        """Draw samples.

        Parameters
        ----------
        n_samples : int
        rng : None, int or numpy.random.Generator
        return_labels : bool, default=False
            Also return the component index of each sample.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,), only if ``return_labels``
        """
        n_samples = check_int(n_samples, "n_samples", low=0)
        rng = check_rng(rng)
        labels = rng.choice(self.n_components, size=n_samples, p=self.weights)
        noise = rng.standard_normal((n_samples, self.n_features))
        Z = self.means[labels] + np.einsum("nij,nj->ni", self.cholesky[labels], noise)
        return (Z, labels) if return_labels else Z
