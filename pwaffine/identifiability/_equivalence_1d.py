"""Equivalence and canonical form of models with a 1-D latent (``m = 1``).

The decision procedure and the tolerances are described in
:mod:`pwaffine.identifiability.equivalence`.
"""

import functools
import itertools

import numpy as np

from ..model import GaussianMixture, PushforwardModel, ReLUNetwork
from ._transformations import (
    UnitMatch,
    _activate,
    _ratio,
    _units_in_b_coordinates,
    drop_threshold,
    assign_unit_clusters,
    feasible_assignment,
)

__all__ = ["canonical_form_1d", "find_equivalence_1d"]

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
    """Drop components with weight <= drop_threshold(atol), merge identical ones (union-find)."""
    keep = np.flatnonzero(weights > drop_threshold(atol))
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
    rows, perm, ratio = feasible_assignment(err, tol)
    if perm is None:
        return None, np.inf, np.inf
    return perm, float(err.max(axis=0)[rows, perm].max()), float(ratio[rows, perm].max())


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
    members = [[sorted(u for _, _, side, u in cluster if side == k) for k in (0, 1)]
               for cluster in clusters]
    if not assign_unit_clusters(members, eff, (sides[0][0], sides[1][0]), atol + rtol * S_e,
                                maps):
        return None, None
    return tuple(maps[0]), tuple(maps[1])


# --------------------------------------------------------------------------- search (m = 1)
def find_equivalence_1d(model_a, model_b, atol, rtol, support_sd=None):
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


def canonical_form_1d(model, atol, rtol):
    prior = model.prior
    w0, m0, v0 = prior.weights, prior.means[:, 0], prior.covariances[:, 0, 0]
    keep = w0 > drop_threshold(atol)
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


