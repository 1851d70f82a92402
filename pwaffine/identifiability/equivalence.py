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
Latent dimensions ``m = 1`` (``h(z) = scale * z + shift``) and ``m = 2``
(``h(z) = M z + b``) are implemented, dispatched on ``m``; the canonical form
for ``m = 2`` needs a network with at most one hidden layer.

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

**Decision procedure** (``m = 2``, :mod:`._equivalence_2d`).  The noise
levels must agree and the priors are reduced as for ``m = 1`` (a covariance
takes the place of a variance).  Every valid ``h`` maps the first reduced
component of ``P_a`` (the *anchor*) onto some component ``k0`` of ``P_b`` with
the same weight, and then ``M = T_b Q T_a^-1`` and ``b = mean_b[k0] - M
mean_a[0]`` with ``T_a, T_b`` the Cholesky factors of the two covariances and
``Q`` orthogonal (a rotation or a reflection); so only ``Q`` is to be found,
for each ``k0``.  Candidates for ``Q`` (no permutation of the components is
enumerated: the work is ``O(K^2)`` candidate maps, each paired by one
assignment problem, plus at most two per distinct regional Jacobian of
``f_b`` when the networks must decide):

- *means*: the other component whose mean is farthest from the anchor's (in
  the anchor's whitened coordinates, ``u = T_a^-1 (mean_a[j] - mean_a[0])``)
  must go to some component ``k`` of equal weight, ``Q u / |u| = v / |v|`` for
  ``v = T_b^-1 (mean_b[k] - mean_b[k0])``: one rotation and one reflection per
  ``k``.  This covers three or more components with affinely independent
  means as well as two components or collinear means;
- *covariances*: the most anisotropic whitened covariance ``T_a^-1 cov_a[j]
  T_a^-T`` must go to ``T_b^-1 cov_b[k] T_b^-T``; their eigenvectors fix
  ``Q`` up to four sign choices;
- *networks*, when neither feature exceeds ``1e-3`` (one component, or all
  components with one mean and proportional covariances: the prior is then
  invariant under every ``Q``): the regional Jacobian of ``f_a`` (in the
  anchor's whitened coordinates) that is best conditioned must equal ``B Q^T``
  for some regional Jacobian ``B`` of ``f_b``; for rank 2 that fixes ``Q``,
  for rank 1 (``n = 1``, or a ridge) up to a rotation and a reflection.  Each
  proposal is then refined by orthogonal Procrustes over all regions (the
  Jacobian of ``f_a`` inside each region against that of ``f_b`` at its
  image).  With ``support_sd`` the source Jacobian is taken on a region
  meeting the disc of radius ``support_sd`` around the anchor, whose image
  lies in the compared box.  If ``f_a`` is constant, ``Q = I`` is tried (any
  ``Q`` then does).  If the prior's proposals all fail (parameters accurate
  only to about the tolerance tilt a frame taken from a short mean
  difference), the networks' proposals are tried as well.

For each candidate the other components are paired by an assignment problem;
with three or more components whose means are affinely independent ``M`` and
``b`` are refitted by least squares from all the means (the better of the two
fits is kept), and the covariances ``M cov_a M^T = cov_b``, means and weights
of all pairs are checked.  Surviving candidates are checked for ``f_b = f_a o
h^-1`` *as functions on the whole plane*, exactly: the difference ``g`` is
affine on every region of the common refinement of ``f_b``'s partition and
the image under ``h`` of ``f_a``'s; that refinement is the partition of one
network computing both functions side by side (made plain-ReLU when the
activations differ, the shallower one extended by exact identity layers
``y = (s(y) - s(-y)) / (1 + slope)``), so ``g = 0`` iff ``g`` vanishes at its
vertices, at points far along the rays of its unbounded regions and (as a
safeguard) at points inside every region.  The vertices of both partitions
and b's component means are compared first, which rejects wrong candidates
cheaply.  With ``support_sd`` the regions are clipped to the box of b's
components +- ``support_sd`` standard deviations (per coordinate) and their
clipped vertices compared.  If several ``h`` pass (symmetric models), ``det M
> 0`` is preferred, then the smaller residual.  For two one-hidden-layer
networks with the same activation the hidden units are then matched: unit
``i`` of ``a`` composed with ``h^-1`` has the incoming (weight, bias) of a
unit of ``b`` times ``t > 0``; units on the same oriented zero line merge, as
for ``m = 1``.

*Limits* (``m = 2``).  Every invertible ``h`` is covered (no search is
capped), so for exact parameters the answer is decided; what is left is
numerical.  A candidate is accepted only if all checks pass, so a ``None``
can only come from proposals that miss the valid ``h`` by more than the
tolerances: for parameters accurate to about the tolerance a proposal taken
from one mean difference or one region can be tilted enough to fail (give
``atol``/``rtol`` some margin above the parameters' accuracy).  When several
``h`` pass (a symmetric model) one is returned, not the set.  Equivalence on
the support (``support_sd``) is decided on an axis-aligned box, not on an
ellipse.

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

For ``m = 2`` (``|.|`` the Euclidean norm, ``||.||`` the spectral norm; means
and covariances compared entry by entry, in b's coordinates):

- mixture weights and noise as above;
- component means: ``S = L``, the larger over both mixtures of ``max_k
  |mean_k| + sqrt(||cov_k||)``;
- component covariances: ``S = max(||cov_x||, ||cov_y||)``;
- function values at a point ``w``, output ``i``: ``S = F_i + G_i |w - w0|``
  with ``w0`` the mean of ``P_b``, ``F_i`` the largest ``|f_i|`` of either
  function at b's component means and ``G_i`` the largest gradient norm
  ``|grad f_i|`` of either function on any region; far along a ray this
  compares slopes relative to ``G_i``, as the end slopes for ``m = 1``;
- unit matching only: two units share a line when their normalised lines
  ``n . w + d = 0`` (``|n| = 1``) have ``|d - d'| + S |n - n'| <= atol + rtol
  * S`` with ``S = max(L, |d|, |d'|)``; outgoing weights times ``|incoming
  weight|`` and output biases as for ``m = 1``.

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
        Models with the same latent dimension ``m`` (``1`` or ``2``) and
        observed dimension ``n``.
    atol : float, default=1e-8
        Absolute tolerance; also the weight at or below which a component is
        dropped.
    rtol : float, default=1e-6
        Relative tolerance, relative to the reference sizes listed in the
        module Notes.
    support_sd : float, optional
        If given, ``f_b`` and ``f_a o h^-1`` are compared only on the latent
        interval (``m = 2``: the axis-aligned box) spanned by b's components
        (weight above ``atol``) to within ``support_sd`` standard deviations
        (per coordinate), instead of on the whole line (plane).  Two
        models that differ only where the prior mass is below ``Phi(-support_sd)``
        have likelihoods equal to within that mass, so a likelihood cannot tell
        them apart; this is the equivalence that numerical likelihood
        maximisation can resolve (the study uses ``support_sd=8``).

    Returns
    -------
    Equivalence or None
        The affine map ``h`` (:attr:`Equivalence.matrix` of shape (m, m),
        :attr:`Equivalence.offset` of shape (m,)) with its component (and, for
        one-hidden-layer networks, unit) matching, or ``None`` if the models
        are not equivalent: noise differs, ``m`` or ``n`` differs, or no
        invertible affine ``h`` has ``prior_b = h#prior_a`` and ``f_b = f_a o
        h^-1``.

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
        A model with a 1-D latent (any depth and width, any ``n``) or a 2-D
        latent (a network with at most one hidden layer, any width and
        ``n``).
    atol, rtol : float, default 1e-8 and 1e-6
        Tolerances, in the canonical coordinates, for dropping components
        (weight ``<= atol``), merging identical components and coincident
        breakpoints (``m = 2``: zero lines), dropping kinks whose slope change
        is negligible, and breaking the ties between orientations (see
        Notes).

    Returns
    -------
    PushforwardModel
        Same noise; a prior with mean 0 and (co)variance 1 (``I``), components
        sorted lexicographically by (mean, variance, weight) (``m = 2``: by
        (mean_1, mean_2, cov_11, cov_12, cov_22, weight)); a plain-ReLU
        network with one hidden layer whose units all have incoming weights
        of norm 1 (none if ``f`` is affine: then a single affine layer).  It
        defines the same law of ``x`` as ``model`` (exactly, up to rounding
        and the reductions above).

    Raises
    ------
    ValueError
        If ``model`` is not a PushforwardModel or the tolerances are invalid.
    NotImplementedError
        Where the capability table offers no ``equivalence``, and for a 2-D
        latent with a network of more than one hidden layer (a deeper
        piecewise-affine function of the plane has no canonical network
        here).

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

    For ``m = 2``, also built from the function, so the same for models whose
    one-hidden-layer networks differ in width, activation, unit order, unit
    scaling, split, dead or constant units:

    1. Prior: drop components of weight ``<= atol``, renormalise; with ``mu``,
       ``S`` the mixture's mean and covariance, the latent becomes ``w = Q
       S^-1/2 (z - mu)`` (symmetric square root), ``Q`` orthogonal; merge
       identical components.
    2. Function: ``f(mu + S^1/2 Q^T w) = c0 + A0 w + sum_l J_l relu(n_l . w
       + d_l)``, one term per distinct zero line of the hidden units (units
       on one line, in either orientation, merge; lines whose jump ``J_l =
       (1 - slope) sum_u W2[:, u] |W1[u]|`` is within ``atol + rtol * G`` are
       dropped); each line is oriented so that ``n_l`` has its angle in
       ``(-pi/2, pi/2]``, which fixes ``A0`` and ``c0``.  The network has, in
       the order of the lines sorted by (angle, ``d_l``), a unit ``relu(n_l .
       w + d_l)`` with outgoing weight ``J_l``; the linear part is carried,
       as ``X1 n_1^T + X2 n_2^T``, by the first line and the first line after
       it with ``|n_1 x n_2| > 1e-3``: each gets ``X_i`` added to its
       outgoing weight and an opposite unit ``relu(-n_i . w - d_i)`` with
       outgoing weight ``-X_i`` right after it (if all lines are parallel,
       the second pair sits on the line through 0 perpendicular to ``n_1``, at
       the end); units with negligible outgoing weight are dropped.
    3. Frame ``Q``: candidate frames come from the first of these features
       that exists (in the standardised coordinates, strength above
       ``1e-3``): the principal axes of the component means (eigenvectors of
       ``sum_j w_j mu_j mu_j^T`` with distinct eigenvalues, larger first;
       four sign choices); else each nonzero component mean (``e1`` along it,
       ``e2 = +-`` its perpendicular); else each anisotropic component
       covariance (its eigenvectors, four sign choices); else each zero line
       (``e1 = +-n_l``, ``e2 = +-`` perpendicular); else each nonzero row of
       the gradient of an affine ``f``; else ``Q = I``.  Among them ``Q`` is the
       one whose parameter vector (sorted components; sorted lines as (angle,
       ``d_l``, ``J_l``); ``A0``; ``c0``) is lexicographically smallest,
       entries within ``atol + rtol * max(|x|, |y|)`` counting as equal.  The
       candidates move with the model under any affine map, so equivalent
       models give the same minimum; a feature within rounding of the
       ``1e-3`` threshold can make two equivalent models choose differently.

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
