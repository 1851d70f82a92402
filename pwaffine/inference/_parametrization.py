"""An unconstrained parametrisation of ``PushforwardModel`` for optimisers.

The vector ``theta`` holds, in order:

* ``J - 1`` mixture logits (``weights = softmax([0, logits])``);
* the means, ``J * m``;
* the covariances: ``"full"``: per component the lower Cholesky factor,
  its diagonal as logarithms, row by row (``m (m + 1) / 2`` numbers);
  ``"diag"``: the log standard deviation of each coordinate (``m``);
  ``"spherical"``: one log standard deviation (``1``);
* every network weight and bias, in the order of ``model.parameters()``;
* ``log(noise_std)`` (isotropic), unless the noise is fixed.

:meth:`Parametrization.model` builds the model of a vector and
:meth:`Parametrization.gradient` maps the gradient of a function of the model,
given in the order of ``model.parameters()`` (as
:meth:`PushforwardModel.logpdf_grad` returns it), to ``theta`` by the chain
rule.
"""

import numpy as np

from ..model import GaussianMixture, PushforwardModel, ReLUNetwork

__all__ = ["COVARIANCE_TYPES", "Parametrization"]

COVARIANCE_TYPES = ("full", "diag", "spherical")


class Parametrization:
    """The map ``theta -> PushforwardModel`` for one architecture.

    Parameters
    ----------
    n_components, n_latent, n_features : int
    hidden_layer_sizes : tuple of int
    negative_slope : float
    covariance_type : {"full", "diag", "spherical"}
    noise_std : float or None
        Fixed noise, or None to learn it.
    """

    def __init__(self, n_components, n_latent, n_features, hidden_layer_sizes, negative_slope,
                 covariance_type, noise_std):
        self.J = n_components
        self.m = n_latent
        self.n = n_features
        self.sizes = [n_latent, *hidden_layer_sizes, n_features]
        self.negative_slope = negative_slope
        self.covariance_type = covariance_type
        self.noise_std = noise_std
        self._n_cov = {"full": self.m * (self.m + 1) // 2, "diag": self.m, "spherical": 1}[
            covariance_type]
        self._n_net = sum(o * i + o for i, o in zip(self.sizes[:-1], self.sizes[1:]))
        self._tril = np.tril_indices(self.m)

    @property
    def size(self):
        """Length of ``theta``."""
        return (self.J - 1 + self.J * self.m + self.J * self._n_cov + self._n_net
                + (self.noise_std is None))

    def _split(self, theta):
        J, m = self.J, self.m
        parts = {}
        pos = 0
        for name, count in (("logits", J - 1), ("means", J * m), ("cov", J * self._n_cov),
                            ("net", self._n_net), ("noise", int(self.noise_std is None))):
            parts[name] = theta[pos:pos + count]
            pos += count
        return parts

    def _cholesky(self, cov_params):
        """Lower Cholesky factors ``(J, m, m)`` of the covariances."""
        J, m = self.J, self.m
        L = np.zeros((J, m, m))
        p = cov_params.reshape(J, self._n_cov)
        if self.covariance_type == "full":
            L[:, self._tril[0], self._tril[1]] = p
            d = np.arange(m)
            L[:, d, d] = np.exp(L[:, d, d])
        elif self.covariance_type == "diag":
            d = np.arange(m)
            L[:, d, d] = np.exp(p)
        else:
            d = np.arange(m)
            L[:, d, d] = np.exp(p[:, :1])
        return L

    def model(self, theta):
        """The model of ``theta``."""
        parts = self._split(np.asarray(theta, dtype=np.float64))
        logits = np.concatenate([[0.0], parts["logits"]])
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        L = self._cholesky(parts["cov"])
        cov = L @ np.swapaxes(L, 1, 2)
        means = parts["means"].reshape(self.J, self.m)
        W, B = [], []
        pos = 0
        net = parts["net"]
        for d_in, d_out in zip(self.sizes[:-1], self.sizes[1:]):
            W.append(net[pos:pos + d_out * d_in].reshape(d_out, d_in))
            pos += d_out * d_in
            B.append(net[pos:pos + d_out])
            pos += d_out
        noise = self.noise_std if self.noise_std is not None else float(np.exp(parts["noise"][0]))
        return PushforwardModel(GaussianMixture(weights, means, cov),
                                ReLUNetwork(W, B, self.negative_slope), noise)

    def point(self, model):
        """The ``theta`` of a model of this architecture (inverse of :meth:`model`).

        Diagonal and spherical covariance types take the model's diagonal
        (spherical: the mean log standard deviation); a zero mixture weight
        becomes a logit of -700.
        """
        J, m = self.J, self.m
        with np.errstate(divide="ignore"):
            logw = np.log(model.prior.weights)
        logw = np.maximum(logw, -700.0)
        logits = logw[1:] - logw[0]
        L = model.prior.cholesky
        if self.covariance_type == "full":
            Lp = L.copy()
            d = np.arange(m)
            Lp[:, d, d] = np.log(Lp[:, d, d])
            cov = Lp[:, self._tril[0], self._tril[1]]
        else:
            log_sd = 0.5 * np.log(np.diagonal(model.prior.covariances, axis1=1, axis2=2))
            cov = log_sd if self.covariance_type == "diag" else log_sd.mean(axis=1, keepdims=True)
        net = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in
                              zip(model.network.weights, model.network.biases)])
        parts = [logits, model.prior.means.ravel(), cov.ravel(), net]
        if self.noise_std is None:
            parts.append([np.log(float(np.mean(model.noise_vector)))])
        return np.concatenate(parts)

    def gradient(self, theta, model, grad_params):
        """Chain rule: a gradient in ``model.parameters()`` order -> the gradient in ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (size,)
        model : PushforwardModel
            ``self.model(theta)``.
        grad_params : ndarray of shape (n_parameters,)
            Raw mixture-weight partials, then means, covariance entries
            ``(d, e)``, ``d <= e`` (an off-diagonal entry moving both symmetric
            entries), network, noise (isotropic).
        """
        J, m = self.J, self.m
        n_cov_entries = m * (m + 1) // 2
        pos = 0
        g_w = grad_params[pos:pos + J]
        pos += J
        g_mu = grad_params[pos:pos + J * m]
        pos += J * m
        g_cov = grad_params[pos:pos + J * n_cov_entries].reshape(J, n_cov_entries)
        pos += J * n_cov_entries
        g_net = grad_params[pos:pos + self._n_net]
        pos += self._n_net
        g_noise = grad_params[pos:]
        weights = model.prior.weights
        g_logits = (weights * (g_w - weights @ g_w))[1:]
        # The symmetric matrix gradient S (dF = tr(S dSigma)) from the entry derivatives.
        iu = np.triu_indices(m)
        S = np.zeros((J, m, m))
        S[:, iu[0], iu[1]] = g_cov
        S = S + np.swapaxes(S, 1, 2)
        d = np.arange(m)
        S[:, d, d] *= 0.5
        off = iu[0] != iu[1]
        S[:, iu[0][off], iu[1][off]] *= 0.5
        S[:, iu[1][off], iu[0][off]] *= 0.5
        L = model.prior.cholesky
        if self.covariance_type == "full":
            G = 2.0 * S @ L  # dF/dL for Sigma = L L^T
            G[:, d, d] *= L[:, d, d]  # log-diagonal
            g_c = G[:, self._tril[0], self._tril[1]]
        else:
            var = np.diagonal(model.prior.covariances, axis1=1, axis2=2)
            g_diag = 2.0 * np.diagonal(S, axis1=1, axis2=2) * var  # d/d log sd_d
            g_c = g_diag if self.covariance_type == "diag" else g_diag.sum(axis=1, keepdims=True)
        parts = [g_logits, g_mu, g_c.ravel(), g_net]
        if self.noise_std is None:
            parts.append(g_noise[:1] * model.noise_vector[0])
        return np.concatenate(parts)
