"""Equivalence and canonical form of models with a 2-D latent (``m = 2``).

The decision procedure, its limits and the tolerances' reference sizes are
described in the Notes of :mod:`pwaffine.identifiability.equivalence`.  In
short, :func:`find_equivalence_2d` reduces both priors; for every pairing of
a's first component (the anchor) with a component ``k0`` of b of equal weight
it writes ``h(z) = M z + c`` as ``M = T_b Q T_a^-1``, ``c = mean_b[k0] - M
mean_a[0]`` (lower Cholesky factors ``T``, ``Q`` orthogonal) and collects
frames ``Q`` from the farthest mean and the most anisotropic covariance
(:func:`_prior_frames`) and, when those are weak, from the regional
Jacobians (:func:`_network_frames`); pairs all components by an assignment
problem and checks them (:func:`_component_errors`) -- ``O(K^2)`` candidates,
no permutations enumerated; checks ``f_b = f_a o h^-1`` exactly on the common
refinement of both partitions (:class:`_FunctionCheck`,
:func:`_overlay_network`); and matches the hidden units
(:func:`_match_units_2d`).  :func:`canonical_form_2d` standardises the
prior, writes a one-hidden-layer network over its distinct zero lines
(:class:`_Lines`) and picks the frame (:func:`_canonical_frames`) with the
lexicographically smallest parameters.  Regional maps are ``linear`` of
shape (R, n, 2), as in :class:`~pwaffine.model.polygons.PolygonRegions`.
"""

import functools

import numpy as np

from ..model import GaussianMixture, PushforwardModel, ReLUNetwork
from ..model.polygons import clip_to_box
from ._equivalence_1d import _compare_lex
from ._transformations import (
    UnitMatch,
    _activate,
    _inverse_map,
    _ratio,
    _union_find,
    _units_mapped,
    drop_threshold,
    assign_unit_clusters,
    feasible_assignment,
)

__all__ = ["canonical_form_2d", "find_equivalence_2d"]

#: A prior feature (a mean difference in units of the anchor's standard
#: deviations, or the relative eigenvalue gap of a whitened covariance) this
#: strong fixes ``Q`` on its own; below it the networks propose ``Q`` too.
#: The same bound decides which feature fixes the canonical frame.
_WEAK = 1e-3
#: Features below this are not used at all.
_NEGLIGIBLE = 1e-9
#: Loose pre-filter (relative) on frames proposed by regional Jacobians; the
#: proposals are then checked exactly, so this only saves work.
_FRAME_SLACK = 1e-2
#: Lines whose normals have ``|n_1 x n_2|`` above this carry the canonical
#: network's linear part (see :func:`canonical_form_2d`).
_CROSS = 1e-3

_REFLECT = np.diag([1.0, -1.0])
_SIGNS = [np.diag(s) for s in ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0))]


# --------------------------------------------------------------------------- mixtures (m = 2)
class _Reduced:
    """A 2-D mixture after dropping and merging: K classes of the original components.

    Attributes: ``weights`` (K,), ``means`` (K, 2), ``covariances`` (K, 2, 2),
    ``chol`` (K, 2, 2) lower Cholesky factors; ``labels`` (J,), each original
    component's class or -1 (dropped); ``representatives`` (K,), the lowest
    original index in each class.
    """

    def __init__(self, weights, means, covariances, labels):
        self.weights, self.means, self.covariances = weights, means, covariances
        self.labels = labels
        self.chol = np.linalg.cholesky(covariances)
        self.representatives = np.array([np.flatnonzero(labels == k)[0]
                                         for k in range(weights.size)], dtype=int)

    @property
    def n_classes(self):
        return self.weights.size


def _spectral(covs):
    return np.linalg.eigvalsh(covs)[..., -1]


def _latent_size(means, covs):
    """``max_k |mean_k| + sqrt(lambda_max(cov_k))``: the size of a mixture's configuration."""
    if means.shape[0] == 0:
        return 0.0
    return float(np.max(np.linalg.norm(means, axis=1) + np.sqrt(_spectral(covs))))


def _reduce_mixture(weights, means, covs, atol, rtol):
    """Drop components with weight <= drop_threshold(atol), merge identical ones (union-find)."""
    keep = np.flatnonzero(weights > drop_threshold(atol))
    L = _latent_size(means[keep], covs[keep])
    size = _spectral(covs)
    root, join = _union_find(weights.size)
    for i in keep:
        for j in keep[keep > i]:
            if (np.abs(means[i] - means[j]).max() <= atol + rtol * L
                    and np.abs(covs[i] - covs[j]).max() <= atol + rtol * max(size[i], size[j])):
                join(j, i)
    roots = sorted({root(j) for j in keep})
    labels = np.full(weights.size, -1, dtype=int)
    for j in keep:
        labels[j] = roots.index(root(j))
    groups = [labels == k for k in range(len(roots))]
    w = np.array([weights[g].sum() for g in groups])
    mu = np.array([np.average(means[g], axis=0, weights=weights[g]) for g in groups])
    cov = np.array([np.average(covs[g], axis=0, weights=weights[g]) for g in groups])
    return _Reduced(w, mu.reshape(-1, 2), cov.reshape(-1, 2, 2), labels)


def _reduce_prior(prior, atol, rtol):
    return _reduce_mixture(prior.weights, prior.means, prior.covariances, atol, rtol)


def _component_errors(ra, rb, M, c, atol, rtol):
    """Errors and tolerances of every pair (a class, b class) under h, shape (3, K, K) each."""
    ma, va = ra.means @ M.T + c, M @ ra.covariances @ M.T
    L = max(_latent_size(ma, va), _latent_size(rb.means, rb.covariances))
    err = np.stack([
        np.abs(ra.weights[:, None] - rb.weights[None, :]),
        np.abs(ma[:, None] - rb.means[None, :]).max(axis=2),
        np.abs(va[:, None] - rb.covariances[None, :]).max(axis=(2, 3)),
    ])
    tol = np.stack([
        atol + rtol * np.maximum(ra.weights[:, None], rb.weights[None, :]),
        np.full(err.shape[1:], atol + rtol * L),
        atol + rtol * np.maximum(_spectral(va)[:, None], _spectral(rb.covariances)[None, :]),
    ])
    return err, tol


def _pair_components(ra, rb, M, c, atol, rtol):
    """Best pairing of classes under h: a permutation, or None if none fits."""
    err, tol = _component_errors(ra, rb, M, c, atol, rtol)
    return feasible_assignment(err, tol)[1]


def _refits(ra, rb, perm, M, c):
    """``(M, c)`` and, with three or more affinely independent means, the least-squares fit."""
    out = [(M, c)]
    centred = ra.means - ra.means.mean(axis=0)
    if ra.n_classes >= 3:
        sv = np.linalg.svd(centred, compute_uv=False)
        if sv[-1] > 1e-6 * max(sv[0], _latent_size(ra.means, ra.covariances)):
            X = np.linalg.lstsq(np.column_stack([ra.means, np.ones(ra.n_classes)]),
                                rb.means[perm], rcond=None)[0]
            if abs(np.linalg.det(X[:2].T)) > 0.0:
                out.append((X[:2].T.copy(), X[2].copy()))
    return out


# --------------------------------------------------------------------------- candidate maps
def _frames_taking(u, v):
    """The rotation and the reflection ``Q`` with ``Q u / |u| = v / |v|``."""
    def rot(x):
        x = x / np.linalg.norm(x)
        return np.array([[x[0], -x[1]], [x[1], x[0]]])

    Ru, Rv = rot(u), rot(v)
    return [Rv @ Ru.T, Rv @ _REFLECT @ Ru.T]


def _prior_frames(ra, rb, k0, wmatch):
    """Frames ``Q`` proposed by the priors for the anchor pairing ``0 -> k0``, and their strength."""
    if ra.n_classes == 1:
        return [], 0.0
    Ta_inv, Tb_inv = np.linalg.inv(ra.chol[0]), np.linalg.inv(rb.chol[k0])
    frames = []
    U = (ra.means[1:] - ra.means[0]) @ Ta_inv.T
    norms = np.linalg.norm(U, axis=1)
    j = int(np.argmax(norms))
    if norms[j] > _NEGLIGIBLE:
        for k in np.flatnonzero(wmatch[j + 1]):
            v = Tb_inv @ (rb.means[k] - rb.means[k0])
            if k != k0 and np.linalg.norm(v) > 0.0:
                frames += _frames_taking(U[j], v)
    C = Ta_inv @ ra.covariances[1:] @ Ta_inv.T
    lam = np.linalg.eigvalsh(C)
    aniso = (lam[:, 1] - lam[:, 0]) / (lam[:, 1] + lam[:, 0])
    i = int(np.argmax(aniso))
    if aniso[i] > _NEGLIGIBLE:
        Ua = np.linalg.eigh(C[i])[1]
        for k in np.flatnonzero(wmatch[i + 1]):
            if k != k0:
                Ub = np.linalg.eigh(Tb_inv @ rb.covariances[k] @ Tb_inv.T)[1]
                frames += [Ub @ S @ Ua.T for S in _SIGNS]
    return frames, float(max(norms[j], aniso[i]))


def _frames_from_jacobians(A, B):
    """Frames ``Q`` with ``B_l = A* Q^T`` for the most informative source ``A*`` of ``A``.

    ``A`` (R_a, n, 2) and ``B`` (R_b, n, 2) are regional Jacobians in
    whitened coordinates; ``A*`` is the best-conditioned rank-2 one (then
    ``Q^T = pinv(A*) B_l``) or, failing that, the largest (rank 1: ``Q`` maps
    ``A*^T x`` to ``B_l^T x`` for its top left singular vector ``x``).
    """
    if A.shape[0] == 0:
        return []
    sv = np.linalg.svd(A, compute_uv=False)
    if sv[:, 0].max() == 0.0:
        return []
    B = B[np.unique(np.round(B.reshape(B.shape[0], -1), 9), axis=0, return_index=True)[1]]
    frames = []
    second = sv[:, 1] if sv.shape[1] > 1 else np.zeros(sv.shape[0])  # n = 1: rank <= 1
    ratio = second / np.maximum(sv[:, 0], np.finfo(float).tiny)
    if ratio.max() > 1e-3:
        QT = np.linalg.pinv(A[int(np.argmax(ratio))]) @ B  # (R_b, 2, 2)
        U, s, Vt = np.linalg.svd(QT)
        good = np.all(np.abs(s - 1.0) <= _FRAME_SLACK, axis=1)
        frames = list(np.swapaxes(U @ Vt, 1, 2)[good])
    else:
        Astar = A[int(np.argmax(sv[:, 0]))]
        x = np.linalg.svd(Astar)[0][:, 0]
        a = Astar.T @ x
        size = np.linalg.norm(a)
        for Bl in B:
            b = Bl.T @ x
            if (abs(np.linalg.norm(b) - size) <= _FRAME_SLACK * size
                    and np.abs(Bl - np.outer(x, b)).max() <= _FRAME_SLACK * size):
                frames += _frames_taking(a, b)
    return frames


def _network_frames(net_a, net_b, ra, rb, k0, support_sd):
    """Frames ``Q`` proposed by the networks' regional Jacobians (anchor pairing ``0 -> k0``).

    With ``support_sd`` the source Jacobian comes from a region of ``f_a``
    meeting the disc of radius ``support_sd`` around the anchor (in its
    whitened coordinates), whose image lies inside the compared box.
    """
    Ta, Tb = ra.chol[0], rb.chol[k0]
    reg_a, reg_b = net_a.affine_regions(), net_b.affine_regions()
    A, B = reg_a.linear @ Ta, reg_b.linear @ Tb
    frames = []
    if support_sd is not None:
        angles = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
        ring = np.column_stack([np.cos(angles), np.sin(angles)])
        u = np.concatenate([np.zeros((1, 2))] + [r * support_sd * ring
                                                 for r in (0.1, 0.4, 0.7, 0.95)])
        sources = np.unique(reg_a.locate(ra.means[0] + u @ Ta.T))
        frames = _frames_from_jacobians(A[sources], B)
    if not frames:
        frames = _frames_from_jacobians(A, B)
    if not frames:
        return [np.eye(2)]
    # Refine each proposal with every region: orthogonal Procrustes over the
    # pairs (Jacobian of f_a at a point inside each region, Jacobian of f_b at
    # its image), so that Q is as accurate as the networks, not as one region.
    u = np.linalg.solve(Ta, (_inner_points(reg_a) - ra.means[0]).T).T
    refined = []
    for Q in frames:
        Bk = reg_b.linear[reg_b.locate(rb.means[k0] + (u @ Q.T) @ Tb.T)] @ Tb
        close = (np.linalg.norm(A @ Q.T - Bk, axis=(1, 2))
                 <= 1e-3 * (np.linalg.norm(A, axis=(1, 2)) + np.linalg.norm(Bk, axis=(1, 2))))
        K = np.einsum("rij,rik->jk", A[close], Bk[close])
        U, sv, Vt = np.linalg.svd(K)
        if close.any() and sv[0] > 0:
            flip = np.diag([1.0, np.sign(np.linalg.det(Q) * np.linalg.det(Vt.T @ U.T))])
            Q = Vt.T @ flip @ U.T
        refined.append(Q)
    return refined


def _inner_points(regions):
    """A point inside every region, shape (n_regions, 2): mean vertex plus the sum of its rays."""
    counts = np.diff(regions.point_ptr)
    sums = np.add.reduceat(regions.points, regions.point_ptr[:-1], axis=0)
    rays = np.zeros((regions.n_regions, 2))
    has = np.diff(regions.ray_ptr) > 0
    if has.any():
        rays[has] = np.add.reduceat(regions.rays, regions.ray_ptr[:-1][has], axis=0)
    extent = 1.0 + np.abs(regions.points).max(initial=0.0)
    return sums / counts[:, None] + extent * rays


def _unique_frames(frames):
    """The frames without repeats (entries equal to ~1e-9), in their first order."""
    if not frames:
        return []
    F = np.array(frames)
    keep = np.unique(np.round(F.reshape(-1, 4), 9), axis=0, return_index=True)[1]
    return list(F[np.sort(keep)])


def _candidate_maps(model_a, model_b, ra, rb, atol, rtol, support_sd, force_network=False):
    """Candidate maps under which the reduced priors match.

    Returns
    -------
    list of tuple
        ``(M, c, perm, residual, ratio)`` with ``M`` (2, 2), ``c`` (2,) and
        ``perm`` (K,), the b class of each a class.
    bool
        Whether the networks proposed frames for every anchor pairing (if not,
        a second call with ``force_network=True`` can propose more).
    """
    wmatch = (np.abs(ra.weights[:, None] - rb.weights[None, :])
              <= atol + rtol * np.maximum(ra.weights[:, None], rb.weights[None, :]))
    out, networks_everywhere = [], True
    for k0 in np.flatnonzero(wmatch[0]):
        frames, strength = _prior_frames(ra, rb, k0, wmatch)
        if strength < _WEAK or force_network:
            frames += _network_frames(model_a.network, model_b.network, ra, rb, k0, support_sd)
        else:
            networks_everywhere = False
        Ta_inv = np.linalg.inv(ra.chol[0])
        for Q in _unique_frames(frames):
            M0 = rb.chol[k0] @ Q @ Ta_inv
            c0 = rb.means[k0] - M0 @ ra.means[0]
            perm = _pair_components(ra, rb, M0, c0, atol, rtol)
            if perm is None:
                continue
            best = None
            idx = (slice(None), np.arange(ra.n_classes), perm)
            for M, c in _refits(ra, rb, perm, M0, c0):
                err, tol = _component_errors(ra, rb, M, c, atol, rtol)
                e, r = float(err[idx].max()), _ratio(err[idx], tol[idx])
                if r <= 1.0 and (best is None or r < best[4]):
                    best = (M, c, perm, e, r)
            if best is not None and all(
                    np.abs(best[0] - o[0]).max() + np.abs(best[1] - o[1]).max()
                    > 1e-9 * (1.0 + np.abs(o[0]).max() + np.abs(o[1]).max()) for o in out):
                out.append(best)
    return out, networks_everywhere


# --------------------------------------------------------------------------- functions (m = 2)
def _plain_layers(weights, biases, slope):
    """The same function with plain ReLUs: each unit ``s(p)`` becomes ``relu(p) - slope relu(-p)``."""
    Ws, bs = [], []
    E = None  # maps the new hidden vector to the old activations
    for layer, (W, b) in enumerate(zip(weights, biases)):
        W = W if E is None else W @ E
        if layer == len(weights) - 1:
            Ws.append(W), bs.append(b)
        else:
            Ws.append(np.vstack([W, -W])), bs.append(np.concatenate([b, -b]))
            k = W.shape[0]
            E = np.hstack([np.eye(k), -slope * np.eye(k)])
    return Ws, bs


def _padded(weights, biases, slope, depth):
    """Append identity passes ``y = (s(y) - s(-y)) / (1 + slope)`` until there are ``depth`` layers."""
    Ws, bs = list(weights), list(biases)
    while len(Ws) < depth:
        n = Ws[-1].shape[0]
        Ws[-1], bs[-1] = np.vstack([Ws[-1], -Ws[-1]]), np.concatenate([bs[-1], -bs[-1]])
        Ws.append(np.hstack([np.eye(n), -np.eye(n)]) / (1.0 + slope))
        bs.append(np.zeros(n))
    return Ws, bs


def _overlay_network(net_a, net_b, M, c):
    """A network whose activation regions refine those of ``f_b`` and of ``f_a o h^-1``."""
    beta = np.linalg.solve(M.T, net_a.weights[0].T).T  # rows W1_a[i] M^-1
    pi = net_a.biases[0] - beta @ c
    sides = [(list(net_b.weights), list(net_b.biases)),
             ([beta] + list(net_a.weights[1:]), [pi] + list(net_a.biases[1:]))]
    slope = net_a.negative_slope
    if net_a.negative_slope != net_b.negative_slope:
        sides = [_plain_layers(W, b, s) for (W, b), s in
                 zip(sides, (net_b.negative_slope, net_a.negative_slope))]
        slope = 0.0
    depth = max(len(W) for W, _ in sides)
    (Wb, bb), (Wa, ba) = [_padded(W, b, slope, depth) for W, b in sides]
    Ws = [np.vstack([Wb[0], Wa[0]])]
    for X, Y in zip(Wb[1:], Wa[1:]):
        Ws.append(np.block([[X, np.zeros((X.shape[0], Y.shape[1]))],
                            [np.zeros((Y.shape[0], X.shape[1])), Y]]))
    return ReLUNetwork(Ws, [np.concatenate(p) for p in zip(bb, ba)], slope)


class _FunctionCheck:
    """Compares ``f_b`` with ``f_a o h^-1`` for candidate maps ``h``, exactly.

    Tolerance at a point ``w``, output ``i``: ``atol + rtol * (F_i + G_i |w -
    w0|)`` with ``w0`` the mean of ``P_b``, ``F_i`` the largest ``|f_i|`` of
    either function at b's component means and ``G_i`` the largest gradient
    norm of output ``i`` of either function on any region (in b's
    coordinates).  First the vertices of both partitions (a's mapped by
    ``h``) and b's means are compared; if they agree, the vertices of the
    common refinement (the regions of :func:`_overlay_network`), points far
    along the rays of its unbounded regions and points inside every region:
    the difference is affine on each region of the refinement, so it vanishes
    everywhere iff it vanishes there.  With a ``box`` the regions are clipped
    to it and their clipped vertices compared instead.
    """

    def __init__(self, net_a, net_b, rb, atol, rtol, box=None):
        self.net_a, self.net_b = net_a, net_b
        self.reg_a, self.reg_b = net_a.affine_regions(), net_b.affine_regions()
        self.means, self.center = rb.means, rb.weights @ rb.means / rb.weights.sum()
        self.atol, self.rtol, self.box = atol, rtol, box

    def scales(self, M, c):
        """``F`` and ``G`` (see the class docstring) for the map ``(M, c)``, shape (n,) each."""
        grad_a = np.linalg.solve(M.T, np.swapaxes(self.reg_a.linear, 1, 2))  # (R, 2, n)
        G = np.maximum(np.linalg.norm(self.reg_b.linear, axis=2).max(axis=0),
                       np.linalg.norm(grad_a, axis=1).max(axis=0))
        F = np.maximum(np.abs(self.net_b.forward(self.means)).max(axis=0),
                       np.abs(self.net_a.forward(_inverse_map(self.means, M, c))).max(axis=0))
        return F, G

    def _compare(self, w, M, c, F, G):
        err = np.abs(self.net_b.forward(w) - self.net_a.forward(_inverse_map(w, M, c)))
        dist = np.linalg.norm(w - self.center, axis=1)[:, None]
        return float(err.max(initial=0.0)), _ratio(err, self.atol + self.rtol * (F + G * dist))

    def _inside(self, w):
        lo, hi = self.box
        return w[np.all((w >= lo) & (w <= hi), axis=1)]

    def __call__(self, M, c):
        """``(residual, ratio)`` of the comparison under ``h(z) = M z + c``."""
        F, G = self.scales(M, c)
        quick = np.concatenate([self.reg_b.points, self.reg_a.points @ M.T + c, self.means])
        if self.box is not None:
            lo, hi = self.box
            corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
            quick = np.concatenate([self._inside(quick), corners])
        res, ratio = self._compare(quick, M, c, F, G)
        if ratio > 1.0:
            return res, ratio
        res2, ratio2 = self._compare(self._refinement_points(M, c), M, c, F, G)
        return max(res, res2), max(ratio, ratio2)

    def _refinement_points(self, M, c):
        reg = _overlay_network(self.net_a, self.net_b, M, c).affine_regions()
        out = []
        if self.box is None:
            far = 10.0 * (1.0 + np.linalg.norm(reg.points - self.center, axis=1).max(initial=0.0))
        for k in range(reg.n_regions):
            if self.box is None:
                P, R = reg.vertices(k)
                S = np.concatenate([P, (P[:, None, :] + far * R[None, :, :]).reshape(-1, 2)])
            else:
                normals, offsets = reg.halfplanes(k)
                S = clip_to_box(normals, offsets, *zip(*self.box))
                if S.shape[0] == 0:
                    continue
            g = S.mean(axis=0)
            out += [S, g[None], 0.5 * (g + S[:2])]
        return np.concatenate(out) if out else self.means


# --------------------------------------------------------------------------- units (m = 2)
def _match_units_2d(net_a, net_b, M, c, L, F, atol, rtol):
    """Unit-level correspondence of two one-hidden-layer networks, or (None, None)."""
    if net_a.n_layers != 2 or net_b.n_layers != 2 or net_a.negative_slope != net_b.negative_slope:
        return None, None
    slope = net_a.negative_slope
    sides = [_units_mapped(net_a, M, c), _units_mapped(net_b, np.eye(2), np.zeros(2))]
    norms = [np.linalg.norm(beta, axis=1) for beta, _, _, _ in sides]
    eff = [W2 * r for (_, _, W2, _), r in zip(sides, norms)]  # outgoing x |incoming|, (n, H)
    S_e = max(np.abs(e).max() for e in eff)
    maps, regular, out_bias = [], [], []
    for side, ((beta, pi, W2, b2), r, e) in enumerate(zip(sides, norms, eff)):
        entries = [None] * pi.size
        bias = b2.copy()
        for u in range(pi.size):
            constant = r[u] <= atol
            if np.all(W2[:, u] == 0) or (
                    not constant and np.all(np.abs(e[:, u]) <= atol + rtol * S_e)):
                entries[u] = UnitMatch(-1, float("nan"), "zero outgoing weight")
            elif constant:
                contrib = W2[:, u] * _activate(pi[u], slope)
                bias = bias + contrib
                entries[u] = UnitMatch(-1, float("nan"), "constant",
                                       tuple(float(x) for x in contrib))
            else:
                regular.append((side, u, beta[u] / r[u], pi[u] / r[u]))
        maps.append(entries)
        out_bias.append(bias)
    if np.any(np.abs(out_bias[0] - out_bias[1]) > atol + rtol * F):
        return None, None
    root, join = _union_find(len(regular))
    for i, (_, _, n_i, d_i) in enumerate(regular):
        for j in range(i):
            _, _, n_j, d_j = regular[j]
            size = max(L, abs(d_i), abs(d_j))
            if abs(d_i - d_j) + size * np.linalg.norm(n_i - n_j) <= atol + rtol * size:
                join(i, j)
    clusters = {}
    for i, r in enumerate(regular):
        clusters.setdefault(root(i), []).append(r)
    members = [[sorted(u for side, u, _, _ in cluster if side == k) for k in (0, 1)]
               for cluster in clusters.values()]
    if not assign_unit_clusters(members, eff, norms, atol + rtol * S_e, maps):
        return None, None
    return tuple(maps[0]), tuple(maps[1])


# --------------------------------------------------------------------------- search (m = 2)
def find_equivalence_2d(model_a, model_b, atol, rtol, support_sd=None):
    """The ``m = 2`` search behind :func:`~pwaffine.identifiability.find_equivalence`.

    Parameters
    ----------
    model_a, model_b : PushforwardModel
        Validated models with ``m = 2``, the same ``n`` and matching noise.
    atol, rtol : float
        Tolerances (see the Notes of :mod:`pwaffine.identifiability.equivalence`).
    support_sd : float or None
        Compare the functions only on the box of b's components +-
        ``support_sd`` standard deviations.

    Returns
    -------
    dict or None
        The fields of an :class:`Equivalence` except the tolerances:
        ``matrix`` (2, 2), ``offset`` (2,), component and unit maps,
        ``residual`` and ``residual_ratio``; ``None`` if no map passes.
    """
    ra, rb = _reduce_prior(model_a.prior, atol, rtol), _reduce_prior(model_b.prior, atol, rtol)
    if ra.n_classes != rb.n_classes:
        return None
    box = None
    if support_sd is not None:
        sd = np.sqrt(np.diagonal(rb.covariances, axis1=1, axis2=2))
        box = (np.min(rb.means - support_sd * sd, axis=0), np.max(rb.means + support_sd * sd, axis=0))
    check = _FunctionCheck(model_a.network, model_b.network, rb, atol, rtol, box)
    accepted = []
    # Frames from strong prior features first; if none passes (e.g. parameters
    # accurate only to about the tolerance, which tilts a frame taken from a
    # short mean difference), the networks propose frames too.
    for force_network in (False, True):
        candidates, everywhere = _candidate_maps(model_a, model_b, ra, rb, atol, rtol,
                                                 support_sd, force_network)
        for M, c, perm, prior_res, prior_ratio in candidates:
            f_res, f_ratio = check(M, c)
            if f_ratio <= 1.0:
                accepted.append((np.linalg.det(M) < 0, max(prior_ratio, f_ratio), M, c, perm,
                                 max(prior_res, f_res)))
        if accepted or everywhere:
            break
    if not accepted:
        return None
    _, ratio, M, c, perm, residual = min(accepted, key=lambda a: (a[0], a[1]))
    component_map = tuple(int(rb.representatives[perm[k]]) if k >= 0 else -1
                          for k in ra.labels)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    inverse_component_map = tuple(int(ra.representatives[inverse[k]]) if k >= 0 else -1
                                  for k in rb.labels)
    L = max(_latent_size(ra.means @ M.T + c, M @ ra.covariances @ M.T),
            _latent_size(rb.means, rb.covariances))
    F, _ = check.scales(M, c)
    unit_map, inverse_unit_map = _match_units_2d(model_a.network, model_b.network, M, c, L, F,
                                                 atol, rtol)
    return dict(matrix=M, offset=c, component_map=component_map,
                inverse_component_map=inverse_component_map, unit_map=unit_map,
                inverse_unit_map=inverse_unit_map, residual=residual, residual_ratio=ratio)


# -------------------------------------------------------------------------- canonical form (m = 2)
def _perp(n):
    return np.array([-n[1], n[0]])


def _canonical_sign(n, tol):
    """+1 if ``n`` points into the half-circle of angles (-pi/2, pi/2] (within ``tol``), else -1."""
    if n[0] > tol or (abs(n[0]) <= tol and n[1] > 0):
        return 1.0
    return -1.0


class _Lines:
    """A one-hidden-layer (or affine) network in standardised coordinates, by zero lines.

    ``f(z') = c0 + A0 z' + sum_l J_l relu(n_l . z' + d_l)`` up to the
    orientation of each line.  Attributes: ``units`` (list of ``(line, a_r,
    n_u, d_u)``: a regular unit's line index, outgoing weight times the norm
    ``r`` of its incoming weight, unit normal and offset); ``normals`` (K, 2)
    and ``offsets`` (K,) of the lines (each as its first unit's); ``jumps``
    (K, n), the change of gradient across each line, ``(1 - slope) sum a_r``;
    ``kept`` (K,) bool, lines whose jump is not negligible; ``bias`` (n,), the
    output bias plus the constant units; ``linear`` (n, 2), the gradient of
    an affine network; ``G`` (n,), the largest gradient norm of each output
    on any region.
    """

    def __init__(self, net, root, center, atol, rtol):
        n = net.n_outputs
        self.slope = net.negative_slope
        self.units, self.linear = [], np.zeros((n, 2))
        if net.n_layers == 1:
            self.linear = net.weights[0] @ root
            self.bias = net.biases[0] + net.weights[0] @ center
            self.normals, self.offsets = np.zeros((0, 2)), np.zeros(0)
            self.jumps, self.kept = np.zeros((0, n)), np.zeros(0, dtype=bool)
            self.G = np.linalg.norm(self.linear, axis=1)
            return
        beta, pi = net.weights[0] @ root, net.biases[0] + net.weights[0] @ center
        W2, self.bias = net.weights[1], net.biases[1].copy()
        standard = ReLUNetwork([beta, W2], [pi, self.bias], self.slope)
        self.G = np.linalg.norm(standard.affine_regions().linear, axis=2).max(axis=0)
        lines, jumps = [], []
        for u, r in enumerate(np.linalg.norm(beta, axis=1)):
            if r <= atol:
                self.bias = self.bias + W2[:, u] * _activate(pi[u], self.slope)
                continue
            n_u, d_u = beta[u] / r, pi[u] / r
            line = None
            for k, (m, e) in enumerate(lines):
                size = max(1.0, abs(d_u), abs(e))
                if any(abs(d_u - s * e) + size * np.linalg.norm(n_u - s * m)
                       <= atol + rtol * size for s in (1.0, -1.0)):
                    line = k
                    break
            if line is None:
                line = len(lines)
                lines.append((n_u, d_u))
                jumps.append(np.zeros(n))
            jumps[line] = jumps[line] + (1.0 - self.slope) * W2[:, u] * r
            self.units.append((line, W2[:, u] * r, n_u, d_u))
        self.normals = np.array([m for m, _ in lines]).reshape(-1, 2)
        self.offsets = np.array([e for _, e in lines])
        self.jumps = np.array(jumps).reshape(-1, n)
        self.kept = np.any(np.abs(self.jumps) > atol + rtol * self.G, axis=1)

    def affine_part(self, signs):
        """``(A0, c0)`` in standardised coordinates when line ``l`` is oriented as ``signs[l] * n_l``."""
        A0, c0 = self.linear.copy(), self.bias.copy()
        for line, a_r, n_u, d_u in self.units:
            s = signs[line] * np.sign(n_u @ self.normals[line])
            kappa = self.slope if s > 0 else -1.0
            A0 += np.outer(a_r * kappa, s * n_u)
            c0 = c0 + a_r * kappa * s * d_u
        return A0, c0


def _canonical_frames(red, lines, atol, rtol):
    """Candidate frames (rows ``e1, e2``): from the first feature that decides (see Notes)."""
    def frames_along(e, both=False):
        e = e / np.linalg.norm(e)
        heads = (e, -e) if both else (e,)
        return [np.array([h, s * _perp(h)]) for h in heads for s in (1.0, -1.0)]

    Sm = np.einsum("j,ja,jb->ab", red.weights, red.means, red.means)
    lam, V = np.linalg.eigh(Sm)
    if lam[1] - lam[0] > _WEAK:
        return [S @ np.array([V[:, 1], V[:, 0]]) for S in _SIGNS]
    frames = []
    for mu in red.means:
        if np.linalg.norm(mu) > _WEAK:
            frames += frames_along(mu)
    if frames:
        return frames
    for cov in red.covariances:
        lam, V = np.linalg.eigh(cov)
        if (lam[1] - lam[0]) / (lam[1] + lam[0]) > _WEAK:
            frames += [S @ np.array([V[:, 1], V[:, 0]]) for S in _SIGNS]
    if frames:
        return frames
    for n in lines.normals[lines.kept]:
        frames += frames_along(n, both=True)
    if not frames:  # an affine function (up to negligible kinks): its gradient's rows
        A0, _ = lines.affine_part(np.ones(lines.normals.shape[0]))
        for row, g in zip(A0, lines.G):
            if np.linalg.norm(row) > atol + rtol * g:
                frames += frames_along(row)
    return frames or [np.eye(2)]


def _canonical_candidate(red, lines, Q, atol, rtol):
    """The canonical parameters in frame ``Q``: (key, weights, means, covariances, lines, A0, c0)."""
    means, covs = red.means @ Q.T, Q @ red.covariances @ Q.T
    comp = [np.concatenate([means[j], covs[j][[0, 0, 1], [0, 1, 1]], [red.weights[j]]])
            for j in range(red.n_classes)]
    order = sorted(range(len(comp)), key=functools.cmp_to_key(
        lambda i, j: _compare_lex(comp[i], comp[j], atol, rtol)))
    tol = atol + rtol
    signs = np.array([_canonical_sign(Q @ n, tol) for n in lines.normals])
    A0, c0 = lines.affine_part(signs)
    A0 = A0 @ Q.T
    kept = []
    for k in np.flatnonzero(lines.kept):
        n = signs[k] * (Q @ lines.normals[k])
        kept.append(np.concatenate([[np.arctan2(n[1], n[0]), signs[k] * lines.offsets[k]],
                                    lines.jumps[k]]))
    kept.sort(key=functools.cmp_to_key(lambda x, y: _compare_lex(x, y, atol, rtol)))
    key = np.concatenate([np.concatenate([comp[i] for i in order])]
                         + kept + [A0.ravel(), c0])
    return key, red.weights[order], means[order], covs[order], kept, A0, c0


def _canonical_network(kept, A0, c0, G, atol, rtol):
    """A plain-ReLU network realising ``c0 + A0 w + sum J_l relu(n_l . w + d_l)`` (see Notes)."""
    n = c0.size
    if not kept:
        return ReLUNetwork([A0], [c0])
    normals = [np.array([np.cos(x[0]), np.sin(x[0])]) for x in kept]
    offsets = [x[1] for x in kept]
    n1 = normals[0]
    p = next((i for i, m in enumerate(normals) if abs(n1[0] * m[1] - n1[1] * m[0]) > _CROSS),
             None)
    n2, d2 = (normals[p], offsets[p]) if p is not None else (_perp(n1), 0.0)
    X = A0 @ np.linalg.inv(np.column_stack([n1, n2]).T)  # A0 = X1 n1^T + X2 n2^T
    units = []
    for i, x in enumerate(kept):
        out = x[2:].copy()
        extra = [X[:, 0]] if i == 0 else []
        extra += [X[:, 1]] if i == p else []
        units.append((normals[i], offsets[i], out + sum(extra, np.zeros(n))))
        units += [(-normals[i], -offsets[i], -e) for e in extra]
    if p is None:
        units += [(n2, 0.0, X[:, 1]), (-n2, 0.0, -X[:, 1])]
    units = [u for u in units if np.any(np.abs(u[2]) > atol + rtol * G)]
    if not units:
        return ReLUNetwork([A0], [c0])
    bias = c0 - X[:, 0] * offsets[0] - X[:, 1] * d2
    return ReLUNetwork([np.array([u[0] for u in units]), np.array([u[2] for u in units]).T],
                       [np.array([u[1] for u in units]), bias])


def canonical_form_2d(model, atol, rtol):
    """The ``m = 2`` canonical form behind :func:`~pwaffine.identifiability.canonical_form`.

    Parameters
    ----------
    model : PushforwardModel
        A model with ``m = 2`` and a network of at most one hidden layer.
    atol, rtol : float
        Tolerances in the standardised coordinates.

    Returns
    -------
    PushforwardModel
        Prior with mean 0 and covariance ``I`` (components of shape (K, 2) and
        (K, 2, 2), sorted); a plain-ReLU network with unit-norm incoming
        weights, or one affine layer; the same noise.

    Raises
    ------
    NotImplementedError
        For a network with more than one hidden layer.
    """
    net = model.network
    if net.n_layers > 2:
        raise NotImplementedError(
            f"canonical_form for a 2-D latent is implemented for networks with at most one "
            f"hidden layer (a function of the form c + A z + sum_l J_l relu(n_l . z + d_l) "
            f"has a unique such representation); this network has {net.n_layers - 1} hidden "
            f"layers, and deeper piecewise-affine functions have no canonical network here")
    prior = model.prior
    keep = prior.weights > atol
    w = prior.weights[keep] / prior.weights[keep].sum()
    mu, S = prior.means[keep], prior.covariances[keep]
    center = w @ mu
    d = mu - center
    lam, V = np.linalg.eigh(np.einsum("j,jab->ab", w, S + d[:, :, None] * d[:, None, :]))
    root = (V * np.sqrt(lam)) @ V.T
    inv_root = (V / np.sqrt(lam)) @ V.T
    red = _reduce_mixture(w, d @ inv_root.T, inv_root @ S @ inv_root.T, atol, rtol)
    lines = _Lines(net, root, center, atol, rtol)
    best = None
    for Q in _canonical_frames(red, lines, atol, rtol):
        cand = _canonical_candidate(red, lines, Q, atol, rtol)
        if best is None or _compare_lex(cand[0], best[0], atol, rtol) < 0:
            best = cand
    _, weights, means, covs, kept, A0, c0 = best
    covs = 0.5 * (covs + np.swapaxes(covs, 1, 2))
    prior_c = GaussianMixture(weights / weights.sum(), means, covs)
    return PushforwardModel(prior_c, _canonical_network(kept, A0, c0, lines.G, atol, rtol),
                            model.noise_std)
