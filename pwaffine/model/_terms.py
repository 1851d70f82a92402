"""What the density backends share: the skipping margin, and running a density kernel."""

import numpy as np

__all__ = ["PARALLEL_MIN_POINTS", "SKIP_MARGIN", "image_bases", "log_skip", "run_logpdf"]

#: Terms are skipped once their upper bound is this far (in log) below the
#: largest term, plus log(n_terms): the skipped total is < exp(-40) relative.
SKIP_MARGIN = 40.0

#: Batches smaller than this run on one thread: thread start-up would cost more.
PARALLEL_MIN_POINTS = 4096

_LOG_2PI = np.log(2.0 * np.pi)


def image_bases(A, rank_rtol):
    """Orthonormal bases of each region's image plane and of its complement.

    Parameters
    ----------
    A : ndarray of shape (K, n, m)
        Whitened regional maps.
    rank_rtol : float
        Singular values below this fraction of the largest of all regions
        count as zero (the image has lower dimension).

    Returns
    -------
    basis : ndarray of shape (K, n, m)
        Columns: the left singular vectors of ``A_k`` spanning its image, zero
        for a missing rank (and for ``n < m``).
    R : ndarray of shape (K, m, m)
        ``A_k = basis_k R_k``; zero rows where ``basis_k`` has zero columns.
    perp : ndarray of shape (K, n, n)
        Columns: an orthonormal basis of the complement of the image, then
        zero columns.
    """
    K, n, m = A.shape
    U, s, Vt = np.linalg.svd(A, full_matrices=True)  # U (K, n, n), s (K, r), Vt (K, m, m)
    r = s.shape[1]
    keep = s > rank_rtol * max(s.max(initial=0.0), np.finfo(float).tiny)
    basis = np.zeros((K, n, m))
    basis[:, :, :r] = U[:, :, :r] * keep[:, None, :]
    R = np.zeros((K, m, m))
    R[:, :r, :] = (s * keep)[:, :, None] * Vt[:, :r, :]
    rank = keep.sum(axis=1)
    # Column c of perp is column rank + c of U (zero beyond the last one).
    source = rank[:, None] + np.arange(n)[None, :]  # (K, n)
    valid = source < n
    perp = np.take_along_axis(U, np.minimum(source, n - 1)[:, None, :], axis=2)
    perp *= valid[:, None, :]
    return basis, R, perp


def log_skip(n_terms):
    """The skipping threshold of the kernels: ``SKIP_MARGIN + log(n_terms)``."""
    return SKIP_MARGIN + float(np.log(max(n_terms, 1)))


def log_noise_const(noise_std):
    """``log N(0; 0, D)`` for ``D = diag(noise_std**2)``: the density's constant in whitened form."""
    return float(-0.5 * noise_std.size * _LOG_2PI - np.log(noise_std).sum())


def run_logpdf(kernels, X, inv_noise, tables, log_const, skip):
    """Log density at the rows of ``X`` with a density module of :mod:`pwaffine._kernels`.

    ``X`` is whitened by ``inv_noise``; batches of at least
    ``PARALLEL_MIN_POINTS`` points run on every thread.
    """
    Xw = np.ascontiguousarray(X * inv_noise)
    out = np.empty(X.shape[0])
    kernel = (kernels.logpdf_parallel if X.shape[0] >= PARALLEL_MIN_POINTS
              else kernels.logpdf_serial)
    kernel(Xw, tables, log_const, skip, out)
    return out
