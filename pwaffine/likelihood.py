"""Negative log-likelihoods: on samples, and in the population limit by quadrature."""

import numpy as np

from . import _integrals, _quadrature
from ._validation import check_samples, check_scalar
from .model import PushforwardModel

__all__ = ["PopulationNLL", "population_nll", "sample_nll"]

#: Half-width, in prior standard deviations, of the latent range whose image
#: carries the truth's mass (the mass outside is below 2e-23).
LATENT_N_SD = 10.0
#: Padding of that image, in noise standard deviations.
NOISE_N_SD = 10.0
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
        The data-generating model; must have ``noise_std > 0``, a 1-D latent
        and ``n_features`` 1 or 2.
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
    region carrying the truth's mass: the image of the latent range
    ``mu_j +- 10 sd_j`` under the truth's network, padded by ten noise standard
    deviations (the truth's mass outside is below ``1e-22``).  It starts from
    panels (1-D) or squares (2-D) as wide as the truth's noise standard
    deviation, split at the images of the truth's kinks, and refines until the
    error estimate is below ``tol``.  The truth's log density on the starting
    nodes is computed once and reused for every model.

    Parameters
    ----------
    truth : PushforwardModel
        Noisy (``noise_std > 0``), 1-D latent, ``n_features`` 1 or 2.
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
        if truth.n_features > 2:
            raise ValueError(
                f"population_nll integrates over x by quadrature, which pwaffine supports for "
                f"n_features 1 and 2; the truth has n_features={truth.n_features}: use "
                f"sample_nll(model, truth.sample(n, rng=...)) instead"
            )
        if truth.n_latent != 1:
            raise NotImplementedError(
                f"population_nll supports 1-D latents; the truth has n_latent={truth.n_latent}"
            )
        if truth.is_noiseless:
            raise ValueError("truth must have noise_std > 0 (a noiseless truth has no density "
                             "with respect to Lebesgue measure on R^n for n > m)")
        self.truth = truth
        self.tol = check_scalar(tol, "tol", low=0.0, low_inclusive=False)
        self.adaptive = bool(adaptive)
        self.panel_width = check_scalar(panel_width, "panel_width", low=0.0, low_inclusive=False)
        self._domain = _truth_domain(truth, self.panel_width)
        self._cache = None

    def __call__(self, model):
        """Population NLL of ``model`` in nats (see :func:`population_nll`)."""
        if not isinstance(model, PushforwardModel):
            raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
        if model.n_features != self.truth.n_features:
            raise ValueError(
                f"model has n_features={model.n_features} but the truth has "
                f"{self.truth.n_features}"
            )
        return float(self._evaluate(model)[0])

    def with_error(self, model):
        """Population NLL and the quadrature's (conservative) error estimate."""
        return self._evaluate(model)

    def value_and_gradient(self, model):
        """Population NLL on the starting panels and its gradient.

        Uses the fixed rule (no refinement), so value and gradient belong to
        the same smooth function of the parameters.

        Returns
        -------
        value : float
        gradient : ndarray of shape (n_parameters,)
            In the order of ``model.parameters()`` (see
            :meth:`PushforwardModel.score` for the conventions).
        """
        X, weights = self._fixed_nodes()
        p_t = np.exp(self._truth_logpdf(X)) * weights
        log_m, scores = _integrals.score_intervals(model, X)
        return float(-(p_t @ log_m)), -(p_t @ scores)

    def _fixed_nodes(self):
        if self.truth.n_features == 1:
            x, w = _quadrature.kronrod_nodes_1d(self._domain["edges"])
            return x[:, None], w
        raise NotImplementedError("value_and_gradient is implemented for n_features=1")

    @property
    def entropy(self):
        """Differential entropy of the truth's ``P(X)`` in nats."""
        return self(self.truth)

    def _truth_logpdf(self, X):
        """The truth's log density; the starting nodes' values are computed once and reused."""
        if self._cache is not None and np.array_equal(self._cache[0], X):
            return self._cache[1]
        log_t = self.truth._logpdf(X)
        if self._cache is None:  # the first call is on the starting nodes
            self._cache = (X, log_t)
        return log_t

    def _integrand(self, model):
        def fn(x):
            X = x.reshape(-1, self.truth.n_features)
            log_t = self._truth_logpdf(X)
            log_m = model._logpdf(X)
            p_t = np.exp(log_t)
            with np.errstate(invalid="ignore"):
                out = -p_t * log_m
            out[p_t == 0] = 0.0
            return out

        return fn

    def _evaluate(self, model):
        if model.is_noiseless and _has_atom(model):
            # No density: the limit noise_std -> 0 of the NLL is +inf (the model's
            # density vanishes off its image, where the noisy truth has mass).
            return np.inf, 0.0
        fn = self._integrand(model)
        dom = self._domain
        if self.truth.n_features == 1:
            if not self.adaptive:
                return _fixed_1d(fn, dom["edges"])
            return _quadrature.integrate_1d(fn, dom["edges"], self.tol)
        if not self.adaptive:
            return _fixed_2d(fn, dom["lower"], dom["size"])
        return _quadrature.integrate_2d(fn, dom["lower"], dom["size"], self.tol, dom["area"])


def _has_atom(model):
    regions = model.network.affine_regions()
    return bool(np.any(np.all(regions.linear == 0.0, axis=(1, 2))))


def _fixed_1d(fn, edges):
    """The starting panels' Kronrod sums (an infinite tolerance stops after one round)."""
    return _quadrature.integrate_1d(fn, edges, np.inf)


def _fixed_2d(fn, lower, size):
    return _quadrature.integrate_2d(fn, lower, size, np.inf, 1.0)


def _latent_bulk(prior):
    keep = prior.weights > 0
    mu = prior.means[keep, 0]
    sd = np.sqrt(prior.covariances[keep, 0, 0])
    return float(np.min(mu - LATENT_N_SD * sd)), float(np.max(mu + LATENT_N_SD * sd))


def _image_segments(model):
    """Endpoints of the images of the regions' parts inside the latent bulk, (S, 2, n)."""
    regions = model.network.affine_regions()
    zlo, zhi = _latent_bulk(model.prior)
    ends = np.clip(np.column_stack([regions.lower, regions.upper]), zlo, zhi)
    keep = ends[:, 1] > ends[:, 0]
    k = np.flatnonzero(keep)
    seg = regions.linear[k, None, :, 0] * ends[k, :, None] + regions.offset[k, None, :]
    return seg


def _truth_domain(truth, panel_width):
    seg = _image_segments(truth)
    noise = truth._noise
    pad = NOISE_N_SD * noise
    if truth.n_features == 1:
        lo = seg[..., 0].min() - pad[0]
        hi = seg[..., 0].max() + pad[0]
        width = panel_width * noise[0]
        n_panels = max(1, int(np.ceil((hi - lo) / width)))
        edges = np.linspace(lo, hi, n_panels + 1)
        kinks = seg[:, :, 0].ravel()
        edges = np.unique(np.concatenate([edges, kinks[(kinks > lo) & (kinks < hi)]]))
        return {"edges": edges}
    size = panel_width * noise.min()
    lo = seg.reshape(-1, 2).min(axis=0) - pad
    hi = seg.reshape(-1, 2).max(axis=0) + pad
    counts = np.ceil((hi - lo) / size).astype(int)
    gx, gy = (lo[t] + size * np.arange(counts[t]) for t in range(2))
    lower = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1).reshape(-1, 2)
    centers = lower + 0.5 * size
    # Keep squares within the padded tube around the image segments (in noise units).
    reach = NOISE_N_SD + 0.75 * size / noise.min()
    keep = np.zeros(len(lower), bool)
    for a, b in seg:
        d = b - a
        t = np.clip(((centers - a) @ d) / max(d @ d, 1e-300), 0.0, 1.0)
        r = (centers - a - t[:, None] * d) / noise
        keep |= np.einsum("ij,ij->i", r, r) <= reach**2
    lower = lower[keep]
    return {"lower": lower, "size": size, "area": size**2 * len(lower)}
