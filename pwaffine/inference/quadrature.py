"""Adaptive Gauss-Kronrod quadrature over the observed space, vectorised over panels.

The integrands (``-p_truth(x) log p_model(x)`` and friends) are evaluated in
large batches by the numba density kernels: every round evaluates the 15-point
Kronrod rule (and the embedded 7-point Gauss rule) on all unfinished panels at
once, accepts panels whose error estimate ``|K15 - G7|`` is within their share
of the tolerance and bisects the others.  In 2-D the rule is the tensor
product on squares, which are split into four.
"""

import numpy as np

# 15-point Kronrod nodes on [-1, 1] (non-negative half, decreasing) and weights;
# the odd-indexed nodes are the 7-point Gauss nodes.  tests/test_quadrature.py
# checks exactness for polynomials up to degree 23.
_XK_HALF = np.array([
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0,
])
_WK_HALF = np.array([
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
])
KRONROD_NODES = np.concatenate([-_XK_HALF[:-1], _XK_HALF[::-1]])
KRONROD_WEIGHTS = np.concatenate([_WK_HALF[:-1], _WK_HALF[::-1]])
GAUSS_INDEX = np.arange(1, 15, 2)
GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(7)[1]

#: Maximum bisection rounds before giving up on a panel (its estimate is kept
#: and its error estimate reported).
MAX_ROUNDS = 40
#: At most this many panels (1-D) or squares (2-D) are refined in one round;
#: past it, refinement stops and the current estimates and error are
#: returned, so that memory and time stay bounded for any integrand.
MAX_ACTIVE_CELLS = 100_000

_RULES = {"kronrod": (KRONROD_NODES, KRONROD_WEIGHTS),
          "gauss": (KRONROD_NODES[GAUSS_INDEX], GAUSS_WEIGHTS)}


def _rule(rule):
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {sorted(_RULES)}; got {rule!r}")
    return _RULES[rule]


def panel_nodes(edges, rule="kronrod"):
    """Nodes and weights of a rule on every panel.

    Parameters
    ----------
    edges : ndarray of shape (n_panels + 1,)
    rule : {"kronrod", "gauss"}
        15-point Gauss-Kronrod, or its embedded 7-point Gauss rule.

    Returns
    -------
    x, w : ndarray of shape (n_panels * n_nodes,)
    """
    nodes, weights = _rule(rule)
    lo, hi = edges[:-1], edges[1:]
    center, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = center[:, None] + half[:, None] * nodes
    w = half[:, None] * weights
    return x.ravel(), w.ravel()


def square_nodes(lower, size, rule="kronrod"):
    """Nodes and weights of a tensor-product rule on squares of side ``size``.

    Returns
    -------
    X : ndarray of shape (n_squares * n_nodes**2, 2)
    w : ndarray of shape (n_squares * n_nodes**2,)
    """
    nodes, weights = _rule(rule)
    half = 0.5 * size
    offsets = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), axis=-1).reshape(-1, 2)
    w2 = np.outer(weights, weights).ravel() * half**2
    X = ((lower + half)[:, None, :] + half * offsets[None]).reshape(-1, 2)
    return X, np.tile(w2, lower.shape[0])


def _check_values(f):
    """Stop on non-finite integrand values: ``inf`` for ``+inf``, an error otherwise.

    Returns None when every value is finite, else the integral's value.
    """
    if np.all(np.isfinite(f)):
        return None
    if np.any(np.isnan(f)) or np.any(f == -np.inf):
        raise FloatingPointError(
            "the integrand is NaN or -inf at some nodes; this is a bug in the integrand, "
            "please report it")
    return np.inf


def integrate_1d(fn, edges, tol):
    """Integrate ``fn`` over ``[edges[0], edges[-1]]`` starting from the given panels.

    Parameters
    ----------
    fn : callable
        Vectorised integrand, ``fn(x)`` with ``x`` of shape ``(N,)`` returning ``(N,)``.
    edges : ndarray of shape (n_panels + 1,)
        Increasing panel boundaries; put known kinks or jumps of the integrand here.
    tol : float
        Absolute tolerance on the integral; each panel gets a share
        proportional to its length.  ``inf`` evaluates the starting panels only.

    Returns
    -------
    value : float
        ``inf`` as soon as the integrand is ``+inf`` at a node.
    error : float
        Sum of the accepted panels' ``|K15 - G7|`` estimates (conservative).
    """
    lo, hi = edges[:-1], edges[1:]
    length = edges[-1] - edges[0]
    value, error = 0.0, 0.0
    for _ in range(MAX_ROUNDS):
        center, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        x = center[:, None] + half[:, None] * KRONROD_NODES
        f = fn(x.ravel()).reshape(x.shape)
        if (bad := _check_values(f)) is not None:
            return bad, np.inf
        kron = half * (f @ KRONROD_WEIGHTS)
        gauss = half * (f[:, GAUSS_INDEX] @ GAUSS_WEIGHTS)
        err = np.abs(kron - gauss)
        done = err <= tol * (2.0 * half) / length
        value += kron[done].sum()
        error += err[done].sum()
        if done.all() or 2 * np.count_nonzero(~done) > MAX_ACTIVE_CELLS:
            break
        lo, hi, center = lo[~done], hi[~done], center[~done]
        lo, hi = np.concatenate([lo, center]), np.concatenate([center, hi])
    return float(value + kron[~done].sum()), float(error + err[~done].sum())


def integrate_2d(fn, lower, size, tol):
    """Integrate ``fn`` over a union of axis-aligned squares, adaptively.

    Parameters
    ----------
    fn : callable
        ``fn(X)`` with ``X`` of shape ``(N, 2)`` returning ``(N,)``.
    lower : ndarray of shape (n_cells, 2)
        Lower-left corners of the initial squares.
    size : float
        Side of the initial squares.
    tol : float
        Absolute tolerance; each square gets a share proportional to its area.
        ``inf`` evaluates the starting squares only.

    Returns
    -------
    value, error : float
        ``value`` is ``inf`` as soon as the integrand is ``+inf`` at a node.
    """
    u = KRONROD_NODES
    w2 = np.outer(KRONROD_WEIGHTS, KRONROD_WEIGHTS).ravel()
    g2 = np.outer(GAUSS_WEIGHTS, GAUSS_WEIGHTS).ravel()
    gidx = (GAUSS_INDEX[:, None] * 15 + GAUSS_INDEX[None, :]).ravel()
    offsets = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
    side = np.full(lower.shape[0], size)
    area = size**2 * lower.shape[0]
    value, error = 0.0, 0.0
    for _ in range(MAX_ROUNDS):
        half = 0.5 * side
        center = lower + half[:, None]
        X = center[:, None, :] + half[:, None, None] * offsets[None]
        f = fn(X.reshape(-1, 2)).reshape(X.shape[:2])
        if (bad := _check_values(f)) is not None:
            return bad, np.inf
        jac = half**2
        kron = jac * (f @ w2)
        gauss = jac * (f[:, gidx] @ g2)
        err = np.abs(kron - gauss)
        done = err <= tol * side**2 / area
        value += kron[done].sum()
        error += err[done].sum()
        if done.all() or 4 * np.count_nonzero(~done) > MAX_ACTIVE_CELLS:
            break
        lower, half = lower[~done], half[~done]
        steps = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
        lower = (lower[:, None, :] + steps[None] * half[:, None, None]).reshape(-1, 2)
        side = np.repeat(half, 4)
    return float(value + kron[~done].sum()), float(error + err[~done].sum())
