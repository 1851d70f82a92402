"""The best-first logsumexp over a point's (region, component) terms, shared by every density.

The density of ``x`` is a sum over regions ``k`` and prior components ``j`` of
terms ``exp(gauss_kj(x) + log_mass_kj(x))``: a Gaussian part, cheap, and the
log posterior mass of the region, expensive (an interval or polygon
probability).  Most terms are negligible.  :func:`make_density_kernels`
builds, for one kind of region, the kernels that

1. compute every term's Gaussian part and an upper bound on the whole term
   (the Gaussian part plus a cheap bound on the mass);
2. evaluate the term with the largest bound first, then every term whose
   bound is within ``log_skip`` nats of the largest term found so far;
   the others are skipped (``-inf``);
3. combine the evaluated terms by logsumexp.

With ``log_skip = SKIP_MARGIN + log(n_terms)`` the skipped terms together
change the density by less than ``exp(-SKIP_MARGIN)`` relative.

The kind of region enters through three jitted functions given to the
factory (numba cannot cache a kernel that receives a function as an argument,
so the functions are bound, as globals, when the kernels are built, once per
kind):

``new_work(tables) -> work``
    Scratch space of one thread: a tuple whose first two entries are arrays
    of length ``n_terms`` (``work[0]`` receives the Gaussian parts,
    ``work[1]`` the bounds and then the terms); further entries are the
    kind's own scratch.
``prepare_terms(X, i, tables, work)``
    Fills ``work[0]`` and ``work[1]`` for point ``X[i]``.
``log_term_mass(idx, tables, work, floor, ceiling)``
    The log mass of term ``idx``.  ``floor = cut - gauss[idx]`` is the log
    mass below which the term is negligible (it lies ``log_skip`` nats below
    the largest term found so far): an implementation may return ``-inf`` when
    it proves the mass is below ``floor`` (a tighter bound than the first
    one).  ``ceiling = top - gauss[idx]`` is the log mass at which the term
    would equal that largest term: a term far below it may be computed with
    less relative accuracy, as long as the error it adds to the density stays
    within the budget (each kind documents its rule).  For a point's first
    term no term is known yet and both are ``-inf``: a kind may reset any
    per-point state of its scratch there.  During the call ``work[1][idx]``
    still holds the term's upper bound (the term replaces it afterwards).

Terms are numbered ``idx = k * n_components + j``.

The log-density and score kernels pass ``tables`` and ``work`` to these
functions as views without an owner (:func:`~.views.borrowed`), which spares
the term loop numba's atomic reference counts: the functions may read and
write the arrays but must not keep them (no view may be returned or stored).
"""

import math
import types

import numba as nb

from ._jit import kernel, parallel_kernel
from .views import borrowed, keep_alive

__all__ = ["CHUNK", "distance_sq", "make_density_kernels", "sum_exp"]

#: Points per parallel work item of the density kernels.
CHUNK = 64


@kernel
def sum_exp(term, top):
    """``sum(exp(term - top))``, 0 when every term is ``-inf``."""
    total = 0.0
    if top > -math.inf:
        for idx in range(term.shape[0]):
            if term[idx] > -math.inf:
                total += math.exp(term[idx] - top)
    return total


@kernel
def distance_sq(X, i, offset, perp, k):
    """Squared distance from ``X[i]`` to region ``k``'s image: ``|perp[k]^T (X[i] - offset[k])|^2``.

    ``perp[k]`` holds an orthonormal basis of the complement of the image's
    directions (zero columns as padding), so the distance is formed without
    subtracting the projection onto the image: a full-rank image gives exactly
    0, and no cancellation inflates the rounding of points far from the origin.
    """
    n, n_perp = perp.shape[1], perp.shape[2]
    d = 0.0
    for c in range(n_perp):
        r = 0.0
        for t in range(n):
            r += perp[k, t, c] * (X[i, t] - offset[k, t])
        d += r * r
    return d


# The templates below call ``prepare_terms``, ``log_term_mass``, ``new_work``,
# ``term_sum`` and ``logpdf_range``, names that are not defined in this module:
# :func:`make_density_kernels` compiles a copy of each template whose globals
# bind them to one kind's functions.  Globals rather than closure cells keep
# the kernels cacheable: numba keys a closure's cache on its pickled cells,
# and a pickled dispatcher differs from process to process.
def _term_sum(X, i, tables, work, log_skip):
    prepare_terms(X, i, tables, work)  # noqa: F821
    gauss = work[0]
    term = work[1]
    n_terms = term.shape[0]
    best = 0
    for idx in range(1, n_terms):
        if term[idx] > term[best]:
            best = idx
    top = -math.inf  # the largest term so far
    cut = -math.inf  # terms below it are negligible
    for sweep in range(2):
        for idx in range(n_terms):
            if (sweep == 0) != (idx == best):
                continue
            bound = term[idx]
            if bound < cut or bound == -math.inf:
                term[idx] = -math.inf
                continue
            value = gauss[idx] + log_term_mass(idx, tables, work, cut - gauss[idx],  # noqa: F821
                                               top - gauss[idx])
            term[idx] = value
            if value > top:
                top = value
                cut = top - log_skip
    return top, sum_exp(term, top)


def _logpdf_range(X, tables, log_const, log_skip, out, start, stop):
    work = new_work(tables)  # noqa: F821
    # The term loop binds a dozen arrays per term: views without an owner
    # spare it atomic reference counts (see .views).
    tables_view = borrowed(tables)
    work_view = borrowed(work)
    for i in range(start, stop):
        top, total = term_sum(X, i, tables_view, work_view, log_skip)  # noqa: F821
        out[i] = log_const + top + math.log(total) if top > -math.inf else -math.inf
    keep_alive(work)  # the owner of work_view lives until here


def _logpdf_serial(X, tables, log_const, log_skip, out):
    logpdf_range(X, tables, log_const, log_skip, out, 0, X.shape[0])  # noqa: F821


def _logpdf_parallel(X, tables, log_const, log_skip, out):
    n_samples = X.shape[0]
    n_chunks = (n_samples + CHUNK - 1) // CHUNK
    for chunk in nb.prange(n_chunks):
        logpdf_range(X, tables, log_const, log_skip, out, chunk * CHUNK,  # noqa: F821
                     min(n_samples, (chunk + 1) * CHUNK))


def _bind(template, kind, **names):
    """A copy of ``template`` whose globals also hold ``names``, named after ``kind``.

    The qualified name carries the kind, so that each kind's kernels have
    their own cache index.
    """
    namespace = dict(template.__globals__)
    namespace.update(names)
    function = types.FunctionType(template.__code__, namespace, template.__name__,
                                  template.__defaults__)
    function.__qualname__ = f"{template.__name__}_{kind}"
    function.__doc__ = template.__doc__
    return function


def make_density_kernels(kind, new_work, prepare_terms, log_term_mass):
    """Build the term sum and the log-density kernels for one kind of region.

    Parameters
    ----------
    kind : str
        A name for the kind of region (``"intervals"``, ``"polygons"``).
    new_work, prepare_terms, log_term_mass : numba dispatchers
        See the module docstring.

    Returns
    -------
    term_sum : dispatcher
        ``term_sum(X, i, tables, work, log_skip) -> (top, total)``: the
        largest term and ``sum(exp(term - top))``; ``work[1]`` holds every
        term afterwards (``-inf`` where skipped), for score kernels.
    logpdf_serial, logpdf_parallel : dispatcher
        ``(X, tables, log_const, log_skip, out)``: ``out[i] = log_const +
        log(sum of the terms of X[i])``, on one thread or over chunks of
        ``CHUNK`` points in parallel.
    """
    term_sum = kernel(_bind(_term_sum, kind, prepare_terms=prepare_terms,
                            log_term_mass=log_term_mass))
    logpdf_range = kernel(_bind(_logpdf_range, kind, new_work=new_work, term_sum=term_sum))
    logpdf_serial = kernel(_bind(_logpdf_serial, kind, logpdf_range=logpdf_range))
    logpdf_parallel = parallel_kernel(_bind(_logpdf_parallel, kind, logpdf_range=logpdf_range))
    return term_sum, logpdf_serial, logpdf_parallel
