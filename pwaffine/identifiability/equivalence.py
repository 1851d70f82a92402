"""Affine equivalence of pushforward models, with the transformation as evidence.

Kivva et al. (2022) identify a model ``(P, f)`` only up to an invertible affine
map ``h`` of the latent space: ``(P, f)`` and ``(h#P, f o h^-1)`` define the
same law of ``x = f(z) + eps``.  On top of that a ReLU network has symmetries
of its own (permuting hidden units; scaling a unit's incoming weights and bias
by ``t > 0`` and its outgoing weights by ``1 / t``) and reductions (dropping a
component of weight 0, merging identical components, dropping a hidden unit
whose outgoing weight vanishes, absorbing a constant unit into the output bias).

:func:`find_equivalence` decides whether two models are equivalent in this
sense and returns the transformation it found as an :class:`Equivalence`,
which a reader can check with :meth:`Equivalence.verify`;
:func:`canonical_form` picks one representative of each equivalence class.
Only a 1-D latent (``m = 1``) is implemented; the search is dispatched on the
latent dimension so that ``m = 2`` (``h(z) = M z + b``) can be added.

Notes
-----
**Decision procedure** (``m = 1``).  The noise levels must agree.  Each prior
is reduced (components of weight ``<= atol`` dropped, identical components
merged, weights summed), and the reduced mixtures must have the same number
of components ``K``.  Every valid ``h`` maps component 0 of the reduced ``P_a``
onto some component ``k`` of the reduced ``P_b`` with the same weight, so
``scale = +-sqrt(var_b[k] / var_a[0])`` and ``shift = mean_b[k] - scale *
mean_a[0]``: at most ``2 K`` candidates, the complete set.  For each, the
other components are paired by an assignment problem, ``scale`` and ``shift``
are refitted from all pairs (``|scale|`` the geometric mean of the standard
deviation ratios, ``shift`` the mean of ``mean_b - scale * mean_a``) and the
pairing is checked.  Surviving candidates are checked for
``f_b = f_a o h^-1`` *as functions on the whole line*: the difference
``g = f_b - f_a o h^-1`` is continuous and piecewise affine with kinks only
at the breakpoints of ``f_b`` and the images ``h(t)`` of the breakpoints of
``f_a`` (exact, from :meth:`ReLUNetwork.affine_regions`), so ``g = 0``
everywhere iff ``g`` vanishes at all those points (plus one more point, the
centre of ``P_b``) and both networks have the same slopes on the two
unbounded end regions (with ``scale < 0`` the left end of ``f_a`` becomes the
right end).  The largest ``|g|`` over the points is the exact sup of ``|g|``
on their hull; no sampling is involved.  If several ``h`` pass (symmetric
models), a positive ``scale`` is preferred, then the smaller residual.  For
two one-hidden-layer networks with the same activation the hidden units are
then matched too (see :class:`UnitMatch`).

**Tolerances.**  Each pair of numbers ``x, y`` is accepted when
``|x - y| <= atol + rtol * S``, with the reference size ``S``:

- mixture weights: ``S = max(x, y)``; a component with weight ``<= atol`` is
  dropped;
- component means (in ``b``'s latent coordinates): ``S = L``, the larger over
  both mixtures of ``max_k |mean_k| + std_k`` (the size of the latent
  configuration), so a mean near 0 is not held to ``atol`` alone;
- component variances: ``S = max(x, y)``;
- noise standard deviations: ``S = max(x, y)``;
- function values at the compared points, output ``i``: ``S = F_i``, the
  largest ``|f_i|`` of either function over those points (values cross zero,
  so a pointwise relative test would be meaningless);
- end-region slopes, output ``i``: ``S = G_i``, the largest ``|slope_i|`` of
  either function on any region;
- unit matching only: knots ``-bias / weight`` as means (``S = max(L, |x|,
  |y|)``); a unit's outgoing weight times ``|incoming weight|`` against the
  largest such product; output biases as function values.

The defaults suit models that are exact transforms of each other (rounding
errors ~1e-15).  Parameters from an optimiser are accurate to ~1e-6 at best;
compare those with ``atol`` a little above their accuracy (e.g. ``1e-5``).
:attr:`Equivalence.residual_ratio` is the largest ``|x - y| / (atol + rtol *
S)`` met, so values well below 1 mean a clear margin.
"""

import numpy as np

from .._validation import check_scalar
from ..model import PushforwardModel
from ._equivalence_1d import canonical_form_1d, find_equivalence_1d
from ._equivalence_2d import canonical_form_2d, find_equivalence_2d
from ._transformations import Equivalence, UnitMatch, _check_models, _ratio

__all__ = ["Equivalence", "UnitMatch", "canonical_form", "find_equivalence"]


# --------------------------------------------------------------------------- public API
def find_equivalence(model_a, model_b, atol=1e-8, rtol=1e-6, support_sd=None):
    """Decide whether two models are affinely equivalent; return the transformation.

    Parameters
    ----------
    model_a, model_b : PushforwardModel
        Models with the same latent dimension ``m`` (only ``m = 1`` is
        implemented) and observed dimension ``n``.
    atol : float, default=1e-8
        Absolute tolerance; also the weight at or below which a component is
        dropped.
    rtol : float, default=1e-6
        Relative tolerance, relative to the reference sizes listed in the
        module Notes.
    support_sd : float, optional
        If given, ``f_b`` and ``f_a o h^-1`` are compared only on the latent
        interval spanned by b's components (weight above ``atol``) to within
        ``support_sd`` standard deviations, instead of on the whole line.  Two
        models that differ only where the prior mass is below ``Phi(-support_sd)``
        have likelihoods equal to within that mass, so a likelihood cannot tell
        them apart; this is the equivalence that numerical likelihood
        maximisation can resolve (the study uses ``support_sd=8``).

    Returns
    -------
    Equivalence or None
        The affine map ``h`` with its component (and, for one-hidden-layer
        networks, unit) matching, or ``None`` if the models are not equivalent:
        noise differs, ``n`` differs, or no invertible affine ``h`` has
        ``prior_b = h#prior_a`` and ``f_b = f_a o h^-1``.

    Raises
    ------
    NotImplementedError
        Where the capability table offers no ``equivalence`` (see
        :mod:`pwaffine.model.capabilities`).

    Notes
    -----
    See the module docstring for the decision procedure and the exact meaning
    of ``atol`` and ``rtol``.  Equivalent models have the same density of
    ``x``; the converse fails without the paper's condition (F2).

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> from pwaffine import find_equivalence
    >>> prior = GaussianMixture([0.3, 0.7], [[-1.0], [2.0]], [[[0.25]], [[1.0]]])
    >>> f = ReLUNetwork([[[1.0], [-2.0]], [[1.0, 0.5]]], [[0.0, 0.5], [0.0]])
    >>> a = PushforwardModel(prior, f, 0.1)
    >>> # b: latent w = -2 z + 1, so f_b(w) = f((1 - w) / 2); units swapped, unit 0 scaled by 4
    >>> prior_b = GaussianMixture([0.7, 0.3], [[-3.0], [3.0]], [[[4.0]], [[1.0]]])
    >>> f_b = ReLUNetwork([[[4.0], [-0.5]], [[0.125, 1.0]]], [[-2.0, 0.5], [0.0]])
    >>> eq = find_equivalence(a, PushforwardModel(prior_b, f_b, 0.1))
    >>> eq.scale, eq.shift, eq.component_map
    (-2.0, 1.0, (1, 0))
    >>> print(eq.describe().splitlines()[3])
    hidden units a -> b: unit 0 -> 1 (t=1); unit 1 -> 0 (t=4)
    >>> find_equivalence(a, PushforwardModel(prior_b, f_b, 0.2)) is None   # other noise
    True
    """
    _check_models(model_a, model_b)
    atol = check_scalar(atol, "atol", low=0.0)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    if model_a.n_latent != model_b.n_latent or model_a.n_features != model_b.n_features:
        return None
    model_a._require("equivalence", "find_equivalence")
    model_b._require("equivalence", "find_equivalence")
    noise_a = np.broadcast_to(model_a.noise_std, (model_a.n_features,))
    noise_b = np.broadcast_to(model_b.noise_std, (model_b.n_features,))
    noise_err = np.abs(noise_a - noise_b)
    noise_ratio = _ratio(noise_err, atol + rtol * np.maximum(noise_a, noise_b))
    if noise_ratio > 1.0:
        return None
    if support_sd is not None:
        support_sd = check_scalar(support_sd, "support_sd", low=0.0, low_inclusive=False)
    found = _FINDERS[model_a.n_latent](model_a, model_b, atol, rtol, support_sd)
    if found is None:
        return None
    return Equivalence(
        **{**found,
           "residual": float(max(found["residual"], noise_err.max())),
           "residual_ratio": float(max(found["residual_ratio"], noise_ratio)),
           "atol": atol, "rtol": rtol}
    )


def canonical_form(model, atol=1e-8, rtol=1e-6):
    """A unique representative of the model's equivalence class.

    Parameters
    ----------
    model : PushforwardModel
        A model with a 1-D latent (any depth and width, any ``n``).
    atol, rtol : float, default 1e-8 and 1e-6
        Tolerances, in the canonical coordinates, for dropping components
        (weight ``<= atol``), merging identical components and coincident
        breakpoints, dropping kinks whose slope change is negligible, and
        breaking the tie between the two orientations (see Notes).

    Returns
    -------
    PushforwardModel
        Same noise; a prior with mean 0 and variance 1, components sorted by
        (mean, variance, weight); a plain-ReLU network with one hidden layer
        whose units all have incoming weight ``+-1`` (none if ``f`` is affine:
        then a single affine layer).  It defines the same law of ``x`` as
        ``model`` (exactly, up to rounding and the reductions above).

    Raises
    ------
    NotImplementedError
        For a latent dimension other than 1.

    Notes
    -----
    The canonical form is built from the *function* ``f``, not from the
    network's units, so it is the same for all models equivalent in the sense
    of :func:`find_equivalence` (which compares functions), including networks
    of other depths and activations and unit sets related by ``relu(z) -
    relu(-z) = z``.

    1. Prior: drop components of weight ``<= atol``, renormalise; with ``M``,
       ``V`` the mixture's mean and variance, the latent becomes ``w = sigma *
       (z - M) / sqrt(V)`` with ``sigma = +-1``; merge components whose means
       differ by at most ``atol + rtol * L`` and whose variances are close.
    2. Function: ``f_c(w) = f(M + sigma * sqrt(V) * w)``, a continuous
       piecewise-affine map with breakpoints ``kappa_1 < ... < kappa_K``
       (breakpoints closer than ``atol + rtol * max(1, |kappa|)`` are one,
       kinks whose slope change is within ``atol + rtol * G`` are dropped).
       With left-end slope ``A_0``, slope changes ``D_l`` and ``f_c(kappa_1) =
       v_1`` the network is ``f_c(w) = v_1 - A_0 relu(kappa_1 - w) + (A_0 +
       D_1) relu(w - kappa_1) + sum_{l >= 2} D_l relu(w - kappa_l)``, the
       units in this order, each dropped if its outgoing weight is negligible:
       only the first breakpoint carries a left-facing unit.
    3. Orientation: ``sigma`` is the one whose parameter vector (component
       means, variances, weights; breakpoints, slope changes, ``A_0``, values
       at the breakpoints) is lexicographically smaller, entries within
       ``atol + rtol * max(|x|, |y|)`` counting as equal; ``sigma = +1`` if
       the two vectors agree (the model is then symmetric).

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> from pwaffine import canonical_form
    >>> f = ReLUNetwork([[[2.0], [-1.0]], [[0.5, 1.0]]], [[0.0, 0.0], [0.0]])  # |z|
    >>> model = PushforwardModel(GaussianMixture([1.0], [[3.0]], [[[4.0]]]), f, 0.1)
    >>> c = canonical_form(model)
    >>> c.prior.means.ravel(), c.prior.covariances.ravel()
    (array([0.]), array([1.]))
    >>> c.network.weights[0].ravel(), c.network.biases[0], c.network.weights[1]
    (array([-1.,  1.]), array([-1.5,  1.5]), array([[2., 2.]]))
    """
    if not isinstance(model, PushforwardModel):
        raise ValueError(f"model must be a PushforwardModel; got {type(model).__name__}")
    atol = check_scalar(atol, "atol", low=0.0)
    rtol = check_scalar(rtol, "rtol", low=0.0)
    model._require("equivalence", "canonical_form")
    return _CANONICALISERS[model.n_latent](model, atol, rtol)


# --------------------------------------------------------------------------- checks

# Dispatch on the latent dimension.
_FINDERS = {1: find_equivalence_1d, 2: find_equivalence_2d}
_CANONICALISERS = {1: canonical_form_1d, 2: canonical_form_2d}
