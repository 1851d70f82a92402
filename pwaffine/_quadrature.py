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


def kronrod_nodes_1d(edges):
    """Nodes and weights of the 15-point Kronrod rule on every panel.

    Parameters
    ----------
    edges : ndarray of shape (n_panels + 1,)

    Returns
    -------
    x : ndarray of shape (n_panels * 15,)
    w : ndarray of shape (n_panels * 15,)
    """
    lo, hi = edges[:-1], edges[1:]
    center, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = center[:, None] + half[:, None] * KRONROD_NODES
    w = half[:, None] * KRONROD_WEIGHTS
    return x.ravel(), w.ravel()


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
        proportional to its length.

    Returns
    -------
    value : float
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
        kron = half * (f @ KRONROD_WEIGHTS)
        gauss = half * (f[:, GAUSS_INDEX] @ GAUSS_WEIGHTS)
        err = np.abs(kron - gauss)
        done = err <= tol * (2.0 * half) / length
        value += kron[done].sum()
        error += err[done].sum()
        if done.all():
            return value, error
        lo, hi, center = lo[~done], hi[~done], center[~done]
        lo, hi = np.concatenate([lo, center]), np.concatenate([center, hi])
    return value + kron[~done].sum(), error + err[~done].sum()


def integrate_2d(fn, lower, size, tol, area):
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
    area : float
        Total area of the initial squares (for the tolerance shares).

    Returns
    -------
    value, error : float
    """
    u = KRONROD_NODES
    w2 = np.outer(KRONROD_WEIGHTS, KRONROD_WEIGHTS).ravel()
    g2 = np.outer(GAUSS_WEIGHTS, GAUSS_WEIGHTS).ravel()
    gidx = (GAUSS_INDEX[:, None] * 15 + GAUSS_INDEX[None, :]).ravel()
    offsets = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
    side = np.full(lower.shape[0], size)
    value, error = 0.0, 0.0
    for _ in range(MAX_ROUNDS):
        half = 0.5 * side
        center = lower + half[:, None]
        X = center[:, None, :] + half[:, None, None] * offsets[None]
        f = fn(X.reshape(-1, 2)).reshape(X.shape[:2])
        jac = half**2
        kron = jac * (f @ w2)
        gauss = jac * (f[:, gidx] @ g2)
        err = np.abs(kron - gauss)
        done = err <= tol * side**2 / area
        value += kron[done].sum()
        error += err[done].sum()
        if done.all():
            return value, error
        lower, half = lower[~done], half[~done]
        steps = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
        lower = (lower[:, None, :] + steps[None] * half[:, None, None]).reshape(-1, 2)
        side = np.repeat(half, 4)
    return value + kron[~done].sum(), error + err[~done].sum()
