"""The density backend of a noiseless model ``x = f(z)``: change of variables over every preimage.

``p(x) = sum_k p_Z(z_k) / sqrt(det(A_k^T A_k))`` over the regions whose
preimage ``z_k = A_k^+ (x - c_k)`` lies in the region.  For ``n = m`` this is
the density with respect to Lebesgue measure; for ``n > m`` with respect to
``m``-dimensional volume on the image of ``f`` (arc length for a 1-D latent,
area for a 2-D one).  It exists only if ``f`` has full rank ``m`` on every
region (:func:`check_no_atoms`); every region has positive prior mass.
"""

import numpy as np
from scipy.special import logsumexp

__all__ = ["CURVE_RTOL", "check_no_atoms", "logpdf"]

#: Models with n > m: a point belongs to the image when its distance to the
#: image is at most ``CURVE_RTOL * (1 + |x|_inf)``.
CURVE_RTOL = 1e-9


def check_no_atoms(regions, prior):
    """Raise unless ``f`` has full rank on every region (needed for a noiseless density).

    A region where ``f`` is constant carries an atom of ``P(X)``; one where the
    Jacobian has rank below ``m`` maps prior mass onto a lower-dimensional set.
    Every region has positive prior mass, so either way the noiseless law has
    no density.
    """
    m = regions.linear.shape[2]
    for k in range(regions.n_regions):
        A = regions.linear[k]
        rank = np.linalg.matrix_rank(A)
        if rank == m:
            continue
        if rank == 0:
            kind = "f is constant on a region of positive prior mass, so P(X) has an atom"
            where = f"f(z) = {np.array2string(regions.offset[k], precision=6)} for z in " \
                    f"{_describe_region(regions, k)}"
        else:
            kind = (f"f has rank {rank} < m = {m} on a region of positive "
                    "prior mass, so P(X) puts mass on a lower-dimensional set")
            where = f"region {_describe_region(regions, k)}"
        mass = np.exp(regions.log_prior_masses(prior)[k])
        raise ValueError(f"noise_std=0 but {kind} and no density: {where}, mass {mass:.6g}")


def _describe_region(regions, k):
    if regions.linear.shape[2] == 1:
        lo, hi = regions.lower[k], regions.upper[k]
        left = "(" if lo == -np.inf else "["
        return f"{left}{lo:.6g}, {hi:.6g})"
    normals, offsets = regions.halfplanes(k)
    parts = [f"{a[0]:+.4g} z1 {a[1]:+.4g} z2 <= {b:.4g}" for a, b in zip(normals, offsets)]
    return "{" + ", ".join(parts) + "}" if parts else "the whole plane"


def logpdf(regions, prior, X):
    """Log density of ``x = f(z)`` by change of variables over every preimage.

    ``p(x) = sum_k p_Z(z_k) / sqrt(det(A_k^T A_k))`` over the regions whose
    preimage ``z_k = A_k^+ (x - c_k)`` lies in the region (by the partition's
    own point location, so a preimage on a boundary counts once).  For
    ``n = m`` this is the density with respect to Lebesgue measure; for
    ``n > m`` with respect to ``m``-dimensional volume on the image (arc length
    for a 1-D latent), and points off the image (farther than
    ``CURVE_RTOL * (1 + |x|_inf)``) get ``-inf``.  The caller must have run
    :func:`check_no_atoms`.
    """
    n_samples, n = X.shape
    m = regions.linear.shape[2]
    terms = np.full((regions.n_regions, n_samples), -np.inf)
    scale = 1.0 + np.abs(X).max(axis=1) if n_samples else np.ones(0)
    for k in range(regions.n_regions):
        A, c = regions.linear[k], regions.offset[k]
        gram = A.T @ A
        diff = X - c
        Z = np.linalg.solve(gram, (diff @ A).T).T  # least-squares preimages
        ok = regions.locate(Z) == k
        if n > m:
            resid = np.abs(diff - Z @ A.T).max(axis=1)
            ok &= resid <= CURVE_RTOL * scale
        if np.any(ok):
            terms[k, ok] = prior.logpdf(Z[ok]) - 0.5 * np.linalg.slogdet(gram)[1]
    return logsumexp(terms, axis=0)


