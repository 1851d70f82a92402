"""Negative log-likelihoods: on samples, and in the population limit by quadrature."""

import numpy as np

from .._validation import check_samples, check_scalar
from ..model.pushforward import PushforwardModel
from .domain import observation_domain

__all__ = ["PopulationNLL", "population_nll", "sample_nll"]

#: Initial panel width (1-D) or cell side (2-D), in units of the truth's noise.
PANEL_NOISE_RATIO = 1.0
#: Absolute tolerance of the adaptive quadrature (nats).
DEFAULT_TOL = 1e-10


def sample_nll(model, X):
    """Mean negative log-likelihood of a sample, in nats.

    Parameters
    ----------
    model : PushforwardModel
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    float
        ``-mean(model.logpdf(X))``.
    """
    if not isinstance(model, PushforwardModel):
        raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
    X = check_samples(X, model.n_features, "X")
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one sample")
    return float(-np.mean(model._logpdf(X)))


def population_nll(model, truth, tol=DEFAULT_TOL):
    """Population negative log-likelihood (cross-entropy) ``-int p_truth log p_model dx``.

    Parameters
    ----------
    model : PushforwardModel
        The model whose likelihood is evaluated.
    truth : PushforwardModel
        The data-generating model: a combination for which the capability
        table offers ``population_nll`` (``noise_std > 0``, ``n_features`` 1
        or 2).
    tol : float, default=1e-10
        Absolute tolerance of the adaptive quadrature over ``x``.

    Returns
    -------
    float
        In nats.  ``population_nll(truth, truth)`` is the differential entropy of
        ``P(X)``; the excess over it is ``KL(P_truth || P_model) >= 0``.  ``inf``
        when ``p_model`` vanishes where ``p_truth`` has mass, and for a noiseless
        model whose law has an atom (no density).

    See Also
    --------
    PopulationNLL : the same, reusable for many models against one truth.
    sample_nll : for ``n_features > 2``.
    """
    return PopulationNLL(truth, tol=tol)(model)


class PopulationNLL:
    """``model -> -int p_truth(x) log p_model(x) dx`` for a fixed truth.

    The integral is computed by adaptive Gauss-Kronrod quadrature over the
    cells of :func:`~pwaffine.inference.domain.observation_domain`, which
    cover the truth's mass (all but ~1e-22 of it): panels (1-D) or squares
    (2-D) as wide as the truth's noise standard deviation, split at the images
    of the truth's kinks, refined until the error estimate is below ``tol``.
    The truth's log density on the starting nodes is computed once and reused
    for every model.

    Parameters
    ----------
    truth : PushforwardModel
        A combination for which the capability table offers ``population_nll``
        (noisy, ``n_features`` 1 or 2).
    tol : float, default=1e-10
        Absolute tolerance of the quadrature, in nats.
    adaptive : bool, default=True
        If False, only the starting panels are used (no refinement): the
        result is then a smooth function of the model's parameters, which
        optimisers prefer; its accuracy is that of the fixed rule.
    panel_width : float, default=1.0
        Width of the starting panels in units of the truth's noise standard
        deviation (each panel carries a 15-point Kronrod rule).

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork, PopulationNLL
    >>> truth = PushforwardModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]),
    ...                          ReLUNetwork([[[1.0]]], [[0.0]]), 0.1)
    >>> round(PopulationNLL(truth)(truth), 10)  # entropy of N(0, 1.01)
    1.4239136986
    """

    def __init__(self, truth, tol=DEFAULT_TOL, adaptive=True, panel_width=PANEL_NOISE_RATIO):
        if not isinstance(truth, PushforwardModel):
            raise ValueError(f"truth must be a PushforwardModel; got {type(truth).__name__}")
        hint = ("population_nll integrates over x by quadrature, for n_features 1 and 2; "
                "otherwise use sample_nll(model, truth.sample(n, rng=...))"
                if truth.n_features > 2 else "")
        truth._require("population_nll", "population_nll (with this model as the truth)", hint)
        self.truth = truth
        self.tol = check_scalar(tol, "tol", low=0.0, low_inclusive=False)
        self.adaptive = bool(adaptive)
        self.panel_width = check_scalar(panel_width, "panel_width", low=0.0, low_inclusive=False)
        self._domain = observation_domain(truth, self.panel_width)
        self._start_nodes = None  # (X, truth's log density) on the starting nodes

    def __call__(self, model):
        """Population NLL of ``model`` in nats (see :func:`population_nll`)."""
        return float(self.with_error(model)[0])

    def with_error(self, model):
        """Population NLL and the quadrature's (conservative) error estimate."""
        self._check_model(model)
        if model.is_noiseless and _has_atom(model):
            # No density: the limit noise_std -> 0 of the NLL is +inf (the model's
            # density vanishes off its image, where the noisy truth has mass).
            return np.inf, 0.0
        tol = self.tol if self.adaptive else np.inf
        return self._domain.integrate(self._integrand(model), tol)

    def value_and_gradient(self, model):
        """Population NLL on the starting panels and its gradient.

        Uses the fixed rule (no refinement), so value and gradient belong to
        the same smooth function of the parameters.

        Returns
        -------
        value : float
        gradient : ndarray of shape (n_parameters,)
            In the order of ``model.parameters()`` (see
            :meth:`PushforwardModel.logpdf_grad` for the conventions).
        """
        self._check_model(model)
        model._require("gradient", "PopulationNLL.value_and_gradient")
        X, weights = self._domain.nodes()
        p_t = np.exp(self._truth_logpdf(X)) * weights
        log_m, grad = model._logpdf_and_grad(X)
        return float(-(p_t @ log_m)), -(p_t @ grad)

    @property
    def entropy(self):
        """Differential entropy of the truth's ``P(X)`` in nats."""
        return self(self.truth)

    def _check_model(self, model):
        if not isinstance(model, PushforwardModel):
            raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
        if model.n_features != self.truth.n_features:
            raise ValueError(
                f"model has n_features={model.n_features} but the truth has "
                f"{self.truth.n_features}"
            )

    def _truth_logpdf(self, X):
        """The truth's log density; on the starting nodes it is computed once and reused."""
        if self._start_nodes is None:
            nodes = self._domain.nodes()[0]
            self._start_nodes = (nodes, self.truth._logpdf(nodes))
        nodes, log_t = self._start_nodes
        if X.shape == nodes.shape and np.array_equal(X, nodes):
            return log_t
        return self.truth._logpdf(X)

    def _integrand(self, model):
        def fn(X):
            p_t = np.exp(self._truth_logpdf(X))
            log_m = model._logpdf(X)
            out = np.zeros(X.shape[0])
            mass = p_t > 0  # 0 * log(0) = 0 where the truth has no density
            out[mass] = -p_t[mass] * log_m[mass]
            return out

        return fn


def _has_atom(model):
    regions = model.network.affine_regions()
    return bool(np.any(np.all(regions.linear == 0.0, axis=(1, 2))))
