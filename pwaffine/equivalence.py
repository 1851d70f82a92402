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

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import check_scalar
from .mixture import GaussianMixture
from .model import PushforwardModel
from .network import ReLUNetwork

__all__ = ["Equivalence", "UnitMatch", "canonical_form", "find_equivalence"]

#: Latent dimensions for which equivalence and canonical forms are implemented.
SUPPORTED_LATENT_DIMS = (1,)

#: Relative offsets (times ``1 + |t|``) of the extra points :meth:`Equivalence.verify`
#: evaluates on both sides of every breakpoint ``t``.
_VERIFY_OFFSETS = (0.0, 1e-9, 1e-6, 1e-3, 1e-1)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class UnitMatch:
    """Where one hidden unit went, in a one-hidden-layer correspondence.

    Parameters
    ----------
    target : int
        For a unit of model ``a`` (an entry of :attr:`Equivalence.unit_map`): the
        index of the matching hidden unit of ``b``; for a unit of ``b`` (an entry
        of :attr:`Equivalence.inverse_unit_map`): the index of the matching unit
        of ``a``.  ``-1`` if the unit was dropped.
    factor : float
        The ``t > 0`` of the match.  For a unit ``i`` of ``a`` matched to unit
        ``j`` of ``b``: ``(W1_b[j, 0], b1_b[j]) = t * (W1_a[i, 0] / scale,
        b1_a[i] - W1_a[i, 0] * shift / scale)``, i.e. ``t`` times unit ``i``
        composed with ``h^-1``; when no merge is involved the outgoing weights
        are ``W2_b[:, j] = W2_a[:, i] / t``.  For a unit ``j`` of ``b`` the
        roles are swapped: ``t`` times unit ``j`` equals unit ``target`` of
        ``a`` composed with ``h^-1``.  ``nan`` for a dropped unit.
    status : str
        ``"matched"`` (one unit on each side), ``"merged"`` (the unit is one of
        several with the same knot and direction, on either side; their
        outgoing weights, each times ``|incoming weight|``, sum to the same
        total on both sides), ``"cancelled"`` (same-knot units of one side
        whose outgoing weights cancel, with no counterpart), ``"zero outgoing
        weight"`` or ``"constant"`` (zero incoming weight; absorbed into the
        output bias).
    absorbed : tuple of float
        For a constant unit, its contribution ``W2[:, i] * s(b1[i])`` to the
        output bias, shape ``(n_outputs,)``; empty otherwise.

    Examples
    --------
    >>> UnitMatch(target=1, factor=2.0, status="matched")
    UnitMatch(target=1, factor=2.0, status='matched', absorbed=())
    """

    target: int
    factor: float
    status: str
    absorbed: tuple = ()


@dataclass(frozen=True)
class Equivalence:
    """An affine map of the latent space (with matchings) taking model ``a`` to ``b``.

    Produced by :func:`find_equivalence`.  ``h(z) = scale * z + shift`` maps
    ``a``'s latent coordinates onto ``b``'s: ``prior_b = h#prior_a`` (after
    reductions) and ``f_b = f_a o h^-1``.

    Parameters
    ----------
    scale, shift : float
        ``h(z) = scale * z + shift`` (``scale != 0``; may be negative).  A
        latent of dimension ``m = 2`` would need a matrix here; see
        :attr:`matrix` and :attr:`offset`.
    component_map : tuple of int, length ``prior_a.n_components``
        For each component ``j`` of ``a``, a component ``k`` of ``b`` with
        ``h#N(mean_a[j], var_a[j]) = N(mean_b[k], var_b[k])``, or ``-1`` if
        ``weight_a[j] <= atol`` (dropped).  Identical components of ``a`` map to
        the same ``k`` (merged): their weights add up.
    inverse_component_map : tuple of int, length ``prior_b.n_components``
        The same for the components of ``b`` (``k -> j`` with
        ``N(mean_b[k], var_b[k]) = h#N(mean_a[j], var_a[j])``).  Together the
        two maps link components into groups whose total weights agree.
    unit_map : tuple of UnitMatch or None
        For two networks with one hidden layer and the same ``negative_slope``:
        one entry per hidden unit of ``a``.  ``None`` when the networks are
        equal only as functions, without a unit-by-unit correspondence (e.g.
        ``relu(z) - relu(-z) = z``), or are deeper.
    inverse_unit_map : tuple of UnitMatch or None
        One entry per hidden unit of ``b`` (when ``unit_map`` is not None).
    residual : float
        The largest absolute discrepancy ``|x - y|`` among all compared
        quantities (noise, weights, means, variances, function values at the
        breakpoints, end slopes).
    residual_ratio : float
        The largest ``|x - y| / (atol + rtol * S)`` (see the module Notes); at
        most 1, and far below 1 when the margin is clear.
    atol, rtol : float
        The tolerances the decision was made with.

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> from pwaffine.equivalence import find_equivalence
    >>> f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])  # |z|
    >>> a = PushforwardModel(GaussianMixture([1.0], [[1.5]], [[[0.5]]]), f, 0.1)
    >>> b = PushforwardModel(GaussianMixture([1.0], [[-1.5]], [[[0.5]]]), f, 0.1)
    >>> eq = find_equivalence(a, b)
    >>> eq.scale, eq.shift
    (-1.0, 0.0)
    >>> [u.target for u in eq.unit_map]
    [1, 0]
    >>> eq.verify(a, b)
    0.0
    """

    scale: float
    shift: float
    component_map: tuple
    inverse_component_map: tuple
    unit_map: tuple | None
    inverse_unit_map: tuple | None
    residual: float
    residual_ratio: float
    atol: float
    rtol: float

    @property
    def matrix(self):
        """The linear part of ``h`` as an array of shape (m, m)."""
        return np.array([[self.scale]])

    @property
    def offset(self):
        """The translation of ``h`` as an array of shape (m,)."""
        return np.array([self.shift])

    def latent_map(self, Z):
        """Apply ``h`` to latent points of model ``a``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, m)

        Returns
        -------
        ndarray of shape (n_samples, m)
            ``Z @ matrix.T + offset``, the same points in ``b``'s coordinates.
        """
        Z = np.asarray(Z, dtype=np.float64)
        return Z @ self.matrix.T + self.offset

    # -------------------------------------------------------------- describe
    def describe(self):
        """A human-readable account of the transformation.

        Returns
        -------
        str
            Several lines: the map ``h``, the component matching (dropped and
            merged components named), the unit matching (factors ``t``, dropped
            and constant units, absorbed constants) and the residual.
        """
        lines = [
            f"h(z) = {_fmt(self.scale)} z {'-' if self.shift < 0 else '+'} "
            f"{_fmt(abs(self.shift))} maps a's latent onto b's "
            f"(prior_b = h#prior_a, f_b = f_a o h^-1)"
        ]
        lines.append("components a -> b: " + _describe_map(self.component_map, "weight <= atol"))
        lines.append("components b -> a: " + _describe_map(self.inverse_component_map,
                                                           "weight <= atol"))
        merged = _merge_notes(self.component_map, "a", "b")
        merged += _merge_notes(self.inverse_component_map, "b", "a")
        if merged:
            lines.append("merged components: " + "; ".join(merged))
        if self.unit_map is None:
            lines.append("hidden units: no unit-by-unit correspondence "
                         "(f_b = f_a o h^-1 holds as functions)")
        else:
            lines.append("hidden units a -> b: " + _describe_units(self.unit_map))
            lines.append("hidden units b -> a: " + _describe_units(self.inverse_unit_map))
            lines.append("  (incoming weight and bias: a -> b means t * (a's unit o h^-1) = b's "
                         "unit, b -> a means t * (b's unit) = a's unit o h^-1; outgoing weights "
                         "go with 1/t, and for merged units their sums times |incoming weight| "
                         "agree)")
        lines.append(
            f"residual {self.residual:.3g} = {self.residual_ratio:.3g} x tolerance "
            f"(atol={self.atol:g}, rtol={self.rtol:g})"
        )
        return "\n".join(lines)

    # ---------------------------------------------------------------- verify
    def verify(self, model_a, model_b):
        """Recompute, independently of the search, how far ``h`` is from mapping ``a`` onto ``b``.

        Parameters
        ----------
        model_a, model_b : PushforwardModel
            The models passed to :func:`find_equivalence`.

        Returns
        -------
        float
            The largest absolute discrepancy among: the noise standard
            deviations; for each component ``j`` of ``a`` and its image ``k``
            under :attr:`component_map`, ``|scale * mean_a[j] + shift -
            mean_b[k]|`` and ``|scale**2 * var_a[j] - var_b[k]|`` (likewise for
            :attr:`inverse_component_map`); the weight of every dropped
            component; the difference of total weights in each group of
            components linked by the two maps; ``|f_a(h^-1(w)) - f_b(w)|``
            evaluated with :meth:`ReLUNetwork.forward` at a grid of points and
            at and near every breakpoint of ``f_b`` and image of a breakpoint
            of ``f_a``; and, if :attr:`unit_map` is set, the stated relations
            between matched units' (incoming weight, bias) and the group sums
            of their outgoing weights.
        """
        _check_models(model_a, model_b)
        if (model_a.n_latent, model_a.n_features) != (model_b.n_latent, model_b.n_features):
            raise ValueError("model_a and model_b have different latent or observed "
                             "dimensions; no affine map relates them")
        s, c = self.scale, self.shift
        errs = [0.0]
        noise_a = np.broadcast_to(model_a.noise_std, (model_a.n_features,))
        noise_b = np.broadcast_to(model_b.noise_std, (model_b.n_features,))
        errs.append(np.abs(noise_a - noise_b).max())
        errs.append(_verify_prior(model_a.prior, model_b.prior, s, c,
                                  self.component_map, self.inverse_component_map))
        errs.append(_verify_function(model_a, model_b, s, c))
        if self.unit_map is not None:
            errs.append(_verify_units(model_a.network, model_b.network, s, c,
                                      self.unit_map, self.inverse_unit_map))
        return float(max(errs))


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
        For a latent dimension other than those in ``SUPPORTED_LATENT_DIMS``.

    Notes
    -----
    See the module docstring for the decision procedure and the exact meaning
    of ``atol`` and ``rtol``.  Equivalent models have the same density of
    ``x``; the converse fails without the paper's condition (F2).

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> from pwaffine.equivalence import find_equivalence
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
    _check_latent_dim(model_a.n_latent, "find_equivalence")
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
    >>> from pwaffine.equivalence import canonical_form
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
    _check_latent_dim(model.n_latent, "canonical_form")
    return _CANONICALISERS[model.n_latent](model, atol, rtol)


# --------------------------------------------------------------------------- checks
def _check_models(model_a, model_b):
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, PushforwardModel):
            raise ValueError(f"{name} must be a PushforwardModel; got {type(model).__name__}")


def _check_latent_dim(m, caller):
    if m not in SUPPORTED_LATENT_DIMS:
        raise NotImplementedError(
            f"{caller} supports latent dimensions {SUPPORTED_LATENT_DIMS}; got m={m}"
        )


def _ratio(err, tol):
    """Largest ``err / tol`` (``inf`` where ``tol == 0 < err``; 0 for empty input)."""
    err = np.asarray(err, dtype=np.float64)
    if err.size == 0:
        return 0.0
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), err.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(err == 0.0, 0.0, err / tol)
    return float(r.max())


# --------------------------------------------------------------------------- mixtures (m = 1)
class _Reduced:
    """A 1-D mixture after dropping and merging: K classes of the original components.

    Attributes: ``weights, means, variances`` of shape (K,); ``labels`` of shape
    (J,) with each original component's class or -1 (dropped); ``representatives``
    of shape (K,), the lowest original index in each class.
    """

    def __init__(self, weights, means, variances, labels):
        self.weights, self.means, self.variances, self.labels = weights, means, variances, labels
        self.representatives = np.array([np.flatnonzero(labels == k)[0]
                                         for k in range(weights.size)], dtype=int)

    @property
    def n_classes(self):
        return self.weights.size


def _latent_scale(means, variances):
    """``max_k |mean_k| + std_k``: the size of a 1-D mixture's configuration."""
    if means.size == 0:
        return 0.0
    return float(np.max(np.abs(means) + np.sqrt(variances)))


def _reduce_mixture_1d(weights, means, variances, atol, rtol):
    """Drop components with weight <= atol and merge identical ones (union-find)."""
    keep = np.flatnonzero(weights > atol)
    L = _latent_scale(means[keep], variances[keep])
    parent = {j: j for j in keep}

    def root(j):
        while parent[j] != j:
            j = parent[j]
        return j

    for i, j in itertools.combinations(keep, 2):
        same = (abs(means[i] - means[j]) <= atol + rtol * L
                and abs(variances[i] - variances[j])
                <= atol + rtol * max(variances[i], variances[j]))
        if same:
            parent[root(j)] = root(i)
    labels = np.full(weights.size, -1, dtype=int)
    roots = sorted({root(j) for j in keep})
    for j in keep:
        labels[j] = roots.index(root(j))
    K = len(roots)
    w = np.array([weights[labels == k].sum() for k in range(K)])
    mu = np.array([np.average(means[labels == k], weights=weights[labels == k])
                   for k in range(K)])
    var = np.array([np.average(variances[labels == k], weights=weights[labels == k])
                    for k in range(K)])
    return _Reduced(w, mu, var, labels)


def _reduce_prior(prior, atol, rtol):
    return _reduce_mixture_1d(prior.weights, prior.means[:, 0], prior.covariances[:, 0, 0],
                              atol, rtol)


def _component_errors(ra, rb, s, c, atol, rtol):
    """Errors and tolerances of every pair (a class, b class) under h, shape (K, K) each."""
    ma, va = s * ra.means + c, s * s * ra.variances
    L = max(_latent_scale(ma, va), _latent_scale(rb.means, rb.variances))
    err = np.stack([
        np.abs(ra.weights[:, None] - rb.weights[None, :]),
        np.abs(ma[:, None] - rb.means[None, :]),
        np.abs(va[:, None] - rb.variances[None, :]),
    ])
    tol = np.stack([
        atol + rtol * np.maximum(ra.weights[:, None], rb.weights[None, :]),
        np.full(err.shape[1:], atol + rtol * L),
        atol + rtol * np.maximum(va[:, None], rb.variances[None, :]),
    ])
    return err, tol


def _pair_components(ra, rb, s, c, atol, rtol):
    """Best pairing of classes under h: (perm, residual, ratio); perm None if none fits."""
    err, tol = _component_errors(ra, rb, s, c, atol, rtol)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0.0, 0.0, err / tol).max(axis=0)
    K = ratio.shape[0]
    # Any infeasible pair costs 1, the ratios of feasible ones less than 1/K in
    # total: the minimum-cost assignment is feasible whenever one exists.
    cost = (ratio > 1.0) + np.minimum(ratio, 1.0) / (K + 1)
    rows, perm = linear_sum_assignment(cost)
    pair_ratio = ratio[rows, perm]
    if np.any(pair_ratio > 1.0):
        return None, np.inf, np.inf
    return perm, float(err.max(axis=0)[rows, perm].max()), float(pair_ratio.max())


def _candidate_maps_1d(ra, rb, atol, rtol):
    """All ``(scale, shift, perm, residual, ratio)`` under which the reduced priors match."""
    out = []
    seen = set()
    w_tol = atol + rtol * np.maximum(ra.weights[0], rb.weights)
    for k in np.flatnonzero(np.abs(ra.weights[0] - rb.weights) <= w_tol):
        size = np.sqrt(rb.variances[k] / ra.variances[0])
        for sign in (1.0, -1.0):
            s0 = sign * size
            c0 = rb.means[k] - s0 * ra.means[0]
            perm, _, _ = _pair_components(ra, rb, s0, c0, atol, rtol)
            if perm is None or (sign, tuple(perm)) in seen:
                continue
            seen.add((sign, tuple(perm)))
            # Refit h from all pairs, then keep whichever of the two fits best.
            s1 = sign * np.exp(np.mean(0.5 * np.log(rb.variances[perm] / ra.variances)))
            c1 = np.mean(rb.means[perm] - s1 * ra.means)
            best = None
            for s, c in ((s1, c1), (s0, c0)):
                err, tol = _component_errors(ra, rb, s, c, atol, rtol)
                idx = (slice(None), np.arange(ra.n_classes), perm)
                e, r = float(err[idx].max()), _ratio(err[idx], tol[idx])
                if r <= 1.0 and (best is None or r < best[4]):
                    best = (float(s), float(c), perm, e, r)
            if best is not None:
                out.append(best)
    return out


# --------------------------------------------------------------------------- functions (m = 1)
def _compare_functions_1d(net_a, net_b, s, c, center, atol, rtol, window=None):
    """Exact sup-type comparison of ``f_b`` and ``f_a o h^-1``: (residual, ratio, F).

    With ``window = (lo, hi)`` (in b's latent coordinates) the functions are
    compared on that interval only: at its ends and every kink inside, which
    determines two piecewise-affine functions there.  Without it they are
    compared on the whole line, end slopes included.
    """
    reg_a, reg_b = net_a.affine_regions(), net_b.affine_regions()
    w = np.union1d(np.concatenate([s * reg_a.breakpoints + c, reg_b.breakpoints]), [center])
    if window is not None:
        w = np.union1d(w[(w > window[0]) & (w < window[1])], window)
    f_b = net_b.forward(w[:, None])
    f_a = net_a.forward(((w - c) / s)[:, None])
    F = np.maximum(np.abs(f_a).max(axis=0), np.abs(f_b).max(axis=0))  # (n,)
    value_err = np.abs(f_a - f_b)
    if window is not None:
        return float(value_err.max()), _ratio(value_err, atol + rtol * F), F
    slopes_a = reg_a.linear[:, :, 0] / s  # d/dw of f_a o h^-1, in a's region order
    ends_a = (slopes_a[0], slopes_a[-1]) if s > 0 else (slopes_a[-1], slopes_a[0])
    ends_b = (reg_b.linear[0, :, 0], reg_b.linear[-1, :, 0])
    G = np.maximum(np.abs(slopes_a).max(axis=0), np.abs(reg_b.linear[:, :, 0]).max(axis=0))
    slope_err = np.abs(np.stack(ends_a) - np.stack(ends_b))
    residual = float(max(value_err.max(), slope_err.max()))
    ratio = max(_ratio(value_err, atol + rtol * F), _ratio(slope_err, atol + rtol * G))
    return residual, ratio, F


# --------------------------------------------------------------------------- units (m = 1)
def _activate(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x)


def _units_in_b_coordinates(network, s=1.0, c=0.0):
    """(beta, pi, W2, b2) of a one-hidden-layer network composed with h^-1(w) = (w - c) / s."""
    W1, b1 = network.weights[0][:, 0], network.biases[0]
    return W1 / s, b1 - W1 * c / s, network.weights[1], network.biases[1]


def _match_units_1d(net_a, net_b, s, c, L, F, atol, rtol):
    """Unit-level correspondence of two one-hidden-layer networks, or (None, None)."""
    if net_a.n_layers != 2 or net_b.n_layers != 2 or net_a.negative_slope != net_b.negative_slope:
        return None, None
    slope = net_a.negative_slope
    sides = [_units_in_b_coordinates(net_a, s, c), _units_in_b_coordinates(net_b)]
    eff = [W2 * np.abs(beta) for beta, _, W2, _ in sides]  # outgoing x |incoming|, (n, H)
    S_e = max(np.abs(e).max() for e in eff)
    maps = []
    regular = []  # (direction, knot, side, unit)
    out_bias = []
    for side, ((beta, pi, W2, b2), e) in enumerate(zip(sides, eff)):
        entries = [None] * beta.size
        bias = b2.copy()
        for u in range(beta.size):
            constant = abs(beta[u]) <= atol
            if np.all(W2[:, u] == 0) or (
                    not constant and np.all(np.abs(e[:, u]) <= atol + rtol * S_e)):
                entries[u] = UnitMatch(-1, float("nan"), "zero outgoing weight")
            elif constant:
                contrib = W2[:, u] * _activate(pi[u], slope)
                bias = bias + contrib
                entries[u] = UnitMatch(-1, float("nan"), "constant",
                                       tuple(float(x) for x in contrib))
            else:
                regular.append((np.sign(beta[u]), -pi[u] / beta[u], side, u))
        maps.append(entries)
        out_bias.append(bias)
    if np.any(np.abs(out_bias[0] - out_bias[1]) > atol + rtol * F):
        return None, None
    regular.sort(key=lambda r: (r[0], r[1]))
    clusters = []
    for r in regular:
        prev = clusters[-1][-1] if clusters else None
        if (prev is not None and prev[0] == r[0]
                and abs(r[1] - prev[1]) <= atol + rtol * max(L, abs(r[1]), abs(prev[1]))):
            clusters[-1].append(r)
        else:
            clusters.append([r])
    for cluster in clusters:
        members = [sorted(u for _, _, side, u in cluster if side == k) for k in (0, 1)]
        totals = [sum((eff[k][:, u] for u in members[k]), np.zeros(net_a.n_outputs))
                  for k in (0, 1)]
        if np.any(np.abs(totals[0] - totals[1]) > atol + rtol * S_e):
            return None, None
        status = "matched" if len(members[0]) == len(members[1]) == 1 else "merged"
        for k in (0, 1):
            other = members[1 - k]
            for u in members[k]:
                if not other:
                    maps[k][u] = UnitMatch(-1, float("nan"), "cancelled")
                else:
                    t = sides[1 - k][0][other[0]] / sides[k][0][u]
                    maps[k][u] = UnitMatch(int(other[0]), float(t), status)
    return tuple(maps[0]), tuple(maps[1])


# --------------------------------------------------------------------------- search (m = 1)
def _find_equivalence_1d(model_a, model_b, atol, rtol, support_sd=None):
    ra, rb = _reduce_prior(model_a.prior, atol, rtol), _reduce_prior(model_b.prior, atol, rtol)
    if ra.n_classes != rb.n_classes:
        return None
    center = float(np.average(rb.means, weights=rb.weights))
    window = None
    if support_sd is not None:
        sd = np.sqrt(rb.variances)
        window = (float(np.min(rb.means - support_sd * sd)), float(np.max(rb.means + support_sd * sd)))
    accepted = []
    for s, c, perm, prior_res, prior_ratio in _candidate_maps_1d(ra, rb, atol, rtol):
        f_res, f_ratio, F = _compare_functions_1d(model_a.network, model_b.network, s, c,
                                                  center, atol, rtol, window)
        if f_ratio <= 1.0:
            accepted.append((s < 0, max(prior_ratio, f_ratio), s, c, perm,
                             max(prior_res, f_res), F))
    if not accepted:
        return None
    _, ratio, s, c, perm, residual, F = min(accepted, key=lambda a: (a[0], a[1]))
    component_map = tuple(int(rb.representatives[perm[k]]) if k >= 0 else -1
                          for k in ra.labels)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    inverse_component_map = tuple(int(ra.representatives[inverse[k]]) if k >= 0 else -1
                                  for k in rb.labels)
    L = max(_latent_scale(s * ra.means + c, s * s * ra.variances),
            _latent_scale(rb.means, rb.variances))
    unit_map, inverse_unit_map = _match_units_1d(model_a.network, model_b.network, s, c, L, F,
                                                 atol, rtol)
    return dict(scale=s, shift=c, component_map=component_map,
                inverse_component_map=inverse_component_map, unit_map=unit_map,
                inverse_unit_map=inverse_unit_map, residual=residual, residual_ratio=ratio)


# --------------------------------------------------------------------------- verification
def _verify_prior(prior_a, prior_b, s, c, cmap, inverse):
    """Max discrepancy of h#prior_a against prior_b under the stated component maps."""
    wa, ma, va = prior_a.weights, prior_a.means[:, 0], prior_a.covariances[:, 0, 0]
    wb, mb, vb = prior_b.weights, prior_b.means[:, 0], prior_b.covariances[:, 0, 0]
    Ja = wa.size
    errs = [0.0]
    # Groups: connected components of the bipartite graph a_j -- b_k of both maps.
    parent = list(range(Ja + wb.size))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for j, k in enumerate(cmap):
        if k < 0:
            errs.append(wa[j])
            continue
        errs += [abs(s * ma[j] + c - mb[k]), abs(s * s * va[j] - vb[k])]
        parent[root(Ja + k)] = root(j)
    for k, j in enumerate(inverse):
        if j < 0:
            errs.append(wb[k])
            continue
        errs += [abs(s * ma[j] + c - mb[k]), abs(s * s * va[j] - vb[k])]
        parent[root(Ja + k)] = root(j)
    total = {}
    for i, w in enumerate(np.concatenate([wa, -wb])):
        total[root(i)] = total.get(root(i), 0.0) + w
    errs += [abs(t) for t in total.values()]
    return max(errs)


def _verify_function(model_a, model_b, s, c):
    """Max |f_a(h^-1 w) - f_b(w)| by forward evaluation on a grid and at every kink."""
    net_a, net_b = model_a.network, model_b.network
    kinks = np.concatenate([s * net_a.affine_regions().breakpoints + c,
                            net_b.affine_regions().breakpoints])
    means = np.concatenate([s * model_a.prior.means[:, 0] + c, model_b.prior.means[:, 0]])
    stds = np.sqrt(np.concatenate([s * s * model_a.prior.covariances[:, 0, 0],
                                   model_b.prior.covariances[:, 0, 0]]))
    lo = min(np.min(means - 5 * stds), kinks.min(initial=np.inf))
    hi = max(np.max(means + 5 * stds), kinks.max(initial=-np.inf))
    pad = hi - lo + 1.0
    points = [np.linspace(lo - pad, hi + pad, 513)]
    for eps in _VERIFY_OFFSETS:
        step = eps * (1.0 + np.abs(kinks))
        points += [kinks - step, kinks + step]
    w = np.concatenate(points)[:, None]
    return float(np.abs(net_a.forward((w - c) / s) - net_b.forward(w)).max())


def _verify_units(net_a, net_b, s, c, unit_map, inverse_unit_map):
    """Max discrepancy of the stated unit relations (pairs and group sums)."""
    beta_a, pi_a, W2_a, _ = _units_in_b_coordinates(net_a, s, c)
    beta_b, pi_b, W2_b, _ = _units_in_b_coordinates(net_b)
    Ha = beta_a.size
    errs = [0.0]
    parent = list(range(Ha + beta_b.size))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for u, m in enumerate(unit_map):
        if m.target >= 0:
            errs += [abs(m.factor * beta_a[u] - beta_b[m.target]),
                     abs(m.factor * pi_a[u] - pi_b[m.target])]
            parent[root(Ha + m.target)] = root(u)
    for u, m in enumerate(inverse_unit_map):
        if m.target >= 0:
            errs += [abs(m.factor * beta_b[u] - beta_a[m.target]),
                     abs(m.factor * pi_b[u] - pi_a[m.target])]
            parent[root(Ha + u)] = root(m.target)
    linked = [u for u, m in enumerate(unit_map) if m.target >= 0]
    linked += [Ha + u for u, m in enumerate(inverse_unit_map) if m.target >= 0]
    eff = np.concatenate([W2_a * np.abs(beta_a), -W2_b * np.abs(beta_b)], axis=1)
    total = {}
    for i in linked:
        total[root(i)] = total.get(root(i), 0.0) + eff[:, i]
    errs += [float(np.abs(t).max()) for t in total.values()]
    return max(errs)


# -------------------------------------------------------------------------- canonical form (m = 1)
def _close(x, y, atol, rtol):
    return abs(x - y) <= atol + rtol * max(abs(x), abs(y))


def _compare_lex(x, y, atol, rtol):
    """-1, 0 or 1: lexicographic order of two vectors, near-equal entries counting as equal."""
    for p, q in zip(x, y):
        if not _close(p, q, atol, rtol):
            return -1 if p < q else 1
    return 0


class _CanonicalFunction:
    """``f`` in canonical coordinates: breakpoints, slope changes, left slope, values.

    ``knots`` (K,), ``deltas`` (K, n), ``left`` (n,), ``values`` (K, n) at the
    knots; for ``K = 0`` ``values`` is (1, n), the value at ``w = 0``.
    """

    def __init__(self, knots, deltas, left, values):
        self.knots, self.deltas, self.left, self.values = knots, deltas, left, values

    def reflected(self):
        """The same for ``w -> -w``."""
        right = self.left + self.deltas.sum(axis=0)
        return _CanonicalFunction(-self.knots[::-1], self.deltas[::-1], -right,
                                  self.values[::-1])

    def key(self):
        return np.concatenate([self.knots, self.deltas.ravel(), self.left, self.values.ravel()])


def _canonical_function_1d(network, center, spread, atol, rtol):
    """Breakpoints, slope changes and values of ``w -> f(center + spread * w)``."""
    regions = network.affine_regions()
    knots = (regions.breakpoints - center) / spread
    slopes = regions.linear[:, :, 0] * spread  # (n_regions, n)
    G = np.abs(slopes).max(axis=0)
    groups = []
    for i, k in enumerate(knots):
        if groups and k - knots[groups[-1][-1]] <= atol + rtol * max(1.0, abs(k)):
            groups[-1].append(i)
        else:
            groups.append([i])
    locs, deltas = [], []
    for g in groups:
        delta = slopes[g[-1] + 1] - slopes[g[0]]
        if np.any(np.abs(delta) > atol + rtol * G):
            locs.append(np.mean(knots[g]))
            deltas.append(delta)
    n = network.n_outputs
    locs = np.array(locs, dtype=np.float64)
    deltas = np.array(deltas, dtype=np.float64).reshape(-1, n)
    at = locs if locs.size else np.zeros(1)
    values = network.forward((center + spread * at)[:, None])
    return _CanonicalFunction(locs, deltas, slopes[0].copy(), values), G


def _sorted_components(weights, means, variances, atol, rtol):
    def cmp(i, j):
        return _compare_lex((means[i], variances[i], weights[i]),
                            (means[j], variances[j], weights[j]), atol, rtol)

    order = sorted(range(weights.size), key=functools.cmp_to_key(cmp))
    return weights[order], means[order], variances[order]


def _canonical_form_1d(model, atol, rtol):
    prior = model.prior
    w0, m0, v0 = prior.weights, prior.means[:, 0], prior.covariances[:, 0, 0]
    keep = w0 > atol
    w0, m0, v0 = w0[keep] / w0[keep].sum(), m0[keep], v0[keep]
    center = float(np.dot(w0, m0))
    spread = float(np.sqrt(np.dot(w0, v0 + (m0 - center) ** 2)))
    func, G = _canonical_function_1d(model.network, center, spread, atol, rtol)
    candidates = []
    for sign, fn in ((1.0, func), (-1.0, func.reflected())):
        red = _reduce_mixture_1d(w0, sign * (m0 - center) / spread, v0 / spread**2, atol, rtol)
        comps = _sorted_components(red.weights, red.means, red.variances, atol, rtol)
        key = np.concatenate([comps[1], comps[2], comps[0], fn.key()])
        candidates.append((comps, fn, key))
    pick = 1 if _compare_lex(candidates[1][2], candidates[0][2], atol, rtol) < 0 else 0
    (weights, means, variances), fn, _ = candidates[pick]
    canon_prior = GaussianMixture(weights / weights.sum(), means[:, None],
                                  variances[:, None, None])
    return PushforwardModel(canon_prior, _network_from_function(fn, G, atol, rtol),
                            model.noise_std)


def _network_from_function(fn, G, atol, rtol):
    """A plain-ReLU network realising a :class:`_CanonicalFunction` (see canonical_form)."""
    n = fn.left.size
    if fn.knots.size == 0:
        return ReLUNetwork([fn.left[:, None]], [fn.values[0]])
    k1 = fn.knots[0]
    units = [(-1.0, k1, -fn.left), (1.0, -k1, fn.left + fn.deltas[0])]
    units += [(1.0, -k, d) for k, d in zip(fn.knots[1:], fn.deltas[1:])]
    kept = [u for u in units if np.any(np.abs(u[2]) > atol + rtol * G)]
    if not kept:  # every unit negligible: the function is affine to tolerance
        return ReLUNetwork([fn.left[:, None]], [fn.values[0] - fn.left * k1])
    W1 = np.array([[u[0]] for u in kept])
    b1 = np.array([u[1] for u in kept])
    W2 = np.array([u[2] for u in kept]).T.reshape(n, len(kept))
    return ReLUNetwork([W1, W2], [b1, fn.values[0]])


# --------------------------------------------------------------------------- describe helpers
def _fmt(x):
    return f"{x:.6g}"


def _describe_map(cmap, drop_reason):
    parts = [f"{j} -> {k}" if k >= 0 else f"{j} dropped ({drop_reason})"
             for j, k in enumerate(cmap)]
    return "; ".join(parts) if parts else "(none)"


def _merge_notes(cmap, src, dst):
    notes = []
    for k in sorted({k for k in cmap if k >= 0}):
        sources = [j for j, t in enumerate(cmap) if t == k]
        if len(sources) > 1:
            notes.append(f"{src}'s {', '.join(map(str, sources))} merged (identical) onto "
                         f"{dst}'s {k}")
    return notes


def _describe_units(umap):
    parts = []
    for u, m in enumerate(umap):
        if m.target >= 0:
            extra = "" if m.status == "matched" else ", merged"
            parts.append(f"unit {u} -> {m.target} (t={_fmt(m.factor)}{extra})")
        elif m.status == "constant":
            vals = ", ".join(_fmt(x) for x in m.absorbed)
            parts.append(f"unit {u} constant, absorbed into the output bias (+[{vals}])")
        else:
            parts.append(f"unit {u} dropped ({m.status})")
    return "; ".join(parts) if parts else "(none)"


# Dispatch on the latent dimension; m = 2 would add entries here.
_FINDERS = {1: _find_equivalence_1d}
_CANONICALISERS = {1: _canonical_form_1d}
