"""Exact maximum-likelihood fits of pushforward models to data.

:class:`ExactMLE` maximises the exact log-likelihood (not a bound) of a
``PushforwardModel`` of a given architecture over all its parameters, with
analytic gradients (:meth:`PushforwardModel.logpdf_grad`), L-BFGS in an
unconstrained parametrisation, and several starts built from the data.  It
follows scikit-learn's estimators (``fit``, ``score``, ``score_samples``,
``sample``, ``bic``, ``aic``; fitted attributes end in ``_``).
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from .._validation import check_array, check_int, check_samples, check_scalar
from ..model import capabilities
from ._initialization import initial_model
from ._parametrization import COVARIANCE_TYPES, Parametrization

__all__ = ["ExactMLE", "FitRestart"]


@dataclass(frozen=True)
class FitRestart:
    """One start of :meth:`ExactMLE.fit` and where it ended.

    Attributes
    ----------
    seed : int
        Seed of the start's random draws.
    theta : ndarray
        End point in the unconstrained parametrisation.
    nll : float
        Mean negative log-likelihood of the data at the end point, in nats.
    converged : bool
        Whether L-BFGS met its tolerance within ``max_iter`` iterations.
    n_iter : int
        L-BFGS iterations.
    """

    seed: int
    theta: np.ndarray
    nll: float
    converged: bool
    n_iter: int


def _fit_from(job):
    """One start: ``(X, estimator parameters, seed)`` -> FitRestart (module level, picklable).

    BLAS runs on one thread: the optimiser's vector operations are tiny, and
    a multithreaded BLAS makes each of them ~100x slower (measured: 0.25 s
    against 0.0017 s for 33 L-BFGS-B iterations in 13 dimensions on 2 cores).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_start(*job)


def _fit_start(X, params, seed):
    estimator = ExactMLE(**params)
    parametrization = estimator._parametrization(X.shape[1])
    rng = np.random.default_rng(seed)
    start = parametrization.point(initial_model(X, parametrization, rng))
    theta, nll, converged, n_iter = _minimise(X, parametrization, start, estimator.max_iter,
                                              estimator.tol)
    return FitRestart(seed=int(seed), theta=theta, nll=nll, converged=converged, n_iter=n_iter)


def _mean_nll_and_gradient(theta, X, parametrization):
    """Mean negative log-likelihood of ``X`` and its gradient in ``theta``."""
    try:
        model = parametrization.model(theta)
    except ValueError:
        return np.inf, np.zeros_like(theta)  # e.g. a covariance that underflowed
    log_p, grad = model._logpdf_and_grad(X)
    if not np.all(np.isfinite(log_p)):
        return np.inf, np.zeros_like(theta)
    n = X.shape[0]
    value = -float(np.sum(log_p)) / n
    # Column sums by numpy's pairwise summation (not BLAS), so the result does not
    # depend on the number of threads.
    g = -np.sum(grad, axis=0) / n
    return value, parametrization.gradient(theta, model, g)


def _minimise(X, parametrization, start, max_iter, tol):
    result = optimize.minimize(_mean_nll_and_gradient, start, args=(X, parametrization),
                               method="L-BFGS-B", jac=True,
                               options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-8,
                                        "maxcor": 20})
    value, _ = _mean_nll_and_gradient(result.x, X, parametrization)
    return result.x, float(value), bool(result.success), int(result.nit)


class ExactMLE:
    """Maximum-likelihood fit of ``x = f(z) + eps`` with the exact likelihood.

    Parameters
    ----------
    n_components : int, default=2
        Components ``J`` of the Gaussian-mixture prior.
    hidden_layer_sizes : tuple of int, default=(4,)
        Widths of the network's hidden layers.
    negative_slope : float, default=0.0
        Slope of the (leaky) ReLU for negative inputs.
    n_latent : int, default=1
        Latent dimension ``m`` (1 or 2).
    covariance_type : {"full", "diag", "spherical"}, default="full"
        Covariances of the prior: any, diagonal (condition (P2)'s family), or
        isotropic.
    noise_std : float, optional
        Fixed noise standard deviation (> 0); by default it is learned
        (isotropic).
    n_init : int, default=4
        Starts; the best end point is kept.
    max_iter : int, default=300
        L-BFGS iterations per start.
    tol : float, default=1e-10
        L-BFGS's relative tolerance on the mean negative log-likelihood.
    executor : concurrent.futures.Executor, optional
        Runs the starts (one job each; ``executor.map`` keeps their order).
        The result does not depend on it.
    random_state : None or int, default=None
        Seeds every start (start ``i`` gets the ``i``-th child of
        ``SeedSequence(random_state)``); the same value gives the same fit,
        byte for byte, whatever the executor.

    Attributes
    ----------
    model_ : PushforwardModel
        The fitted model.
    nll_ : float
        Its mean negative log-likelihood of the training data, in nats.
    converged_ : bool
        Whether the best start converged.
    n_iter_ : int
        L-BFGS iterations of the best start.
    restarts_ : tuple of FitRestart
        Every start, in start order.
    n_parameters_ : int
        Free parameters of the architecture, for :meth:`bic` and :meth:`aic`:
        the parametrisation's size less the dimensions the family's
        symmetries leave flat (affine maps of the latent the prior family
        absorbs, one rescaling per hidden unit).

    Notes
    -----
    The parametrisation is unconstrained (:mod:`._parametrization`): softmax
    mixture weights, Cholesky factors with log diagonals, log noise.  The
    gradient of the exact log-likelihood is analytic: on each region the
    posterior of ``z`` is a truncated Gaussian, and every derivative is an
    expectation under it.  Starts come from the data (:mod:`._initialization`:
    PCA codes, an EM mixture on them, a network near the PCA map).

    The model is identifiable only up to the symmetries of the family (an
    affine map of the latent, permutations and rescalings of hidden units):
    compare fits with :func:`~pwaffine.find_equivalence`, not by parameters.

    Examples
    --------
    >>> from pwaffine import ExactMLE, GaussianMixture, PushforwardModel, ReLUNetwork
    >>> truth = PushforwardModel(GaussianMixture([0.4, 0.6], [[-1.0], [1.5]], [[[0.3]], [[0.2]]]),
    ...                          ReLUNetwork([[[1.0], [-1.0]], [[1.0, 0.5]]], [[0.0, 0.5], [0.0]]),
    ...                          0.1)
    >>> X = truth.sample(2000, rng=0)
    >>> fit = ExactMLE(n_components=2, hidden_layer_sizes=(2,), n_init=2, random_state=0).fit(X)
    >>> bool(fit.score(X) >= truth.score(X))   # the maximum beats the truth on its own data
    True
    """

    def __init__(self, n_components=2, hidden_layer_sizes=(4,), negative_slope=0.0, n_latent=1,
                 covariance_type="full", noise_std=None, n_init=4, max_iter=300, tol=1e-10,
                 executor=None, random_state=None):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.negative_slope = negative_slope
        self.n_latent = n_latent
        self.covariance_type = covariance_type
        self.noise_std = noise_std
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.executor = executor
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        check_int(self.n_components, "n_components", low=1)
        check_int(self.n_latent, "n_latent", low=1)
        try:
            sizes = tuple(check_int(s, "hidden_layer_sizes entries", low=1)
                          for s in self.hidden_layer_sizes)
        except TypeError as exc:
            raise ValueError("hidden_layer_sizes must be a sequence of positive integers; got "
                             f"{self.hidden_layer_sizes!r}") from exc
        check_scalar(self.negative_slope, "negative_slope", low=0.0)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got "
                             f"{self.covariance_type!r}")
        if self.noise_std is not None:
            check_scalar(self.noise_std, "noise_std", low=0.0, low_inclusive=False)
        check_int(self.n_init, "n_init", low=1)
        check_int(self.max_iter, "max_iter", low=1)
        check_scalar(self.tol, "tol", low=0.0, low_inclusive=False)
        if not (self.random_state is None or isinstance(self.random_state, (int, np.integer))
                and not isinstance(self.random_state, bool) and self.random_state >= 0):
            raise ValueError(f"random_state must be None or a non-negative integer; got "
                             f"{self.random_state!r}")
        return sizes

    def _parametrization(self, n_features):
        sizes = self._check_params()
        return Parametrization(self.n_components, self.n_latent, n_features, sizes,
                               float(self.negative_slope), self.covariance_type,
                               None if self.noise_std is None else float(self.noise_std))

    def _symmetry_dim(self):
        """Dimensions the family's continuous symmetries leave flat (not free parameters).

        Affine maps of the latent that keep the prior in its family (``m^2 +
        m`` for full covariances; ``2 m``, scalings and translations, for
        diagonal ones; ``1 + m + m (m - 1) / 2``, a scaling, translations and
        rotations, for spherical ones) and one positive rescaling per hidden
        unit.
        """
        m = self.n_latent
        affine = {"full": m * m + m, "diag": 2 * m,
                  "spherical": 1 + m + m * (m - 1) // 2}[self.covariance_type]
        return affine + int(sum(self.hidden_layer_sizes))

    def get_params(self):
        """The constructor's parameters, as a dict (scikit-learn convention)."""
        return {name: getattr(self, name) for name in (
            "n_components", "hidden_layer_sizes", "negative_slope", "n_latent",
            "covariance_type", "noise_std", "n_init", "max_iter", "tol", "executor",
            "random_state")}

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        """Fit the model to ``X`` by exact maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = check_array(X, "X", ndim=2)
        n_samples, n_features = X.shape
        parametrization = self._parametrization(n_features)
        capabilities.require(self.n_latent, n_features, True, "gradient",
                             caller="ExactMLE (exact gradients)")
        if n_samples <= parametrization.size:
            raise ValueError(
                f"X has {n_samples} samples, too few for the {parametrization.size} free "
                f"parameters of this architecture; give more samples or a smaller model")
        if np.ptp(X, axis=0).max() == 0.0:
            raise ValueError("X is constant: there is nothing to fit")
        seeds = np.random.SeedSequence(self.random_state).spawn(self.n_init)
        params = {**self.get_params(), "executor": None}
        jobs = [(X, params, int(s.generate_state(1)[0])) for s in seeds]
        if self.executor is None:
            restarts = [_fit_from(job) for job in jobs]
        else:
            restarts = list(self.executor.map(_fit_from, jobs))
        best = min(range(len(restarts)), key=lambda i: (restarts[i].nll, i))
        self.restarts_ = tuple(restarts)
        self.model_ = parametrization.model(restarts[best].theta)
        self.nll_ = restarts[best].nll
        self.converged_ = restarts[best].converged
        self.n_iter_ = restarts[best].n_iter
        self.n_parameters_ = parametrization.size - self._symmetry_dim()
        self.n_features_in_ = n_features
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise ValueError("this ExactMLE is not fitted yet; call fit(X) first")

    # ------------------------------------------------------------------ scoring
    def score_samples(self, X):
        """Exact log-likelihood of each sample under the fitted model."""
        self._check_fitted()
        return self.model_.logpdf(X)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the fitted model, in nats."""
        self._check_fitted()
        return self.model_.score(X)

    def sample(self, n_samples, rng=None):
        """Draw from the fitted model; returns ``X`` of shape (n_samples, n_features)."""
        self._check_fitted()
        return self.model_.sample(n_samples, rng=rng)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better)."""
        X = check_samples(X, getattr(self, "n_features_in_", 1), "X")
        return -2.0 * self.score(X) * X.shape[0] + self.n_parameters_ * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better)."""
        return -2.0 * self.score(X) * check_samples(X, self.n_features_in_, "X").shape[0] \
            + 2.0 * self.n_parameters_
