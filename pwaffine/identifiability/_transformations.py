"""The transformations between equivalent models, as evidence a reader can check.

:class:`Equivalence` (an affine map ``h(z) = M z + b`` of the latent, ``m = 1``
or ``2``, with its component and unit correspondences) and :class:`UnitMatch`
are what :func:`find_equivalence` returns; :meth:`Equivalence.verify`
re-checks a stated transformation from the two models alone, independently of
how it was found.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..model import PushforwardModel
from ..model.polygons import clip_to_box

__all__ = ["Equivalence", "UnitMatch"]

#: A mixture component is dropped as absent when its weight is at most
#: ``min(atol, DROP_WEIGHT_MAX)``: a loose ``atol`` (fits to small samples)
#: must not drop real components.
DROP_WEIGHT_MAX = 1e-3


def feasible_assignment(err, tol):
    """Pair classes of two mixtures: the assignment with every pair within tolerance, if any.

    ``err`` and ``tol`` have shape ``(n_checks, K, K)``; pair ``(i, k)`` is
    feasible when every ``err[:, i, k] <= tol[:, i, k]``.

    Returns
    -------
    rows, perm : ndarray of int, or None if no feasible assignment exists
    ratio : ndarray of shape (K, K)
        Largest ``err / tol`` of each pair.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0.0, 0.0, err / tol).max(axis=0)
    K = ratio.shape[0]
    # Infeasible pairs cost 1, feasible ones less than 1/K in total: the
    # minimum-cost assignment is feasible whenever one exists.
    cost = (ratio > 1.0) + np.minimum(ratio, 1.0) / (K + 1)
    rows, perm = linear_sum_assignment(cost)
    if np.any(ratio[rows, perm] > 1.0):
        return None, None, ratio
    return rows, perm, ratio


def assign_unit_clusters(clusters, eff, scale, tol, maps):
    """Fill the unit maps from clusters of hidden units that share a line (or knot).

    Parameters
    ----------
    clusters : iterable of (list of int, list of int)
        Per cluster, the units of model a and of model b on it.
    eff : (ndarray, ndarray)
        Each side's effective outgoing weights, shape ``(n_outputs, n_units)``:
        the cluster's totals must agree within ``tol``.
    scale : (ndarray, ndarray)
        Each side's unit size: unit ``u`` matched to ``v`` gets ``t = scale_b[v] /
        scale_a[u]`` (and the reverse for b's units).
    tol : float or ndarray of shape (n_outputs,)
    maps : (list, list)
        The two unit maps, filled in place.

    Returns
    -------
    bool
        False if some cluster's totals disagree (the networks differ).
    """
    for members in clusters:
        n_outputs = eff[0].shape[0]
        totals = [sum((eff[k][:, u] for u in members[k]), np.zeros(n_outputs)) for k in (0, 1)]
        if np.any(np.abs(totals[0] - totals[1]) > tol):
            return False
        status = "matched" if len(members[0]) == len(members[1]) == 1 else "merged"
        for k in (0, 1):
            other = members[1 - k]
            for u in members[k]:
                if not other:
                    maps[k][u] = UnitMatch(-1, float("nan"), "cancelled")
                else:
                    t = scale[1 - k][other[0]] / scale[k][u]
                    maps[k][u] = UnitMatch(int(other[0]), float(t), status)
    return True


def drop_threshold(atol):
    """The weight at or below which a component counts as absent."""
    return min(atol, DROP_WEIGHT_MAX)


def _check_models(model_a, model_b):
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, PushforwardModel):
            raise ValueError(f"{name} must be a PushforwardModel; got {type(model).__name__}")

#: Relative offsets (times ``1 + |t|``) of the extra points :meth:`Equivalence.verify`
#: evaluates on both sides of every breakpoint ``t`` (``m = 1``) or around every
#: vertex (``m = 2``, in eight directions).
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
        The ``t > 0`` of the match.  Unit ``i`` of ``a`` composed with
        ``h^-1(w) = M^-1 (w - b)`` has incoming weight ``W1_a[i] M^-1`` (a row,
        shape ``(m,)``) and bias ``b1_a[i] - W1_a[i] M^-1 b``; for ``m = 1``
        that is ``(W1_a[i, 0] / scale, b1_a[i] - W1_a[i, 0] * shift / scale)``.
        For a unit ``i`` of ``a`` matched to unit ``j`` of ``b``: ``(W1_b[j],
        b1_b[j]) = t *`` (unit ``i`` composed with ``h^-1``); when no merge is
        involved the outgoing weights are ``W2_b[:, j] = W2_a[:, i] / t``.  For
        a unit ``j`` of ``b`` the roles are swapped: ``t`` times unit ``j``
        equals unit ``target`` of ``a`` composed with ``h^-1``.  ``nan`` for a
        dropped unit.
    status : str
        ``"matched"`` (one unit on each side), ``"merged"`` (the unit is one of
        several with the same zero line and orientation, on either side; their
        outgoing weights, each times the norm of its incoming weight, sum to
        the same total on both sides), ``"cancelled"`` (same-line units of one
        side whose outgoing weights cancel, with no counterpart), ``"zero
        outgoing weight"`` or ``"constant"`` (zero incoming weight; absorbed
        into the output bias).
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


@dataclass(frozen=True, init=False, eq=False)
class Equivalence:
    """An affine map of the latent space (with matchings) taking model ``a`` to ``b``.

    Produced by :func:`find_equivalence`.  ``h(z) = M z + b`` (``M`` =
    :attr:`matrix`, ``b`` = :attr:`offset`) maps ``a``'s latent coordinates
    onto ``b``'s: ``prior_b = h#prior_a`` (after reductions) and ``f_b = f_a o
    h^-1``.

    Parameters
    ----------
    matrix : array-like of shape (m, m)
        The invertible linear part ``M`` (``m = 1`` or ``2``; a scalar is read
        as a 1 x 1 matrix).  Its determinant may be negative (a reflection).
    offset : array-like of shape (m,)
        The translation ``b`` (a scalar is read as shape ``(1,)``).
    component_map : tuple of int, length ``prior_a.n_components``
        For each component ``j`` of ``a``, a component ``k`` of ``b`` with
        ``h#N(mean_a[j], cov_a[j]) = N(mean_b[k], cov_b[k])``, or ``-1`` if
        ``weight_a[j] <= atol`` (dropped).  Identical components of ``a`` map to
        the same ``k`` (merged): their weights add up.
    inverse_component_map : tuple of int, length ``prior_b.n_components``
        The same for the components of ``b`` (``k -> j`` with
        ``N(mean_b[k], cov_b[k]) = h#N(mean_a[j], cov_a[j])``).  Together the
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
        quantities (noise, weights, means, covariances, function values).
    residual_ratio : float
        The largest ``|x - y| / (atol + rtol * S)`` (see the Notes of
        :mod:`pwaffine.identifiability.equivalence`); at most 1, and far below
        1 when the margin is clear.
    atol, rtol : float
        The tolerances the decision was made with.
    scale, shift : float, optional
        Keyword-only, ``m = 1`` only: ``h(z) = scale * z + shift``, instead of
        (or overriding) ``matrix`` and ``offset``.

    Attributes
    ----------
    n_latent : int
        ``m``.
    scale, shift : float
        ``m = 1`` only: ``matrix[0, 0]`` and ``offset[0]``; for ``m = 2``
        reading them raises ``AttributeError``.

    Notes
    -----
    Instances are immutable (``matrix`` and ``offset`` are read-only arrays)
    and compare equal when all their fields are equal.
    ``dataclasses.replace(eq, shift=...)`` works for ``m = 1``.

    Examples
    --------
    >>> from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    >>> from pwaffine import find_equivalence
    >>> f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])  # |z|
    >>> a = PushforwardModel(GaussianMixture([1.0], [[1.5]], [[[0.5]]]), f, 0.1)
    >>> b = PushforwardModel(GaussianMixture([1.0], [[-1.5]], [[[0.5]]]), f, 0.1)
    >>> eq = find_equivalence(a, b)
    >>> eq.scale, eq.shift
    (-1.0, 0.0)
    >>> eq.matrix, eq.offset
    (array([[-1.]]), array([0.]))
    >>> [u.target for u in eq.unit_map]
    [1, 0]
    >>> eq.verify(a, b)
    0.0
    """

    matrix: np.ndarray
    offset: np.ndarray
    component_map: tuple
    inverse_component_map: tuple
    unit_map: tuple | None
    inverse_unit_map: tuple | None
    residual: float
    residual_ratio: float
    atol: float
    rtol: float

    def __init__(self, matrix=None, offset=None, component_map=(), inverse_component_map=(),
                 unit_map=None, inverse_unit_map=None, residual=0.0, residual_ratio=0.0,
                 atol=1e-8, rtol=1e-6, *, scale=None, shift=None):
        if scale is not None:
            matrix = scale
        if shift is not None:
            offset = shift
        if matrix is None or offset is None:
            raise ValueError("Equivalence needs matrix and offset (or, for m = 1, scale and "
                             "shift)")
        M = np.array(matrix, dtype=np.float64)
        if M.ndim == 0:
            M = M.reshape(1, 1)
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] not in (1, 2):
            raise ValueError(f"matrix must have shape (m, m) with m = 1 or 2; got shape "
                             f"{M.shape}")
        c = np.array(offset, dtype=np.float64).reshape(-1)
        if c.shape != (M.shape[0],):
            raise ValueError(f"offset must have shape ({M.shape[0]},) to match matrix; got "
                             f"{np.shape(offset)}")
        if not (np.all(np.isfinite(M)) and np.all(np.isfinite(c))):
            raise ValueError("matrix and offset must be finite")
        if np.linalg.det(M) == 0.0:
            raise ValueError(f"matrix must be invertible; got {M.tolist()}")
        M.setflags(write=False)
        c.setflags(write=False)
        values = dict(matrix=M, offset=c, component_map=tuple(component_map),
                      inverse_component_map=tuple(inverse_component_map),
                      unit_map=None if unit_map is None else tuple(unit_map),
                      inverse_unit_map=None if inverse_unit_map is None else tuple(inverse_unit_map),
                      residual=float(residual), residual_ratio=float(residual_ratio),
                      atol=float(atol), rtol=float(rtol))
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _key(self):
        return (self.matrix.shape, self.matrix.tobytes(), self.offset.tobytes(),
                self.component_map, self.inverse_component_map, self.unit_map,
                self.inverse_unit_map, self.residual, self.residual_ratio, self.atol, self.rtol)

    def __eq__(self, other):
        if not isinstance(other, Equivalence):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    @property
    def n_latent(self):
        """The latent dimension ``m``."""
        return self.matrix.shape[0]

    @property
    def scale(self):
        """``h(z) = scale * z + shift`` for ``m = 1`` (``matrix[0, 0]``)."""
        self._require_1d("scale")
        return float(self.matrix[0, 0])

    @property
    def shift(self):
        """``h(z) = scale * z + shift`` for ``m = 1`` (``offset[0]``)."""
        self._require_1d("shift")
        return float(self.offset[0])

    def _require_1d(self, name):
        if self.n_latent != 1:
            raise AttributeError(
                f"Equivalence.{name} is defined for a 1-D latent only; this map has "
                f"m={self.n_latent}: use .matrix (M) and .offset (b) of h(z) = M z + b")

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
        Z = _check_points(Z, self.n_latent, "Z")
        return Z @ self.matrix.T + self.offset

    def inverse_latent_map(self, W):
        """Apply ``h^-1`` to latent points of model ``b``.

        Parameters
        ----------
        W : array-like of shape (n_samples, m)

        Returns
        -------
        ndarray of shape (n_samples, m)
            ``(W - offset) @ inv(matrix).T``, the same points in ``a``'s coordinates.
        """
        W = _check_points(W, self.n_latent, "W")
        return _inverse_map(W, self.matrix, self.offset)

    # -------------------------------------------------------------- describe
    def describe(self):
        """A human-readable account of the transformation.

        Returns
        -------
        str
            Several lines: the map ``h`` (for ``m = 2`` as ``h(z) = M z + b with
            M = [[..]], b = [..]``), the component matching (dropped and merged
            components named), the unit matching (factors ``t``, dropped and
            constant units, absorbed constants) and the residual.
        """
        tail = "maps a's latent onto b's (prior_b = h#prior_a, f_b = f_a o h^-1)"
        if self.n_latent == 1:
            s, c = self.scale, self.shift
            first = f"h(z) = {_fmt(s)} z {'-' if c < 0 else '+'} {_fmt(abs(c))} {tail}"
        else:
            rows = ", ".join("[" + ", ".join(_fmt(x) for x in row) + "]" for row in self.matrix)
            vec = "[" + ", ".join(_fmt(x) for x in self.offset) + "]"
            first = (f"h(z) = M z + b with M = [{rows}], b = {vec} "
                     f"(det M = {_fmt(np.linalg.det(self.matrix))}) {tail}")
        lines = [first]
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
            under :attr:`component_map`, the entries of ``M mean_a[j] + b -
            mean_b[k]`` and ``M cov_a[j] M^T - cov_b[k]`` (likewise for
            :attr:`inverse_component_map`); the weight of every dropped
            component; the difference of total weights in each group of
            components linked by the two maps; ``|f_a(h^-1(w)) - f_b(w)|``
            evaluated with :meth:`ReLUNetwork.forward` on a wide grid and, for
            ``m = 1``, at and near every breakpoint of ``f_b`` and image of a
            breakpoint of ``f_a``; for ``m = 2``, at and near every vertex of
            both region partitions (``a``'s mapped by ``h``) and at three points
            inside every region of both; and, if :attr:`unit_map` is set, the
            stated relations between matched units' (incoming weight, bias)
            and the group sums of their outgoing weights.

        Raises
        ------
        ValueError
            If the models' dimensions differ from each other or from ``h``'s.
        """
        _check_models(model_a, model_b)
        if (model_a.n_latent, model_a.n_features) != (model_b.n_latent, model_b.n_features):
            raise ValueError("model_a and model_b have different latent or observed "
                             "dimensions; no affine map relates them")
        if model_a.n_latent != self.n_latent:
            raise ValueError(f"this map acts on a {self.n_latent}-D latent; the models have "
                             f"m={model_a.n_latent}")
        M, c = self.matrix, self.offset
        errs = [0.0]
        errs.append(np.abs(model_a.noise_vector - model_b.noise_vector).max())
        errs.append(_verify_prior(model_a.prior, model_b.prior, M, c,
                                  self.component_map, self.inverse_component_map))
        check = _verify_function_1d if self.n_latent == 1 else _verify_function_2d
        errs.append(check(model_a, model_b, M, c))
        if self.unit_map is not None:
            errs.append(_verify_units(model_a.network, model_b.network, M, c,
                                      self.unit_map, self.inverse_unit_map))
        return float(max(errs))


def _check_points(Z, m, name):
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != m:
        raise ValueError(f"{name} must have shape (n_samples, {m}); got shape {Z.shape}")
    return Z


def _inverse_map(W, M, c):
    """``h^-1(w) = M^-1 (w - c)`` row by row (exact division for ``m = 1``)."""
    if M.shape[0] == 1:
        return (W - c) / M[0, 0]
    return np.linalg.solve(M, (W - c).T).T


def _ratio(err, tol):
    """Largest ``err / tol`` (``inf`` where ``tol == 0 < err``; 0 for empty input)."""
    err = np.asarray(err, dtype=np.float64)
    if err.size == 0:
        return 0.0
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), err.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(err == 0.0, 0.0, err / tol)
    return float(r.max())


def _activate(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x)


def _units_in_b_coordinates(network, s=1.0, c=0.0):
    """(beta, pi, W2, b2) of a one-hidden-layer network composed with h^-1(w) = (w - c) / s."""
    W1, b1 = network.weights[0][:, 0], network.biases[0]
    return W1 / s, b1 - W1 * c / s, network.weights[1], network.biases[1]


def _units_mapped(network, M, c):
    """(beta (H, m), pi (H,), W2, b2) of a one-hidden-layer network composed with ``h^-1``."""
    W1, b1 = network.weights[0], network.biases[0]
    if M.shape[0] == 1:
        beta = W1 / M[0, 0]
    else:
        beta = np.linalg.solve(M.T, W1.T).T  # rows W1[i] M^-1
    return beta, b1 - beta @ c, network.weights[1], network.biases[1]


# --------------------------------------------------------------------------- verification
def _union_find(n):
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    def join(i, j):
        parent[root(i)] = root(j)

    return root, join


def _verify_prior(prior_a, prior_b, M, c, cmap, inverse):
    """Max discrepancy of h#prior_a against prior_b under the stated component maps."""
    wa, wb = prior_a.weights, prior_b.weights
    ma = prior_a.means @ M.T + c
    va = M @ prior_a.covariances @ M.T
    mb, vb = prior_b.means, prior_b.covariances
    Ja = wa.size
    errs = [0.0]
    # Groups: connected components of the bipartite graph a_j -- b_k of both maps.
    root, join = _union_find(Ja + wb.size)
    pairs = [(j, k) for j, k in enumerate(cmap)] + [(j, k) for k, j in enumerate(inverse)]
    for j, k in pairs:
        if k < 0:
            errs.append(wa[j])
        elif j < 0:
            errs.append(wb[k])
        else:
            errs += [np.abs(ma[j] - mb[k]).max(), np.abs(va[j] - vb[k]).max()]
            join(Ja + k, j)
    total = {}
    for i, w in enumerate(np.concatenate([wa, -wb])):
        total[root(i)] = total.get(root(i), 0.0) + w
    errs += [abs(t) for t in total.values()]
    return float(max(errs))


def _verify_function_1d(model_a, model_b, M, c):
    """Max |f_a(h^-1 w) - f_b(w)| by forward evaluation on a grid and at every kink."""
    s, c = float(M[0, 0]), float(c[0])
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


def _region_sample_points(regions):
    """Vertices, points near them and three points inside every region (region coordinates).

    Every region is clipped to a box holding all vertices (and the origin, on
    which the vertex-free regions' points are built) with a margin; the
    centroid ``g`` of the clipped polygon and ``g + (p_i - g) / 2`` for its
    first two vertices ``p_0, p_1`` are three non-collinear interior points.
    """
    V = regions.points
    lo = np.minimum(V.min(axis=0, initial=0.0) if V.size else 0.0, 0.0)
    hi = np.maximum(V.max(axis=0, initial=0.0) if V.size else 0.0, 0.0)
    pad = 0.1 * (hi - lo) + 1.0
    xlim, ylim = (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])
    out = [V]
    dirs = np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4 + 0.1])
    size = 1.0 + np.linalg.norm(V, axis=1)[:, None]
    for eps in _VERIFY_OFFSETS[1:]:
        for d in dirs:
            out.append(V + eps * size * d)
    for k in range(regions.n_regions):
        normals, offsets = regions.halfplanes(k)
        poly = clip_to_box(normals, offsets, xlim, ylim)
        if poly.shape[0] >= 3:
            g = poly.mean(axis=0)
            out.append(np.array([g, 0.5 * (g + poly[0]), 0.5 * (g + poly[1])]))
    return np.concatenate(out)


def _verify_function_2d(model_a, model_b, M, c):
    """Max |f_a(h^-1 w) - f_b(w)| at vertices, inside every region, and on a grid."""
    net_a, net_b = model_a.network, model_b.network
    pts_b = _region_sample_points(net_b.affine_regions())
    pts_a = _region_sample_points(net_a.affine_regions()) @ M.T + c
    means = np.concatenate([model_a.prior.means @ M.T + c, model_b.prior.means])
    cov_a = M @ model_a.prior.covariances @ M.T
    sd = np.sqrt(np.concatenate([np.diagonal(cov_a, axis1=1, axis2=2),
                                 np.diagonal(model_b.prior.covariances, axis1=1, axis2=2)]))
    lo, hi = np.min(means - 5 * sd, axis=0), np.max(means + 5 * sd, axis=0)
    pad = hi - lo + 1.0
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 65),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 65))
    w = np.concatenate([pts_b, pts_a, np.column_stack([gx.ravel(), gy.ravel()])])
    return float(np.abs(net_a.forward(_inverse_map(w, M, c)) - net_b.forward(w)).max())


def _verify_units(net_a, net_b, M, c, unit_map, inverse_unit_map):
    """Max discrepancy of the stated unit relations (pairs and group sums)."""
    beta_a, pi_a, W2_a, _ = _units_mapped(net_a, M, c)
    beta_b, pi_b, W2_b, _ = net_b.weights[0], net_b.biases[0], net_b.weights[1], None
    Ha = pi_a.size
    errs = [0.0]
    root, join = _union_find(Ha + pi_b.size)
    for u, m in enumerate(unit_map):
        if m.target >= 0:
            errs += [np.abs(m.factor * beta_a[u] - beta_b[m.target]).max(),
                     abs(m.factor * pi_a[u] - pi_b[m.target])]
            join(Ha + m.target, u)
    for u, m in enumerate(inverse_unit_map):
        if m.target >= 0:
            errs += [np.abs(m.factor * beta_b[u] - beta_a[m.target]).max(),
                     abs(m.factor * pi_b[u] - pi_a[m.target])]
            join(Ha + u, m.target)
    linked = [u for u, m in enumerate(unit_map) if m.target >= 0]
    linked += [Ha + u for u, m in enumerate(inverse_unit_map) if m.target >= 0]
    eff = np.concatenate([W2_a * np.linalg.norm(beta_a, axis=1),
                          -W2_b * np.linalg.norm(beta_b, axis=1)], axis=1)
    total = {}
    for i in linked:
        total[root(i)] = total.get(root(i), 0.0) + eff[:, i]
    errs += [float(np.abs(t).max()) for t in total.values()]
    return float(max(errs))


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
