"""The transformations between equivalent models, as evidence a reader can check.

:class:`Equivalence` (an affine map of the latent with its component and unit
correspondences) and :class:`UnitMatch` are what :func:`find_equivalence`
returns; :meth:`Equivalence.verify` re-checks a stated transformation from the
two models alone, independently of how it was found.
"""

from dataclasses import dataclass

import numpy as np

from ..model import PushforwardModel

__all__ = ["Equivalence", "UnitMatch"]


def _check_models(model_a, model_b):
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        if not isinstance(model, PushforwardModel):
            raise ValueError(f"{name} must be a PushforwardModel; got {type(model).__name__}")

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
    >>> from pwaffine import find_equivalence
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

