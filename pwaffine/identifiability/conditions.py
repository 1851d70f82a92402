"""The paper's conditions, each checked exactly and returned with its evidence.

(F2) weak injectivity and (F3) injectivity of the decoder ``f`` (Kivva et al.
2022, section 3), checked from the affine regions and their images, and (P2)
on the Gaussian-mixture prior.  Each is returned as a :class:`Verdict`
carrying the evidence: for an injectivity failure, points with the same
image; for success, a point of the image with a unique preimage; for (P2),
the components and variance ratios that decide it.
"""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_scalar
from ..model import GaussianMixture, ReLUNetwork

__all__ = ["Verdict", "check_p2", "is_injective", "is_weakly_injective"]

#: Relative tolerance for deciding that two image segments coincide/overlap.
GEOMETRY_RTOL = 1e-10


@dataclass(frozen=True)
class Verdict:
    """Outcome of a condition check.

    Attributes
    ----------
    holds : bool
    reason : str
        One sentence a reader can check.
    witnesses : dict
        The evidence, e.g. ``{"z": [z1, z2], "x": x}`` for two latent points
        with the same image.
    """

    holds: bool
    reason: str
    witnesses: dict = field(default_factory=dict)

    def __bool__(self):
        return self.holds


def _check_network(network, dims=(1,)):
    if not isinstance(network, ReLUNetwork):
        raise ValueError(f"network must be a ReLUNetwork; got {type(network).__name__}")
    if network.n_inputs not in dims:
        raise NotImplementedError(
            f"this check is implemented for n_inputs in {dims}; got n_inputs={network.n_inputs}"
        )


def _pieces(regions):
    """(lower, upper, slope vector, offset) per region, constant regions flagged."""
    lo, hi = regions.lower, regions.upper
    A = regions.linear[:, :, 0]
    c = regions.offset
    constant = np.all(A == 0.0, axis=1)
    return lo, hi, A, c, constant


def _interior_point(lo, hi):
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    if np.isfinite(lo):
        return lo + 1.0
    if np.isfinite(hi):
        return hi - 1.0
    return 0.0


def is_injective(network):
    """(F3): is ``f`` one-to-one?

    For a 1-D latent, ``f`` is injective iff no region is constant and no two
    regions' images share a point (for ``n = 1``: iff ``f`` is strictly
    monotone).  Checked exactly on the regions' image segments and rays.

    For a 2-D latent (``n_outputs == 2``): every region has full rank, the
    Jacobian determinants share one sign, and ``f`` winds once around the
    image of every vertex (then ``f`` is a proper local homeomorphism of the
    plane, hence injective).

    Parameters
    ----------
    network : ReLUNetwork with ``n_inputs`` 1 or 2 (``n_outputs == 2`` for 2)

    Returns
    -------
    Verdict
        On failure ``witnesses`` holds ``z`` (two distinct latent points, or
        an interval where ``f`` is constant) and their common image ``x``
        (for a 2-D latent: the offending region or vertex).
    """
    _check_network(network, (1, 2))
    if network.n_inputs == 2:
        return _is_injective_2d(network)
    regions = network.affine_regions()
    lo, hi, A, c, constant = _pieces(regions)
    for k in np.flatnonzero(constant):
        z = _interior_point(lo[k], hi[k])
        return Verdict(False, f"f is constant on [{lo[k]:.6g}, {hi[k]:.6g}]",
                       {"z": [lo[k], hi[k]], "x": (A[k] * z + c[k]).tolist()})
    hit = _first_shared_image(lo, hi, A, c)
    if hit is not None:
        z1, z2, x = hit
        return Verdict(False, f"f({z1:.6g}) = f({z2:.6g})", {"z": [z1, z2], "x": x.tolist()})
    return Verdict(True, "no constant region and the images of different regions are disjoint")


def _first_shared_image(lo, hi, A, c):
    """Two latent points in different regions with the same image, or None.

    Neighbouring regions share their common breakpoint's image by continuity;
    that does not count.  For n = 1 images are intervals; for n > 1 segments
    (or rays) in R^n, compared exactly up to GEOMETRY_RTOL.
    """
    K = len(lo)
    n = A.shape[1]
    scale = 1.0 + max(np.abs(A).max(), np.abs(c).max())
    for k in range(K):
        for l in range(k + 1, K):
            if A[k].any() and A[l].any():
                hit = _segments_meet(lo[k], hi[k], A[k], c[k], lo[l], hi[l], A[l], c[l],
                                     adjacent=(l == k + 1), n=n, scale=scale)
                if hit is not None:
                    return hit
    return None


def _segments_meet(lo1, hi1, a1, c1, lo2, hi2, a2, c2, adjacent, n, scale):
    """Common image point of z1 in (lo1, hi1) and z2 in (lo2, hi2) with z1 != z2."""
    tol = GEOMETRY_RTOL * scale
    # Parametrise both images; solve a1 z1 + c1 = a2 z2 + c2 in least squares.
    M = np.column_stack([a1, -a2])
    rhs = c2 - c1
    # Parallel directions: images lie on parallel lines; overlap only if collinear.
    cross = np.linalg.matrix_rank(M, tol=tol * np.abs(M).max()) < 2
    if cross:
        # Collinear check: c2 - c1 must be parallel to a1.
        u = a1 / np.linalg.norm(a1)
        resid = rhs - u * (u @ rhs)
        if np.linalg.norm(resid) > tol * (1 + np.linalg.norm(rhs)):
            return None
        # Coordinates along u of both images: t = u.(a z + c).
        s1, s2 = u @ a1, u @ a2
        t1 = sorted([s1 * lo1 + u @ c1, s1 * hi1 + u @ c1])
        t2 = sorted([s2 * lo2 + u @ c2, s2 * hi2 + u @ c2])
        lo_t, hi_t = max(t1[0], t2[0]), min(t1[1], t2[1])
        if not hi_t > lo_t + tol:
            return None
        if np.isinf(lo_t) and np.isinf(hi_t):
            t = 0.0
        elif np.isinf(lo_t):
            t = hi_t - 1.0
        elif np.isinf(hi_t):
            t = lo_t + 1.0
        else:
            t = 0.5 * (lo_t + hi_t)
        z1 = (t - u @ c1) / s1
        z2 = (t - u @ c2) / s2
        return float(z1), float(z2), a1 * z1 + c1
    sol, *_ = np.linalg.lstsq(M, rhs, rcond=None)
    z1, z2 = sol
    if np.linalg.norm(M @ sol - rhs) > tol * (1 + np.linalg.norm(rhs)):
        return None
    inside1 = lo1 - tol <= z1 <= hi1 + tol
    inside2 = lo2 - tol <= z2 <= hi2 + tol
    if not (inside1 and inside2):
        return None
    if adjacent and abs(z1 - z2) <= tol * (1 + abs(z1)):
        return None  # the shared breakpoint
    return float(z1), float(z2), a1 * z1 + c1


def is_weakly_injective(network):
    """(F2): is ``f`` weakly injective?

    (i) some ``x0`` in the image has a neighbourhood (within the image) whose
    points all have exactly one preimage, and (ii) the points with infinitely
    many preimages have measure zero in the image.  For a 1-D latent this is
    decided from the image segments: a segment part covered by exactly one
    non-constant region gives (i); a constant region gives infinitely many
    preimages at one point, which violates (ii) only if ``f`` is constant.

    For a 2-D latent see :func:`_is_weakly_injective_2d`: a positive verdict
    carries a checked witness; a negative one means no witness was found
    among the candidates tried (not a proof).

    Parameters
    ----------
    network : ReLUNetwork with ``n_inputs`` 1 or 2

    Returns
    -------
    Verdict
        On success ``witnesses["x0"]`` and its unique preimage ``z0``; on
        failure, a point of the image with its several preimages.
    """
    _check_network(network, (1, 2))
    if network.n_inputs == 2:
        return _is_weakly_injective_2d(network)
    regions = network.affine_regions()
    lo, hi, A, c, constant = _pieces(regions)
    if constant.all():
        return Verdict(False, "f is constant: its single image point has infinitely many "
                       "preimages", {"x": c[0].tolist()})
    K = len(lo)
    for k in np.flatnonzero(~constant):
        # Candidate points along region k: midpoints between the parameters where
        # other regions' images start or stop overlapping it.
        cuts = _overlap_cuts(k, lo, hi, A, c, constant)
        for z in cuts:
            preimages = _preimages(A[k] * z + c[k], lo, hi, A, c, constant, K)
            if len(preimages) == 1:
                x0 = A[k] * z + c[k]
                return Verdict(True, f"x0 = f({z:.6g}) has a unique preimage, and so do its "
                               "neighbours in the image", {"x0": x0.tolist(), "z0": float(z)})
    k = int(np.flatnonzero(~constant)[0])
    z = _interior_point(lo[k], hi[k])
    x = A[k] * z + c[k]
    pre = _preimages(x, lo, hi, A, c, constant, K)
    return Verdict(False, "every point of the image has at least two preimages",
                   {"x": x.tolist(), "z": pre})


def _overlap_cuts(k, lo, hi, A, c, constant):
    """Test parameters along region k, one between each pair of consecutive places
    where another region's image can start or stop overlapping region k's image."""
    a, b = lo[k], hi[k]
    u = A[k] / np.linalg.norm(A[k])
    s = u @ A[k]
    pts = []
    for l in range(len(lo)):
        if l == k or constant[l]:
            continue
        for zl in (lo[l], hi[l]):
            if np.isfinite(zl):
                pts.append(float((u @ (A[l] * zl + c[l] - c[k])) / s))
    pts = [p for p in pts if a < p < b]
    finite = pts + [v for v in (a, b) if np.isfinite(v)]
    a = a if np.isfinite(a) else (min(finite) - 1.0 if finite else -1.0)
    b = b if np.isfinite(b) else (max(finite) + 1.0 if finite else 1.0)
    pts = np.unique([a, b] + pts)
    return 0.5 * (pts[:-1] + pts[1:])


def _preimages(x, lo, hi, A, c, constant, K):
    scale = 1.0 + np.abs(x).max()
    out = []
    for l in range(K):
        if constant[l]:
            if np.all(np.abs(c[l] - x) <= GEOMETRY_RTOL * scale):
                out.append((float(lo[l]), float(hi[l])))
            continue
        z = float(A[l] @ (x - c[l]) / (A[l] @ A[l]))
        if lo[l] <= z < hi[l] and np.all(np.abs(A[l] * z + c[l] - x) <= GEOMETRY_RTOL * scale * 10):
            out.append(z)
    return out


# --------------------------------------------------------------------------
# 2-D latent
# --------------------------------------------------------------------------
def _interior_points(regions, k):
    """A few points strictly inside polygon region ``k``."""
    points, rays = regions.vertices(k)
    centre = points.mean(axis=0)
    if len(rays):
        centre = centre + rays.sum(axis=0) / max(len(rays), 1)
    out = [centre]
    for v in points:
        out.append(0.5 * (centre + v))
    normals, offsets = regions.halfplanes(k)
    return [p for p in out if np.all(normals @ p < offsets)]


def _preimages_2d(network, x):
    """Latent points z with f(z) = x (one per full-rank region), via the partition."""
    regions = network.affine_regions()
    n = network.n_outputs
    found = []
    scale = 1.0 + np.abs(x).max()
    for k in range(regions.n_regions):
        A, c = regions.linear[k], regions.offset[k]
        if np.linalg.matrix_rank(A) < 2:
            continue
        z = np.linalg.lstsq(A, x - c, rcond=None)[0]
        if n > 2 and np.abs(A @ z + c - x).max() > GEOMETRY_RTOL * 10 * scale:
            continue
        if regions.locate(z[None])[0] == k:
            found.append(z)
    return found


def _is_weakly_injective_2d(network):
    """(F2) for a 2-D latent: a point of the image with a unique, stable preimage.

    Condition (ii) fails only if every region has rank < 2 (the image then has
    measure zero in itself only in degenerate ways); condition (i) is shown by a
    witness: an interior point ``z0`` of a full-rank region whose image ``x0``
    has no other preimage (checked against every full-rank region by exact
    linear algebra and point location; rank-deficient regions map onto
    lines or points, which a generic ``x0`` avoids).  Interior points of every
    region are tried; if none qualifies the verdict is negative, with the
    tried point and its preimages as evidence (for 2-D latents a negative
    verdict means "no witness among the candidates", not a proof).
    """
    regions = network.affine_regions()
    full = [k for k in range(regions.n_regions) if np.linalg.matrix_rank(regions.linear[k]) == 2]
    if not full:
        return Verdict(False, "f has rank < 2 on every region: the image has no interior",
                       {})
    last = None
    for k in full:
        for z0 in _interior_points(regions, k):
            x0 = network.forward(z0[None])[0]
            pre = _preimages_2d(network, x0)
            if len(pre) == 1:
                return Verdict(True, "x0 = f(z0) has a unique preimage, which is interior to a "
                               "full-rank region, so neighbouring image points do too",
                               {"x0": x0.tolist(), "z0": z0.tolist()})
            last = (x0, pre)
    return Verdict(False, "no tested image point has a unique preimage (tested one interior "
                   "point per region and its neighbours; not a proof for 2-D latents)",
                   {"x": last[0].tolist(), "z": [p.tolist() for p in last[1]]})


def _is_injective_2d(network):
    """(F3) for ``n = m = 2``: a continuous piecewise-affine map of the plane is
    injective iff every region has full rank with Jacobian determinants of one
    sign and the map winds once around every vertex (local degree 1); then it
    is a proper local homeomorphism of the plane, hence a bijection.
    """
    regions = network.affine_regions()
    if network.n_outputs != 2:
        raise NotImplementedError("is_injective for a 2-D latent needs n_outputs == 2")
    dets = np.linalg.det(regions.linear)
    scale = np.abs(regions.linear).max() ** 2
    if np.any(np.abs(dets) <= 1e-12 * scale):
        k = int(np.argmin(np.abs(dets)))
        return Verdict(False, f"f is singular on region {k} (det {dets[k]:.3g})",
                       {"region": k})
    if np.any(dets > 0) and np.any(dets < 0):
        a, b = int(np.argmax(dets > 0)), int(np.argmax(dets < 0))
        return Verdict(False, "f reverses orientation on some regions and not on others, so "
                       "it folds the plane", {"regions": [a, b]})
    # Local degree at every vertex: wind around it through the adjacent regions.
    for k in range(regions.n_regions):
        points, _ = regions.vertices(k)
        for v in points:
            degree = _winding_at(network, v)
            if degree != 1:
                return Verdict(False, f"f winds {degree} times around the image of the vertex "
                               f"z = {v.tolist()}", {"z": v.tolist()})
    return Verdict(True, "all regions have full rank and one orientation, and f winds once "
                   "around every vertex")


def _winding_at(network, v, n_dirs=64):
    """Winding number of f around f(v) along a small circle around v."""
    regions = network.affine_regions()
    points_all = regions.points
    dist = np.linalg.norm(points_all - v, axis=1)
    others = dist[dist > 0]
    radius = 0.25 * (others.min() if others.size else 1.0)
    theta = np.linspace(0.0, 2 * np.pi, n_dirs, endpoint=False)
    circle = v + radius * np.column_stack([np.cos(theta), np.sin(theta)])
    image = network.forward(circle) - network.forward(v[None])[0]
    angles = np.unwrap(np.arctan2(image[:, 1], image[:, 0]))
    total = angles[-1] - angles[0] + _wrap(np.arctan2(image[0, 1], image[0, 0]) - angles[-1])
    return int(round(abs(total) / (2 * np.pi)))


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


# --------------------------------------------------------------------------- (P2)
def check_p2(prior, rtol=1e-6):
    """Condition (P2) of Kivva et al. (2022) on a Gaussian-mixture prior.

    (P2): ``Z_s`` and ``Z_t`` are independent given the component ``U`` for
    all ``s != t``, and there are two states ``u1 != u2`` whose variance
    ratios ``(Sigma_u1)_tt / (Sigma_u2)_tt``, ``t = 1..m``, are pairwise
    distinct.  Under (F2), (P2) upgrades identifiability of ``P(Z)`` from
    "up to an affine map" to "up to permutation, scaling and translation"
    (Theorem 3.5(b)).

    Parameters
    ----------
    prior : GaussianMixture
    rtol : float, default=1e-6
        Decision tolerance.  An off-diagonal covariance counts as zero when
        ``|Sigma_st| <= rtol * sqrt(Sigma_ss Sigma_tt)`` (a correlation of at
        most ``rtol``); two ratios ``rho_s, rho_t`` count as equal when
        ``|log rho_s - log rho_t| <= rtol`` (a relative difference of about
        ``rtol``).  The default absorbs rounding of parameters stored in
        single precision (relative error ~6e-8).

    Returns
    -------
    Verdict
        ``holds``, a one-sentence ``reason`` and ``witnesses``:

        - holds: ``components`` ``[i, j]``, their ``ratios`` (length ``m``)
          and ``min_log_gap``, the smallest ``|log rho_s - log rho_t|`` over
          ``s != t`` (``inf`` for ``m = 1``); the pair with the largest gap
          is reported;
        - non-diagonal covariance: ``component``, ``coordinates`` ``[s, t]``
          and their ``correlation`` (the largest in absolute value);
        - ratios not distinct for any pair: the pair with the largest
          ``min_log_gap``, its ``ratios`` and the ``coordinates`` ``[s, t]``
          whose ratios coincide;
        - fewer than two components: ``n_components`` (with positive weight).

    Notes
    -----
    For Gaussian components, conditional independence of the coordinates
    given ``U`` is equivalent to diagonal covariances.  Components of weight
    0 are not states of ``U`` (the paper's (P1) has ``lambda_j > 0``) and are
    ignored.  "A pair of states" is read as two distinct components, so a
    single-component prior fails (P2) in every dimension.

    **m = 1.**  Conditional independence is vacuous and the single ratio is
    trivially distinct, so (P2) reduces to "at least two components of
    positive weight"; ``check_p2`` returns ``holds=True`` exactly then.  The
    condition then carries no information: every invertible affine map of R
    is a scaling and a translation, so Theorem 3.5(b) says the same as (a).

    Examples
    --------
    >>> from pwaffine import GaussianMixture
    >>> from pwaffine import check_p2
    >>> prior = GaussianMixture.from_std([0.5, 0.5], [[0.0, 0.0], [2.0, 1.0]],
    ...                                  [[1.0, 1.0], [2.0, 0.5]])
    >>> verdict = check_p2(prior)
    >>> verdict.holds, verdict.witnesses["ratios"]
    (True, [0.25, 4.0])
    >>> isotropic = GaussianMixture.from_std([0.5, 0.5], [[0.0, 0.0], [2.0, 1.0]], [1.0, 2.0])
    >>> check_p2(isotropic).holds
    False
    """
    if not isinstance(prior, GaussianMixture):
        raise ValueError(f"prior must be a GaussianMixture; got {type(prior).__name__}")
    rtol = check_scalar(rtol, "rtol", low=0.0)
    return _check_p2(prior.weights, prior.covariances, rtol)


def _check_p2(weights, covariances, rtol):
    active = np.flatnonzero(weights > 0.0)
    cov = covariances[active]
    n_active, m = cov.shape[0], cov.shape[1]
    variances = np.diagonal(cov, axis1=1, axis2=2)
    if m > 1:
        sd = np.sqrt(variances)
        corr = np.abs(cov) / (sd[:, :, None] * sd[:, None, :])
        corr[:, np.arange(m), np.arange(m)] = 0.0
        j, s, t = np.unravel_index(np.argmax(corr), corr.shape)
        if corr[j, s, t] > rtol:
            k = int(active[j])
            r = float(cov[j, s, t] / (sd[j, s] * sd[j, t]))
            return Verdict(
                False,
                f"component {k} has correlation {r:.3g} between coordinates {s} and {t}, so "
                f"the coordinates are not independent given U",
                {"component": k, "coordinates": [int(s), int(t)], "correlation": r},
            )
    if n_active < 2:
        return Verdict(False, f"the prior has {n_active} component of positive weight, so there "
                       f"is no pair of states to compare", {"n_components": int(n_active)})
    log_var = np.log(variances)
    best = None
    for a in range(n_active):
        for b in range(a + 1, n_active):
            log_ratio = log_var[a] - log_var[b]
            if m == 1:
                gap, s, t = np.inf, 0, 0
            else:
                order = np.argsort(log_ratio)
                gaps = np.diff(log_ratio[order])
                k = int(np.argmin(gaps))
                gap, s, t = float(gaps[k]), int(order[k]), int(order[k + 1])
            if best is None or gap > best[0]:
                best = (gap, a, b, s, t, np.exp(log_ratio))
    gap, a, b, s, t, ratios = best
    i, j = int(active[a]), int(active[b])
    witnesses = {"components": [i, j], "ratios": ratios.tolist(), "min_log_gap": gap}
    if m == 1:
        return Verdict(True, f"m = 1: components {i} and {j} form a pair of states and a single "
                       f"variance ratio is trivially distinct", witnesses)
    if gap > rtol:
        return Verdict(True, f"the covariances are diagonal and the variance ratios of components "
                       f"{i} and {j} are pairwise distinct (smallest log gap {gap:.3g})",
                       witnesses)
    witnesses["coordinates"] = [s, t]
    return Verdict(False, f"every pair of components has two coordinates with equal variance "
                   f"ratios (at best components {i} and {j}: coordinates {s} and {t}, ratio "
                   f"{ratios[s]:.6g})", witnesses)
