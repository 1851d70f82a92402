"""Metrics for comparing latent spaces and priors.

Kivva et al. (2022) identify the latent distribution of ``x = f(z) + eps`` up
to an affine map (Theorem 3.5(a)), and up to permutation, scaling and
translation of the coordinates when the prior satisfies (P2) (Theorem
3.5(b)).  The paper's experiments measure how close two learned latent spaces
are with the mean correlation coefficient (:func:`mcc`, "strong" for
permutation and scaling, "weak" for a general linear map) and how close two
learned mixture priors are up to an affine map (:func:`dist_aff_l2`, built on
the closed-form :func:`l2_distance`).

Each public function validates its inputs once and hands clean arrays to a
private core that checks nothing.
"""

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import linear_sum_assignment, minimize
from scipy.special import logsumexp

from .._validation import check_array, check_int, check_rng, check_scalar
from ..model import GaussianMixture

__all__ = [
    "AffineDistance",
    "MCCResult",
    "dist_aff_l2",
    "l2_distance",
    "mcc",
]

_LOG_2PI = np.log(2.0 * np.pi)
_MCC_KINDS = ("strong", "weak")
#: Caps on the component-alignment starts of :func:`dist_aff_l2`.
_MAX_PAIRINGS = 720
_MAX_CANDIDATES = 2000


# =========================================================================== MCC
@dataclass(frozen=True, eq=False)
class MCCResult:
    """Outcome of :func:`mcc`, with what was fitted so that a reader can check it.

    ``float(result)`` is ``result.value``.

    Attributes
    ----------
    value : float
        The out-of-sample MCC: the mean of ``correlations``, in ``[0, 1]``.
    kind : {"strong", "weak"}
    correlations : ndarray of shape (n_features,)
        Absolute Pearson correlations of the matched pairs on the scoring
        samples: pair ``i`` is ``(Z_true[:, i], Z_est[:, matching[i]])``
        (strong) or the ``i``-th pair of canonical variates (weak).
    fit_value : float
        The same metric in sample, on the fitting samples (the mean of
        ``fit_correlations``); it is biased upwards, since the matching or
        the projections were chosen to make it large.
    fit_correlations : ndarray of shape (n_features,)
        The matched absolute correlations on the fitting samples; for
        ``kind="weak"`` the canonical correlations, in decreasing order.
    matching : ndarray of int of shape (n_features,) or None
        ``kind="strong"``: coordinate ``i`` of ``Z_true`` is matched with
        coordinate ``matching[i]`` of ``Z_est``.  ``None`` for ``"weak"``.
    projections : tuple of two ndarrays of shape (n_features, n_features) or None
        ``kind="weak"``: ``(W_true, W_est)``, the canonical directions as
        columns.  The canonical variates are ``(Z_true - c_true) @ W_true`` and
        ``(Z_est - c_est) @ W_est`` with ``c`` the column means over the
        fitting samples (correlations do not depend on ``c``).  ``None`` for
        ``"strong"``.
    fit_index, score_index : ndarray of int
        Sorted row indices of the fitting and scoring samples (disjoint, and
        together all rows).
    """

    value: float
    kind: str
    correlations: np.ndarray
    fit_value: float
    fit_correlations: np.ndarray
    matching: np.ndarray | None
    projections: tuple | None
    fit_index: np.ndarray
    score_index: np.ndarray

    def __float__(self):
        return float(self.value)


def mcc(Z_true, Z_est, kind="strong", rng=None, split=0.5):
    """Out-of-sample mean correlation coefficient between two latent representations.

    The rows are split at random into a fitting part (a fraction ``split``)
    and a scoring part.  The alignment of ``Z_est`` to ``Z_true`` is fitted on
    the fitting part only, and the correlations are scored on the other part,
    so that a chance alignment of unrelated variables scores near 0 rather
    than being inflated by the fit (Khemakhem et al. 2020, appendix A.2).

    Parameters
    ----------
    Z_true : array-like of shape (n_samples, n_features)
        Reference latents (e.g. the ground truth, or another run).
    Z_est : array-like of shape (n_samples, n_features)
        Estimated latents for the same samples, in the same row order.
    kind : {"strong", "weak"}, default="strong"
        ``"strong"``: invariant to permutation, scaling (of either sign) and
        translation of the coordinates of ``Z_est``.  ``"weak"``: invariant
        to any invertible affine map of ``Z_est`` (or of ``Z_true``).
    rng : None, int or numpy.random.Generator, default=None
        Randomness of the split; pass an int for a reproducible value.
    split : float in (0, 1), default=0.5
        Fraction of the rows used for fitting (``round(split * n_samples)``).

    Returns
    -------
    MCCResult
        ``result.value`` is the metric (also ``float(result)``); the result
        also holds the matching or the canonical projections, the in-sample
        value and the split.

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, an unknown ``kind``, a ``split`` that
        leaves too few rows on either side (``kind="strong"`` needs 2,
        ``"weak"`` needs ``n_features + 1``), a coordinate that is constant on
        either part (its correlation is undefined), or (``"weak"``)
        collinear coordinates on either part.

    Notes
    -----
    Let ``F`` and ``S`` be the fitting and scoring rows, ``m = n_features``,
    and ``corr_R(u, v)`` the Pearson correlation over the rows ``R``.

    **Strong MCC.**  ``C[i, k] = |corr_F(Z_true[:, i], Z_est[:, k])|``; the
    one-to-one matching ``pi`` maximises ``sum_i C[i, pi(i)]`` (Hungarian
    algorithm, :func:`scipy.optimize.linear_sum_assignment` on ``-C``), and::

        strong = (1/m) sum_i |corr_S(Z_true[:, i], Z_est[:, pi(i)])|.

    **Weak MCC.**  Canonical correlation analysis on ``F`` gives directions
    ``W_true``, ``W_est`` (columns ``a_k``, ``b_k``) such that on ``F`` the
    variates ``U_k = Z_true a_k`` and ``V_k = Z_est b_k`` have unit variance,
    ``corr_F(U_k, U_l) = corr_F(V_k, V_l) = 0`` for ``k != l`` and
    ``corr_F(U_k, V_l) = delta_kl rho_k``, with ``1 >= rho_1 >= ... >= rho_m >= 0``
    the canonical correlations (``fit_correlations``).  Then::

        weak = (1/m) sum_k |corr_S(U_k, V_k)|,

    the matched correlations of the CCA-projected variables on the scoring
    rows; in sample it would be the mean canonical correlation
    ``(1/m) sum_k rho_k`` (``fit_value``).  This is the strong MCC of the
    canonical variates: on ``F`` their cross-correlation matrix is diagonal,
    so the Hungarian matching is the identity.  CCA is computed as in Björck
    and Golub (1973): thin QR factorisations ``X = Q_x R_x`` and ``Y = Q_y
    R_y`` of the centred fitting data (``R_x^T R_x`` is the Cholesky
    factorisation of the covariance block, without forming it), then the SVD
    ``Q_x^T Q_y = P diag(rho) T^T``, and ``W_true = sqrt(|F| - 1) R_x^-1 P``,
    ``W_est = sqrt(|F| - 1) R_y^-1 T``.

    Both values lie in ``[0, 1]``.  The weak MCC is at least as invariant as
    the strong one and is usually at least as large, but with different
    noise it need not be.  For ``m = 1`` the two coincide.  For unrelated
    latents each scored correlation is about ``N(0, 1/|S|)``, so the MCC is
    about ``sqrt(2 / (pi |S|))``, not 0.

    Examples
    --------
    >>> import numpy as np
    >>> from pwaffine import mcc
    >>> Z = np.random.default_rng(0).standard_normal((1000, 2))
    >>> result = mcc(Z, -3.0 * Z[:, ::-1] + 1.0, rng=0)
    >>> round(result.value, 12), result.matching
    (1.0, array([1, 0]))
    >>> rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    >>> round(mcc(Z, Z @ rotation, kind="weak", rng=0).value, 12)
    1.0
    """
    Z_true = check_array(Z_true, "Z_true", ndim=2)
    Z_est = check_array(Z_est, "Z_est", ndim=2)
    if Z_est.shape != Z_true.shape:
        raise ValueError(
            f"Z_est must have the shape of Z_true {Z_true.shape} (same samples, same "
            f"latent dimension); got shape {Z_est.shape}"
        )
    if not (isinstance(kind, str) and kind in _MCC_KINDS):
        raise ValueError(f"kind must be 'strong' or 'weak'; got {kind!r:.80}")
    split = check_scalar(split, "split", low=0.0, high=1.0, low_inclusive=False)
    if split == 1.0:
        raise ValueError("split must be < 1 (some samples must be left for scoring); got 1.0")
    rng = check_rng(rng)
    n_samples, n_features = Z_true.shape
    n_fit = int(round(split * n_samples))
    need = n_features + 1 if kind == "weak" else 2
    if min(n_fit, n_samples - n_fit) < need:
        raise ValueError(
            f"split={split} of n_samples={n_samples} leaves {n_fit} fitting and "
            f"{n_samples - n_fit} scoring samples; the {kind} MCC needs at least {need} "
            f"on each side"
        )
    perm = rng.permutation(n_samples)
    fit_index, score_index = np.sort(perm[:n_fit]), np.sort(perm[n_fit:])
    for name, Z in (("Z_true", Z_true), ("Z_est", Z_est)):
        for part, index in (("fitting", fit_index), ("scoring", score_index)):
            Z_part = Z[index]
            constant = np.flatnonzero(np.ptp(Z_part, axis=0) == 0.0)
            if constant.size:
                raise ValueError(
                    f"{name}[:, {constant[0]}] is constant on the {part} samples; its "
                    f"correlation is undefined"
                )
            if kind == "weak":
                rank = np.linalg.matrix_rank(Z_part - Z_part.mean(axis=0))
                if rank < n_features:
                    raise ValueError(
                        f"{name} has collinear coordinates on the {part} samples (rank "
                        f"{rank} < {n_features}); the weak MCC needs linearly independent "
                        f"coordinates"
                    )
    # Correlations and CCA are invariant under per-coordinate affine maps: bring
    # every coordinate to scale 1 first, so no sum of squares over- or underflows.
    (Z_true, scale_true), (Z_est, scale_est) = _rescale_columns(Z_true), _rescale_columns(Z_est)
    if kind == "strong":
        return _strong_mcc(Z_true, Z_est, fit_index, score_index)
    result = _weak_mcc(Z_true, Z_est, fit_index, score_index)
    W_true, W_est = result.projections
    # The CCA directions of the rescaled data, as directions of the original data.
    return dataclasses.replace(result, projections=(W_true / scale_true[:, None],
                                                    W_est / scale_est[:, None]))


def _rescale_columns(X):
    """``((X - m) / s, s)``: centred columns of largest absolute value 1, computed without overflow."""
    top = np.abs(X).max(axis=0)
    Y = X / top
    Yc = Y - Y.mean(axis=0)
    spread = np.abs(Yc).max(axis=0)
    return Yc / spread, top * spread


def _standardise_columns(X):
    """Centre the columns and scale them to unit Euclidean norm."""
    Xc = _rescale_columns(X)[0]
    return Xc / np.linalg.norm(Xc, axis=0)


def _compute_correlation(X, Y):
    """Pearson correlations ``corr(X[:, i], Y[:, k])``, shape (n_x, n_y)."""
    return np.clip(_standardise_columns(X).T @ _standardise_columns(Y), -1.0, 1.0)


def _compute_paired_correlation(X, Y):
    """Pearson correlations ``corr(X[:, k], Y[:, k])``, shape (n_features,)."""
    return np.clip(np.sum(_standardise_columns(X) * _standardise_columns(Y), axis=0), -1.0, 1.0)


def _strong_mcc(Z_true, Z_est, fit_index, score_index):
    fit_corr = np.abs(_compute_correlation(Z_true[fit_index], Z_est[fit_index]))
    rows, matching = linear_sum_assignment(-fit_corr)  # rows == arange(n_features)
    fit_correlations = fit_corr[rows, matching]
    correlations = np.abs(_compute_paired_correlation(Z_true[score_index],
                                                      Z_est[score_index][:, matching]))
    return MCCResult(float(correlations.mean()), "strong", correlations,
                     float(fit_correlations.mean()), fit_correlations, matching, None,
                     fit_index, score_index)


def _fit_cca(X, Y):
    """Canonical directions and correlations of full-rank data (Björck-Golub).

    Returns ``W_x``, ``W_y`` of shape (m, m) (columns: directions scaled to
    unit variance on ``X``, ``Y``) and the canonical correlations, decreasing.
    """
    Q_x, R_x = np.linalg.qr(X - X.mean(axis=0))
    Q_y, R_y = np.linalg.qr(Y - Y.mean(axis=0))
    P, rho, T_t = np.linalg.svd(Q_x.T @ Q_y)
    scale = np.sqrt(X.shape[0] - 1.0)
    W_x = scale * solve_triangular(R_x, P)
    W_y = scale * solve_triangular(R_y, T_t.T)
    return W_x, W_y, np.clip(rho, 0.0, 1.0)


def _weak_mcc(Z_true, Z_est, fit_index, score_index):
    W_true, W_est, rho = _fit_cca(Z_true[fit_index], Z_est[fit_index])
    U = Z_true[score_index] @ W_true
    V = Z_est[score_index] @ W_est
    correlations = np.abs(_compute_paired_correlation(U, V))
    return MCCResult(float(correlations.mean()), "weak", correlations, float(rho.mean()),
                     rho, None, (W_true, W_est), fit_index, score_index)


# ==================================================================== L2 distance
@dataclass(frozen=True, eq=False)
class AffineDistance:
    """Outcome of :func:`dist_aff_l2`.

    ``float(result)`` is ``result.value``.

    Attributes
    ----------
    value : float
        ``l2_distance(p1, p2, matrix, offset)``: the smallest normalised L2
        distance found, an upper bound on (and, if the optimiser found the
        global minimum, equal to) ``distAff,L2(p1, p2)``.
    matrix : ndarray of shape (n_features, n_features)
    offset : ndarray of shape (n_features,)
        The affine map ``h(z) = matrix @ z + offset`` attaining ``value``:
        ``h#p1`` is the image of ``p1`` closest to ``p2``.
    start_values : ndarray of shape (n_local,)
        The distance reached by the local optimisation from each start;
        ``nan`` for starts skipped because an earlier one had already
        reached the resolution floor.  Distinct values show local minima.
        ``n_local = 2 + n_component + n_starts``, with ``n_component <=
        n_starts`` the number of distinct component-alignment starts.
    start_kinds : tuple of str, length n_local
        The kind of each start: ``"moment"``, ``"moment-reflected"``,
        ``"component"`` or ``"random"`` (see :func:`dist_aff_l2`, Notes).
    """

    value: float
    matrix: np.ndarray
    offset: np.ndarray
    start_values: np.ndarray
    start_kinds: tuple

    def __float__(self):
        return float(self.value)


def _check_mixture(value, name):
    if not isinstance(value, GaussianMixture):
        raise ValueError(f"{name} must be a GaussianMixture; got {type(value).__name__}")
    return value


def _check_pair(p1, p2):
    _check_mixture(p1, "p1")
    _check_mixture(p2, "p2")
    if p1.n_features != p2.n_features:
        raise ValueError(
            f"p1 and p2 must have the same dimension; got p1.n_features={p1.n_features} "
            f"and p2.n_features={p2.n_features}"
        )


def l2_distance(p1, p2, matrix=None, offset=None, normalize=True):
    """Closed-form L2 distance between the densities ``h#p1`` and ``p2`` of two mixtures.

    Parameters
    ----------
    p1, p2 : GaussianMixture
        Mixtures of the same dimension ``m``.
    matrix : array-like of shape (m, m), default=None
        Invertible linear part of ``h(z) = matrix @ z + offset``; the
        identity if None.
    offset : array-like of shape (m,), default=None
        Translation of ``h``; zero if None.
    normalize : bool, default=True
        Return ``||h#p1 - p2|| / (||h#p1|| ||p2||)^(1/2)`` (True) or the
        plain ``||h#p1 - p2||`` (False), with ``||.||`` the L2 norm on R^m.

    Returns
    -------
    float
        Non-negative; the normalised distance is 0 iff ``h#p1 = p2``.

    Notes
    -----
    ``h#p1`` is the mixture with the same weights, means ``matrix @ mu_i +
    offset`` and covariances ``matrix Sigma_i matrix^T``.  With
    ``int N(x; a, A) N(x; b, B) dx = N(a; b, A + B)``, the inner product of
    ``p = sum_i a_i N(mu_i, Sigma_i)`` and ``q = sum_j b_j N(nu_j, Gamma_j)``
    is::

        log <p, q> = logsumexp_ij [log a_i + log b_j + log N(mu_i; nu_j, Sigma_i + Gamma_j)],

    evaluated from the Cholesky factor of each ``Sigma_i + Gamma_j``.  The
    normalised squared distance is computed from the three logs without
    subtracting nearly equal numbers: with ``r = ||p|| / ||q||`` and the
    cosine ``c = <p, q> / (||p|| ||q||) <= 1``,::

        ||p - q||^2 / (||p|| ||q||) = r + 1/r - 2c = 4 sinh^2(log(r) / 2) - 2 expm1(log c).

    Its absolute rounding error is about ``eps = 2.2e-16`` times the
    condition number of the summed covariances ``Sigma_i + Gamma_j`` (times
    a modest factor), so normalised distances below ``sqrt(eps * cond)`` --
    ``1.5e-8`` for isotropic components, ``1e-6`` for condition numbers near
    ``1e4`` -- are not resolved.

    The normalisation is scale-free: for any invertible affine ``g``,
    ``||g#p|| = |det g|^(-1/2) ||p||``, so the normalised distance of
    ``(g#p, g#q)`` equals that of ``(p, q)``; it is also symmetric in
    ``p, q``.

    Examples
    --------
    >>> from pwaffine import GaussianMixture
    >>> from pwaffine import l2_distance
    >>> p = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[0.5]], [[0.5]]])
    >>> q = GaussianMixture([1.0], [[0.0]], [[[1.5]]])
    >>> round(l2_distance(p, q), 6)
    0.276055
    >>> round(l2_distance(p, p, matrix=[[-1.0]]), 12)  # p is symmetric about 0
    0.0
    """
    _check_pair(p1, p2)
    m = p1.n_features
    if matrix is None:
        matrix = np.eye(m)
    matrix = check_array(matrix, "matrix", shape=(m, m))
    if offset is None:
        offset = np.zeros(m)
    offset = check_array(offset, "offset", shape=(m,))
    _check_invertible(matrix, "matrix")
    if not isinstance(normalize, (bool, np.bool_)):
        raise ValueError(f"normalize must be a bool; got {normalize!r:.80}")
    means, covs = _affine_image(p1.means, p1.covariances, matrix, offset)
    log_pp = _log_inner(p1.weights, means, covs, p1.weights, means, covs)
    log_qq = _log_inner(p2.weights, p2.means, p2.covariances,
                        p2.weights, p2.means, p2.covariances)
    log_pq = _log_inner(p1.weights, means, covs, p2.weights, p2.means, p2.covariances)
    sq = _normalised_sq_distance(log_pp, log_qq, log_pq)
    if not normalize:
        sq = sq * np.exp(0.5 * (log_pp + log_qq))
    return float(np.sqrt(sq))


def _check_invertible(matrix, name):
    cond = np.linalg.cond(matrix)
    if not cond < 1.0 / np.finfo(float).eps:
        raise ValueError(f"{name} must be invertible; got condition number {cond:.3g}")


def _affine_image(means, covariances, matrix, offset):
    """Means and covariances of the image of a mixture under ``z -> matrix z + offset``."""
    covs = matrix @ covariances @ matrix.T
    return means @ matrix.T + offset, 0.5 * (covs + np.swapaxes(covs, 1, 2))


def _log_terms(weights1, means1, covs1, weights2, means2, covs2):
    """Cross terms ``log a_i + log b_j + log N(mu_i; nu_j, Sigma_i + Gamma_j)``.

    Returns the terms, shape (J1, J2), the residuals ``delta = mu_i - nu_j``
    (J1, J2, m) and the inverse Cholesky factors of the summed covariances
    (J1, J2, m, m).
    """
    m = means1.shape[1]
    L = np.linalg.cholesky(covs1[:, None] + covs2[None, :])
    L_inv = np.linalg.inv(L)
    delta = means1[:, None, :] - means2[None, :, :]
    u = np.einsum("ijab,ijb->ija", L_inv, delta)
    log_det = 2.0 * np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=2)
    with np.errstate(divide="ignore"):  # zero weights give -inf terms, fine in logsumexp
        log_w = np.log(weights1)[:, None] + np.log(weights2)[None, :]
    terms = log_w - 0.5 * (m * _LOG_2PI + log_det + np.einsum("ija,ija->ij", u, u))
    return terms, delta, L_inv


def _log_inner(weights1, means1, covs1, weights2, means2, covs2):
    """``log <p, q>`` of two Gaussian mixtures (log of the integral of the product)."""
    return float(logsumexp(_log_terms(weights1, means1, covs1, weights2, means2, covs2)[0]))


def _normalised_sq_distance(log_pp, log_qq, log_pq):
    """``||p - q||^2 / (||p|| ||q||)`` from ``log||p||^2``, ``log||q||^2``, ``log<p, q>``."""
    log_r = 0.5 * (log_pp - log_qq)
    log_c = log_pq - 0.5 * (log_pp + log_qq)
    return max(4.0 * np.sinh(0.5 * log_r) ** 2 - 2.0 * np.expm1(log_c), 0.0)


# ========================================================= affine-invariant distance
def dist_aff_l2(p1, p2, n_starts=8, rng=None, maxiter=1000):
    """Normalised L2 distance between two mixtures, minimised over affine maps of the first.

    ``distAff,L2(p1, p2) = min_h ||h#p1 - p2|| / (||h#p1|| ||p2||)^(1/2)`` over
    invertible affine maps ``h(z) = A z + b`` of R^m, with ``||.||`` the L2
    norm of densities on R^m (see :func:`l2_distance`).  It is 0 when ``p2``
    is an affine image of ``p1``.

    Parameters
    ----------
    p1, p2 : GaussianMixture
        Mixtures of the same dimension ``m``.
    n_starts : int, default=8
        Number of random starts, and also of component-alignment starts;
        the two moment-matching starts are always used.
    rng : None, int or numpy.random.Generator, default=None
        Randomness of the random starts (and of the sampled component
        matchings when there are too many to enumerate).
    maxiter : int, default=1000
        Iteration limit of each local optimisation.

    Returns
    -------
    AffineDistance
        ``value`` (also ``float(result)``), the map ``matrix``, ``offset``
        attaining it, and the value reached from each start.

    Notes
    -----
    **Normalisation.**  The denominator uses the norm of the *mapped*
    density, ``||h#p1||``, as in ``l2_distance(p1, p2, A, b)``.  Since
    ``||h#p1|| = |det A|^(-1/2) ||p1||``, the quotient is invariant under a
    common affine map of ``p1`` and ``p2``, ``distAff,L2`` is symmetric in
    ``p1, p2``, and shrinking or spreading ``h#p1`` does not pay off (the
    quotient tends to infinity as ``|det A|`` tends to 0 or infinity).
    ``/work/shared/paper/NOTES.md`` writes the denominator as ``(||p1||
    ||p2||)^(1/2)`` with the unmapped ``p1``; that quotient equals this one
    times ``|det A|^(-1/4)``, is not symmetric, and is minimised by a
    different ``A`` in general; it is not what is computed here.

    **Optimisation.**  Both mixtures are first standardised by their overall
    mean and the Cholesky factor of their overall covariance (which leaves
    the quotient unchanged); in those coordinates the affine map is ``B z +
    c`` and the squared quotient is minimised over the ``m^2 + m`` entries of
    ``(B, c)`` by BFGS with its exact gradient.  Using
    ``||h#p1||^2 = ||p1||^2 / |det B|`` only the cross terms ``<h#p1, p2>``
    (``J1 * J2`` Gaussians, combined by logsumexp) are recomputed per step.
    The quotient is infinite on singular ``B``, so a local search never
    changes the sign of ``det B``; the starts include both signs.  The
    landscape has a local minimum for roughly every way of pairing the
    components, so the starts are:

    - ``"moment"``: ``B = I``, ``c = 0`` (the two mixtures' means and
      covariances aligned), and ``"moment-reflected"``: ``B = diag(1, ...,
      1, -1)``;
    - ``"component"``: for a pairing of ``min(J1, J2)`` components of ``p1``
      with components of ``p2`` (all injective pairings when there are at
      most 720 of them, otherwise the pairing by sorted weights plus random
      ones, up to 720) and each anchor pair ``(i, j)`` in it, the map taking
      component ``i`` exactly onto component ``j``, ``B = L_j Q L_i^-1``,
      with the orthogonal ``Q`` fitted by weighted orthogonal Procrustes to
      the other paired means seen from the anchors (both reflections when
      they do not determine it).  If ``p2`` is an affine image of ``p1``
      and the pairing is right, this is the exact map.  All such candidates
      (at most 2000) are screened by one evaluation of the quotient, and the
      ``n_starts`` best distinct ones are optimised;
    - ``"random"``: ``n_starts`` maps ``B = Q diag(exp(s))``, ``c ~ N(0,
      0.25 I)``, with ``Q`` Haar-distributed orthogonal and ``s ~ N(0, 0.25
      I)``.

    Starts are optimised in order of their initial value, and the search
    stops early once a squared quotient below ``64 eps`` (about ``1.2e-7``
    for the quotient) is reached, the resolution floor.  The best local
    minimum is returned; it is an upper bound on the global minimum, which a
    multi-start local search does not certify.  The value is recomputed
    with :func:`l2_distance` at the returned map.  Each step costs
    ``O(J1 J2 m^3)``; for ``J1 = J2 = 25``, ``m = 5`` a call takes seconds.

    Examples
    --------
    >>> from pwaffine import GaussianMixture
    >>> from pwaffine import dist_aff_l2
    >>> p1 = GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [[[0.5]], [[1.0]]])
    >>> p2 = GaussianMixture([0.3, 0.7], [[1.0], [-3.0]], [[[2.0]], [[4.0]]])  # z -> -2z - 1
    >>> result = dist_aff_l2(p1, p2, n_starts=2, rng=0)
    >>> result.value < 1e-6
    True
    >>> result.matrix.round(6), result.offset.round(6)
    (array([[-2.]]), array([-1.]))
    """
    _check_pair(p1, p2)
    n_starts = check_int(n_starts, "n_starts", low=0)
    maxiter = check_int(maxiter, "maxiter", low=1)
    rng = check_rng(rng)
    return _dist_aff_l2(p1, p2, n_starts, rng, maxiter)


def _mixture_moments(weights, means, covariances):
    """Overall mean (m,) and lower Cholesky factor (m, m) of the mixture's covariance."""
    mean = weights @ means
    centred = means - mean
    cov = np.einsum("j,jab->ab", weights, covariances) + (weights[:, None] * centred).T @ centred
    return mean, np.linalg.cholesky(0.5 * (cov + cov.T))


def _standardise(weights, means, covariances, mean, chol):
    """Image of a mixture under ``z -> chol^-1 (z - mean)``."""
    chol_inv = solve_triangular(chol, np.eye(len(mean)), lower=True)
    return _affine_image(means, covariances, chol_inv, -chol_inv @ mean)


def _random_orthogonal(m, rng):
    """Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    Q, R = np.linalg.qr(rng.standard_normal((m, m)))
    return Q * np.sign(np.diag(R))


def _dist_aff_l2(p1, p2, n_starts, rng, maxiter):
    m = p1.n_features
    mean1, chol1 = _mixture_moments(p1.weights, p1.means, p1.covariances)
    mean2, chol2 = _mixture_moments(p2.weights, p2.means, p2.covariances)
    means1, covs1 = _standardise(p1.weights, p1.means, p1.covariances, mean1, chol1)
    means2, covs2 = _standardise(p2.weights, p2.means, p2.covariances, mean2, chol2)
    problem = (p1.weights, means1, covs1, p2.weights, means2, covs2,
               _log_inner(p1.weights, means1, covs1, p1.weights, means1, covs1),
               _log_inner(p2.weights, means2, covs2, p2.weights, means2, covs2))

    def pack(B, c):
        return np.concatenate([B.ravel(), c])

    def initial_value(theta):
        with np.errstate(over="ignore", invalid="ignore"):
            return _objective_and_gradient(theta, *problem)[0]

    reflection = np.eye(m)
    reflection[-1, -1] = -1.0
    starts = [(pack(np.eye(m), np.zeros(m)), "moment"),
              (pack(reflection, np.zeros(m)), "moment-reflected")]
    candidates = _component_candidates(p1.weights, means1, covs1, p2.weights, means2, covs2, rng)
    screened = sorted((initial_value(theta), k, theta) for k, theta in enumerate(candidates))
    chosen = []
    for value, _, theta in screened:
        if len(chosen) == n_starts:
            break
        if np.isfinite(value) and not any(
            np.allclose(theta, other, rtol=1e-8, atol=1e-8) for other in chosen
        ):
            chosen.append(theta)
    starts += [(theta, "component") for theta in chosen]
    for _ in range(n_starts):
        B = _random_orthogonal(m, rng) * np.exp(0.5 * rng.standard_normal(m))
        starts.append((pack(B, 0.5 * rng.standard_normal(m)), "random"))

    order = np.argsort([initial_value(theta) for theta, _ in starts], kind="stable")
    start_values = np.full(len(starts), np.nan)
    best_value, best_theta = np.inf, starts[0][0]
    floor = 64.0 * np.finfo(float).eps
    for k in order:
        if best_value <= floor:
            break
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = minimize(_objective_and_gradient, starts[k][0], args=problem, jac=True,
                           method="BFGS", options=dict(maxiter=maxiter, gtol=1e-10))
        value = max(float(res.fun), 0.0) if np.isfinite(res.fun) else np.inf
        start_values[k] = np.sqrt(value)
        if value < best_value:
            best_value, best_theta = value, res.x

    B, c = best_theta[: m * m].reshape(m, m), best_theta[m * m:]
    # Back to the original coordinates: z -> chol2 (B chol1^-1 (z - mean1) + c) + mean2.
    matrix = chol2 @ solve_triangular(chol1.T, B.T, lower=False).T
    offset = chol2 @ c + mean2 - matrix @ mean1
    value = l2_distance(p1, p2, matrix, offset)
    return AffineDistance(value, matrix, offset, start_values,
                          tuple(kind for _, kind in starts))


def _component_pairings(weights1, weights2, rng):
    """Injective pairings of ``min(J1, J2)`` components, as (idx1, idx2) index arrays.

    All of them if there are at most ``_MAX_PAIRINGS``; otherwise the pairing
    of equal weight ranks followed by random ones.
    """
    J1, J2 = len(weights1), len(weights2)
    K, J_max = min(J1, J2), max(J1, J2)
    w_small, w_big = (weights1, weights2) if J1 <= J2 else (weights2, weights1)
    if math.perm(J_max, K) <= _MAX_PAIRINGS:
        images = [np.array(p) for p in itertools.permutations(range(J_max), K)]
    else:
        rank_small = np.argsort(np.argsort(-w_small, kind="stable"), kind="stable")
        images = [np.argsort(-w_big, kind="stable")[rank_small]]
        images += [rng.permutation(J_max)[:K] for _ in range(_MAX_PAIRINGS - 1)]
    base = np.arange(K)
    return [(base, p) if J1 <= J2 else (p, base) for p in images]


def _component_candidates(weights1, means1, covs1, weights2, means2, covs2, rng):
    """Maps ``theta = (B.ravel(), c)`` taking one component exactly onto another.

    For each pairing and anchor pair ``(i, j)`` in it: ``B = L_j Q L_i^-1``
    and ``c = nu_j - B mu_i``, with ``Q`` the weighted orthogonal Procrustes
    fit of ``L_i^-1 (mu_k - mu_i)`` onto ``L_j^-1 (nu_l - nu_j)`` over the
    other pairs ``(k, l)``, and its reflection when those directions span
    fewer than ``m`` dimensions.  At most ``_MAX_CANDIDATES`` are returned.
    """
    m = means1.shape[1]
    chol1, chol2 = np.linalg.cholesky(covs1), np.linalg.cholesky(covs2)
    flip = np.eye(m)
    flip[-1, -1] = -1.0
    candidates = []
    for idx1, idx2 in _component_pairings(weights1, weights2, rng):
        for a in range(len(idx1)):
            i, j = idx1[a], idx2[a]
            u = solve_triangular(chol1[i], (means1[idx1] - means1[i]).T, lower=True)
            v = solve_triangular(chol2[j], (means2[idx2] - means2[j]).T, lower=True)
            pair_weights = np.minimum(weights1[idx1], weights2[idx2])
            U, S, Vt = np.linalg.svd((v * pair_weights) @ u.T)
            rotations = [U @ Vt]
            if not S[-1] > 1e-10 * max(S[0], 1e-300):
                rotations.append(U @ flip @ Vt)
            for Q in rotations:
                B = chol2[j] @ solve_triangular(chol1[i].T, Q.T, lower=False).T
                candidates.append(np.concatenate([B.ravel(), means2[j] - B @ means1[i]]))
                if len(candidates) == _MAX_CANDIDATES:
                    return candidates
    return candidates


def _objective_and_gradient(theta, weights1, means1, covs1, weights2, means2, covs2,
                            log_pp1, log_qq):
    """Squared normalised L2 distance of ``(B z + c)#p1`` to ``p2`` and its gradient.

    ``theta = concatenate([B.ravel(), c])``.  With ``x = log(||h#p1|| / ||p2||)``
    and ``y = log`` of the cosine, the value is ``4 sinh^2(x/2) - 2 expm1(y)``;
    ``x`` depends on ``B`` through ``log|det B|`` only, ``y`` also through the
    cross term ``C = log <h#p1, p2>``, whose gradient is that of a logsumexp of
    Gaussian log densities ``l_ij`` with ``delta = B mu_i + c - nu_j``,
    ``S = B Sigma_i B^T + Gamma_j`` and ``g = S^-1 delta``::

        dl/dc = -g,    dl/dB = -g mu_i^T + (g g^T - S^-1) B Sigma_i.
    """
    m = means1.shape[1]
    B, c = theta[: m * m].reshape(m, m), theta[m * m:]
    sign, log_abs_det = np.linalg.slogdet(B)
    if sign == 0.0 or not np.isfinite(log_abs_det):
        return np.inf, np.zeros_like(theta)
    means_img, covs_img = _affine_image(means1, covs1, B, c)
    terms, delta, L_inv = _log_terms(weights1, means_img, covs_img, weights2, means2, covs2)
    log_pq = logsumexp(terms)
    w = np.exp(terms - log_pq)  # softmax weights of the cross terms, (J1, J2)
    g = np.einsum("ijba,ijb->ija", L_inv, np.einsum("ijab,ijb->ija", L_inv, delta))
    S_inv = np.einsum("ijca,ijcb->ijab", L_inv, L_inv)
    grad_c_C = -np.einsum("ij,ija->a", w, g)
    N = np.einsum("ij,ijab->iab", w, g[..., :, None] * g[..., None, :] - S_inv)
    grad_B_C = -np.einsum("ij,ija,ib->ab", w, g, means1) + np.einsum("iab,bc,icd->ad", N, B, covs1)

    x = 0.5 * (log_pp1 - log_abs_det - log_qq)
    y = log_pq - 0.5 * (log_pp1 - log_abs_det + log_qq)
    value = 4.0 * np.sinh(0.5 * x) ** 2 - 2.0 * np.expm1(y)
    if not np.isfinite(value):
        return np.inf, np.zeros_like(theta)
    e_y = np.exp(y)
    grad_B = -(np.sinh(x) + e_y) * np.linalg.inv(B).T - 2.0 * e_y * grad_B_C
    grad_c = -2.0 * e_y * grad_c_C
    return value, np.concatenate([grad_B.ravel(), grad_c])
