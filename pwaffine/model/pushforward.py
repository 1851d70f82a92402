"""The deep latent-variable model ``x = f(z) + eps`` and its exact density."""

import numpy as np

from .._validation import MAX_SCALE, check_array, check_int, check_rng, check_samples
from . import capabilities, density_intervals, density_noiseless, density_polygons, parameters
from .mixture import GaussianMixture
from .network import ReLUNetwork

__all__ = ["PushforwardModel"]

#: Density backends of noisy models, by latent dimension; each module has
#: ``build_tables(regions, prior, noise)`` and ``logpdf(tables, X)``, and
#: ``logpdf_and_grad(model, X)`` where the capability table offers a gradient.
_BACKENDS = {1: density_intervals, 2: density_polygons}


class PushforwardModel:
    """``x = f(z) + eps`` with ``z`` a Gaussian mixture, ``f`` a (leaky) ReLU network.

    ``eps ~ N(0, diag(noise_std**2))`` independent of ``z``.  The density of
    ``x`` is computed exactly (to floating-point accuracy) by summing closed-form
    Gaussian integrals over the affine regions of ``f``.

    Parameters
    ----------
    prior : GaussianMixture
        Latent distribution, of dimension ``m = network.n_inputs``.
    network : ReLUNetwork
        Decoder ``f``.
    noise_std : float or array-like of shape (n,)
        Noise standard deviation, a scalar or one per observed coordinate.
        ``0`` gives the noiseless model ``x = f(z)``; a vector must be all
        positive or all zero.

    Attributes
    ----------
    n_latent : int
        ``m``.
    n_features : int
        ``n``, the observed dimension.

    Notes
    -----
    With ``R_k`` the affine regions (``f(z) = A_k z + c_k`` on ``R_k``) and
    ``lambda_j, mu_j, Sigma_j`` the prior's weights, means and covariances,

    .. math::

        p(x) = \\sum_k \\sum_j \\lambda_j\\,
               N(x; A_k\\mu_j + c_k, A_k\\Sigma_j A_k^T + D)\\,
               P_{z \\sim N(m_{jk}(x), S_{jk})}(z \\in R_k),

    with ``D = diag(noise_std**2)`` and ``m_jk, S_jk`` from Gaussian
    conditioning.  The sum is evaluated in log space, with tail-accurate
    interval probabilities.

    Without noise the density follows from the change of variables over every
    preimage: ``p(x) = sum_{z: f(z) = x} p_Z(z) / |f'(z)|``, with respect to
    Lebesgue measure when ``n = m = 1`` and to arc length on the image curve
    when ``n > 1`` (``m = 1``).  If ``f`` is constant on a region the law has
    an atom and :meth:`logpdf` raises ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> prior = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[0.3]], [[0.5]]])
    >>> f = ReLUNetwork([[[1.0], [-2.0]], [[1.0, 0.5]]], [[0.0, 0.5], [0.0]])
    >>> model = PushforwardModel(prior, f, noise_std=0.1)
    >>> model.logpdf(np.array([[0.3], [1.2]])).round(6)
    array([-0.865362, -0.458464])
    """

    def __init__(self, prior, network, noise_std):
        if not isinstance(prior, GaussianMixture):
            raise ValueError(f"prior must be a GaussianMixture; got {type(prior).__name__}")
        if not isinstance(network, ReLUNetwork):
            raise ValueError(f"network must be a ReLUNetwork; got {type(network).__name__}")
        if prior.n_features != network.n_inputs:
            raise ValueError(
                f"prior dimension ({prior.n_features}) must equal the network's input "
                f"dimension ({network.n_inputs})"
            )
        noise = check_array(noise_std, "noise_std")
        if noise.ndim == 0:
            noise = np.full(network.n_outputs, float(noise))
        elif noise.shape != (network.n_outputs,):
            raise ValueError(
                f"noise_std must be a scalar or have shape ({network.n_outputs},); "
                f"got shape {noise.shape}"
            )
        if np.any(noise < 0):
            raise ValueError(f"noise_std must be >= 0; got {noise_std}")
        if np.any(noise == 0) and np.any(noise > 0):
            raise ValueError(f"noise_std must be all positive or all zero; got {noise_std}")
        capabilities.require(network.n_inputs, network.n_outputs, noise[0] > 0, "density",
                             caller="PushforwardModel")
        if noise[0] > 0:
            _check_noise_scale(prior, network, noise)
        noise.setflags(write=False)
        self.prior = prior
        self.network = network
        self._noise = noise
        self._tables = None  # per-(region, component) constants, built on first use
        self._has_density = False  # noiseless: full rank on every region, checked once

    @property
    def noise_std(self):
        """Noise standard deviation: a float if isotropic, else an array of shape (n,)."""
        if np.all(self._noise == self._noise[0]):
            return float(self._noise[0])
        return self._noise.copy()

    @property
    def noise_vector(self):
        """Noise standard deviation of every observed coordinate, read-only, shape (n,)."""
        return self._noise

    @property
    def n_latent(self):
        return self.network.n_inputs

    @property
    def n_features(self):
        return self.network.n_outputs

    @property
    def is_noiseless(self):
        return bool(self._noise[0] == 0.0)

    def __repr__(self):
        return (f"PushforwardModel(prior={self.prior!r}, network={self.network!r}, "
                f"noise_std={self.noise_std!r})")

    # --------------------------------------------------------------- density
    def logpdf(self, X):
        """Exact log density of ``x``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        ValueError
            For malformed ``X``, or for a noiseless model whose law has an atom.
        """
        X = check_samples(X, self.n_features, "X")
        return self._logpdf(X)

    def pdf(self, X):
        """Density of ``x``; ``exp(logpdf(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.exp(self.logpdf(X))

    def score_samples(self, X):
        """Log density of each sample, as in scikit-learn; the same as :meth:`logpdf`."""
        return self.logpdf(X)

    def score(self, X):
        """Mean log-likelihood of the samples in nats, as in scikit-learn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            At least one sample.

        Returns
        -------
        float
            ``mean(logpdf(X))``.
        """
        X = check_samples(X, self.n_features, "X")
        if X.shape[0] == 0:
            raise ValueError("X must contain at least one sample")
        return float(np.mean(self._logpdf(X)))

    def logpdf_grad(self, X):
        """Gradient of ``log p(x)`` with respect to every parameter, point by point.

        Analytic: on each region the posterior of ``z`` is a truncated normal,
        and every derivative is an expectation of a polynomial in ``z`` under it
        (the region boundaries' own movement contributes nothing because ``f``
        is continuous).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_parameters)
            Columns in the order of :meth:`parameters`.  Mixture weights get
            raw partial derivatives (all weights treated as free, the sum
            constraint ignored); ``prior.covariances[j,d,e]`` gets the
            derivative with respect to that entry (both symmetric entries
            moving together); ``noise_std`` (isotropic) the derivative with
            respect to the common standard deviation.

        Raises
        ------
        NotImplementedError
            Where the capability table offers no gradient (noiseless models:
            their density is not smooth in the parameters).
        """
        X = check_samples(X, self.n_features, "X")
        self._require("gradient", "logpdf_grad")
        return self._logpdf_and_grad(X)[1]

    def _logpdf_and_grad(self, X):
        """Log density and gradient on clean ``X`` (the caller has checked the capability)."""
        return _BACKENDS[self.n_latent].logpdf_and_grad(self, X)

    def latent_mean(self, X):
        """Posterior mean ``E[z | x]`` of the latent at each sample.

        It follows from the gradient (Fisher's identity): with ``lambda_j``,
        ``mu_j``, ``Sigma_j`` the prior's components, ``d log p / d mu_j = Sigma_j^-1
        E[(z - mu_j) 1{j} | x]`` and ``lambda_j d log p / d lambda_j = P(j | x)``, so
        ``E[z | x] = sum_j (Sigma_j d log p / d mu_j + P(j | x) mu_j)``, exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_latent)
        """
        X = check_samples(X, self.n_features, "X")
        self._require("gradient", "latent_mean")
        grad = self._logpdf_and_grad(X)[1]
        J, m = self.prior.n_components, self.n_latent
        resp = grad[:, :J] * self.prior.weights  # P(j | x)
        d_mean = grad[:, J:J + J * m].reshape(-1, J, m)
        return (np.einsum("jab,njb->na", self.prior.covariances, d_mean)
                + resp @ self.prior.means)

    def _require(self, feature, caller, hint=""):
        """Raise unless the capability table offers ``feature`` for this model."""
        capabilities.require(self.n_latent, self.n_features, not self.is_noiseless, feature,
                             caller=caller, hint=hint)

    def _logpdf(self, X):
        regions = self.network.affine_regions()
        if self.is_noiseless:
            if not self._has_density:
                density_noiseless.check_no_atoms(regions, self.prior)  # raises: no density
                self._has_density = True
            return density_noiseless.logpdf(regions, self.prior, X)
        backend = _BACKENDS[self.n_latent]
        if self._tables is None:
            self._tables = backend.build_tables(regions, self.prior, self._noise)
        return backend.logpdf(self._tables, X)

    # ------------------------------------------------------------ parameters
    def parameters(self):
        """Every scalar parameter by name, in a fixed order.

        Returns
        -------
        dict
            ``name -> float``; names such as ``prior.weights[0]``,
            ``prior.means[1,0]``, ``prior.covariances[1,0,0]``,
            ``network.weights[0][1,0]``, ``network.biases[0][1]``, ``noise_std``.

        Examples
        --------
        >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
        >>> model = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
        ...                          ReLUNetwork([[[2.0]]], [[0.5]]), 0.1)
        >>> model.parameters()
        {'prior.weights[0]': 1.0, 'prior.means[0,0]': 0.0, 'prior.covariances[0,0,0]': 1.0, 'network.weights[0][0,0]': 2.0, 'network.biases[0][0]': 0.5, 'noise_std': 0.1}
        """
        return parameters.parameter_dict(self)

    def with_parameters(self, values=None, **kwargs):
        """A new model with some parameters changed.

        Parameters
        ----------
        values : mapping, optional
            ``name -> value`` with names from :meth:`parameters`.
        **kwargs
            More ``name=value`` pairs (for names that are identifiers, e.g.
            ``noise_std``).

        Returns
        -------
        PushforwardModel

        Notes
        -----
        Mixture weights: the weights not set are rescaled proportionally so that
        all weights sum to one (if they were all zero they share the remainder
        equally).  Setting ``prior.covariances[j,d,e]`` sets both symmetric
        entries.  The new model is validated like any other (a covariance that
        is no longer positive definite raises ``ValueError``).

        Examples
        --------
        >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
        >>> model = PushforwardModel(GaussianMixture([0.2, 0.3, 0.5], [[0.0], [1.0], [2.0]],
        ...                                          [[[1.0]]] * 3), ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
        >>> model.with_parameters({"prior.weights[0]": 0.6}).prior.weights
        array([0.6 , 0.15, 0.25])
        """
        merged = dict(values or {})
        merged.update(kwargs)
        new = parameters.apply_parameters(self, merged)
        prior = GaussianMixture(new["weights"], new["means"], new["covariances"])
        network = ReLUNetwork(new["net_weights"], new["net_biases"], self.network.negative_slope)
        return PushforwardModel(prior, network, new["noise"])

    # -------------------------------------------------------------- sampling
    def sample(self, n_samples, rng=None, return_latent=False):
        """Draw ``x = f(z) + eps``.

        Parameters
        ----------
        n_samples : int
        rng : None, int or numpy.random.Generator
        return_latent : bool, default=False
            Also return the latent ``z`` of each sample.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        Z : ndarray of shape (n_samples, n_latent), only if ``return_latent``
        """
        n_samples = check_int(n_samples, "n_samples", low=0)
        rng = check_rng(rng)
        Z = self.prior.sample(n_samples, rng=rng)
        X = self.network._forward(Z) + rng.standard_normal((n_samples, self.n_features)) * self._noise
        return (X, Z) if return_latent else X


def _check_noise_scale(prior, network, noise):
    """Refuse noise so small against the scale of ``f`` on the prior that float64 overflows.

    The densities work in noise-whitened coordinates; their quadratic forms
    reach ``(S / noise)**2`` with ``S`` the size of ``f(z)`` where the prior has
    its mass, bounded by ``L (|mu| + sd) + C`` (:meth:`ReLUNetwork.scale_bounds`).
    """
    lipschitz, offset = network.scale_bounds()
    sd = np.sqrt(np.linalg.eigvalsh(prior.covariances)[:, -1])
    reach = float(np.max(np.linalg.norm(prior.means, axis=1) + sd))
    ratio = (lipschitz * reach + offset) / float(noise.min())
    if not ratio <= MAX_SCALE:
        raise ValueError(
            f"noise_std={float(noise.min()):.3g} is too small for this model: f(z) reaches "
            f"{lipschitz * reach + offset:.3g} on the prior's bulk, {ratio:.3g} noise standard "
            f"deviations, beyond the {MAX_SCALE:.0e} that float64 resolves in the density's "
            f"quadratic forms; use noise_std=0 for the noiseless model, or rescale"
        )
