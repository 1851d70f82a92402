"""Slow, independent reference computations of the density (for tests and benchmarks).

Nothing here is fast or clever on purpose:

* :func:`logpdf_closed_form` evaluates the same closed form as the numba kernel
  but the textbook way: the full marginal covariance ``A Sigma A^T + D`` through
  ``scipy.stats.multivariate_normal``, the posterior by the usual conditioning
  formulas, and interval masses through ``scipy.special.log_ndtr`` (polygon
  masses through ``gaussian_polygon_log_mass`` for a 2-D latent); every
  region-component term is computed (no skipping).
* :func:`logpdf_quad` integrates ``p(z) N(x; f(z), D)`` over ``z`` with
  ``scipy.integrate.quad``, calling ``network.forward`` for ``f``: it shares
  nothing with the closed form except the breakpoints, which it uses only to
  split the integration range.
* :func:`logpdf_mpmath`: the closed form in 50-digit arithmetic (far tails).
* :func:`logpdf_slices_2d`: for a 2-D latent, quadrature over ``z1`` of the
  exact 1-D densities along ``z2``.
"""

import numpy as np
from scipy import integrate, special, stats

from ._validation import check_samples

_LOG_2PI = np.log(2.0 * np.pi)


def _log_ndtr_interval(a, b):
    """``log(Phi(b) - Phi(a))`` for arrays with ``a < b``, via scipy's ``log_ndtr``."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    upper = a > 0  # both in the upper tail: use the reflection
    lo = np.where(upper, -b, a)
    hi = np.where(upper, -a, b)
    log_hi = special.log_ndtr(hi)
    log_lo = special.log_ndtr(lo)
    with np.errstate(divide="ignore"):
        return log_hi + np.log(-np.expm1(log_lo - log_hi))


def logpdf_closed_form(model, X):
    """Closed-form log density with textbook numerics, for a 1-D or 2-D latent.

    Every region-component term, none skipped: ``scipy.stats.multivariate_normal``
    for the marginal ``N(A mu + c, A Sigma A^T + D)``, the posterior of ``z`` by
    the usual conditioning formulas, and its mass on the region by
    ``scipy.special.log_ndtr`` (an interval) or by
    :func:`pwaffine.gaussian_polygon_log_mass` (a polygon,
    validated on its own against mpmath; it whitens and sorts the half-planes
    itself).

    Parameters
    ----------
    model : PushforwardModel
        With ``n_latent`` 1 or 2 and positive noise.
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    from .model.gaussian_polygon import gaussian_polygon_log_mass

    X = check_samples(X, model.n_features)
    regions = model.network.affine_regions()
    prior = model.prior
    D = np.diag(model.noise_vector**2)
    D_inv = np.diag(1.0 / model.noise_vector**2)
    terms = []
    for k in range(regions.n_regions):
        A, c = regions.linear[k], regions.offset[k]
        for j in range(prior.n_components):
            if prior.weights[j] == 0:
                continue
            mu, S = prior.means[j], prior.covariances[j]
            log_marg = np.atleast_1d(stats.multivariate_normal(A @ mu + c, A @ S @ A.T + D).logpdf(X))
            post_cov = np.linalg.inv(np.linalg.inv(S) + A.T @ D_inv @ A)
            post_mean = (post_cov @ (np.linalg.solve(S, mu)[:, None] + A.T @ D_inv @ (X - c).T)).T
            if model.n_latent == 1:
                sd = np.sqrt(post_cov[0, 0])
                log_mass = _log_ndtr_interval((regions.lower[k] - post_mean[:, 0]) / sd,
                                              (regions.upper[k] - post_mean[:, 0]) / sd)
            else:
                normals, offsets = regions.halfplanes(k)
                log_mass = (np.array([gaussian_polygon_log_mass(normals, offsets, m, post_cov)
                                      for m in post_mean]) if len(normals) else 0.0)
            terms.append(np.log(prior.weights[j]) + log_marg + log_mass)
    return special.logsumexp(np.array(terms), axis=0)


def logpdf_quad(model, x, epsrel=1e-12, n_sd=40.0):
    """Log density at one point by adaptive quadrature over the latent ``z``.

    The integrand ``sum_j lambda_j N(z; mu_j, s_j^2) N(x; f(z), D)`` is
    evaluated with ``network.forward`` and scaled by its largest value on the
    split points so that far-away points do not underflow.  The range is the
    prior's bulk (``n_sd`` standard deviations around every mean), split at the
    breakpoints of ``f`` and at each region's posterior modes, where the
    integrand can be sharply peaked when the noise is small.

    Parameters
    ----------
    model : PushforwardModel
        With ``n_latent == 1`` and positive noise.
    x : array-like of shape (n_features,)
    epsrel : float, default=1e-12
        Relative tolerance passed to ``scipy.integrate.quad``.
    n_sd : float, default=40.0
        Half-width of the integration range in prior standard deviations.

    Returns
    -------
    float
    """
    x = np.asarray(x, dtype=float)
    prior, network = model.prior, model.network
    noise = model.noise_vector
    keep = prior.weights > 0
    lam = prior.weights[keep]
    mu = prior.means[keep, 0]
    sd = np.sqrt(prior.covariances[keep, 0, 0])
    lo = float(np.min(mu - n_sd * sd))
    hi = float(np.max(mu + n_sd * sd))

    regions = network.affine_regions()
    splits = [lo, hi]
    splits += [b for b in regions.breakpoints if lo < b < hi]
    for k in range(regions.n_regions):  # posterior modes: where narrow peaks sit
        a = regions.linear[k, :, 0] / noise
        r = (x - regions.offset[k]) / noise
        for j in range(mu.size):
            m = (a @ r + mu[j] / sd[j] ** 2) / (a @ a + 1.0 / sd[j] ** 2)
            if max(lo, regions.lower[k]) < m < min(hi, regions.upper[k]):
                splits.append(m)
    splits = np.unique(splits)

    log_norm_prior = np.log(lam) - np.log(sd) - 0.5 * _LOG_2PI
    log_norm_noise = -np.log(noise).sum() - 0.5 * x.size * _LOG_2PI

    def log_integrand(z):
        fz = network._forward(np.array([[z]]))[0]
        log_prior = np.logaddexp.reduce(log_norm_prior - 0.5 * ((z - mu) / sd) ** 2)
        return log_prior + log_norm_noise - 0.5 * (((x - fz) / noise) ** 2).sum()

    shift = max(log_integrand(z) for z in splits)
    total = 0.0
    for a, b in zip(splits[:-1], splits[1:]):
        val, _ = integrate.quad(lambda z: np.exp(log_integrand(z) - shift), a, b,
                                epsabs=0.0, epsrel=epsrel, limit=500)
        total += val
    return float(np.log(total) + shift)


def logpdf_mpmath(model, x, dps=50):
    """Closed-form log density at one point in ``dps``-digit arithmetic (mpmath).

    The same formula as :func:`logpdf_closed_form`, with every operation
    (covariance inverse, determinant, normal CDF differences) carried out in
    high precision: a reference for points far in the tails, where double
    precision textbook formulas lose digits to cancellation.

    Parameters
    ----------
    model : PushforwardModel
        With ``n_latent == 1`` and positive noise.
    x : array-like of shape (n_features,)
    dps : int, default=50
        Decimal digits of working precision.

    Returns
    -------
    float
    """
    import mpmath as mp

    with mp.workdps(dps):
        x = mp.matrix([mp.mpf(float(v)) for v in np.asarray(x, float)])
        n = len(x)
        regions = model.network.affine_regions()
        prior = model.prior
        D = mp.diag([mp.mpf(float(s)) ** 2 for s in model.noise_vector])
        total = mp.mpf(0)
        for k in range(regions.n_regions):
            a = mp.matrix([mp.mpf(float(v)) for v in regions.linear[k, :, 0]])
            c = mp.matrix([mp.mpf(float(v)) for v in regions.offset[k]])
            for j in range(prior.n_components):
                if prior.weights[j] == 0:
                    continue
                lam = mp.mpf(float(prior.weights[j]))
                mu = mp.mpf(float(prior.means[j, 0]))
                s2 = mp.mpf(float(prior.covariances[j, 0, 0]))
                C = D + s2 * (a * a.T)
                r = x - a * mu - c
                quad = (r.T * mp.inverse(C) * r)[0]
                log_norm = -(n * mp.log(2 * mp.pi) + mp.log(mp.det(C)) + quad) / 2
                Dinv_a = mp.inverse(D) * a
                post_var = 1 / (1 / s2 + (a.T * Dinv_a)[0])
                post_mean = post_var * (mu / s2 + ((x - c).T * Dinv_a)[0])
                sd = mp.sqrt(post_var)
                lo = (regions.lower[k] - post_mean) / sd if k > 0 else -mp.inf
                hi = (regions.upper[k] - post_mean) / sd if k < regions.n_regions - 1 else mp.inf
                # Reflect intervals in the upper tail so the difference is of small numbers.
                mass = mp.ncdf(-lo) - mp.ncdf(-hi) if lo > 0 else mp.ncdf(hi) - mp.ncdf(lo)
                total += lam * mp.exp(log_norm) * mass
        return float(mp.log(total))


def logpdf_slices_2d(model, x, epsrel=1e-10, n_sd=12.0):
    """Log density at one point for a 2-D latent: quadrature over ``z1`` of exact 1-D densities.

    For fixed ``z1`` the conditional prior of ``z2`` is a Gaussian mixture and
    ``z2 -> f(z1, z2)`` is a network with a 1-D input (first-layer bias
    ``b + W[:, 0] z1``), so ``p(x | z1)`` is the exact 1-D density of
    :class:`PushforwardModel` (itself checked against ``scipy.integrate.quad``).
    ``p(x) = int p(z1) p(x | z1) dz1`` is then integrated with
    ``scipy.integrate.quad``, split at the ``z1`` coordinates of the polygon
    vertices.  Shares nothing with the polygon kernel but the vertex
    coordinates used as split points.

    Parameters
    ----------
    model : PushforwardModel
        With ``n_latent == 2`` and positive noise.
    x : array-like of shape (n_features,)

    Returns
    -------
    float
    """
    from .model import GaussianMixture, PushforwardModel, ReLUNetwork

    x = np.asarray(x, float)[None]
    prior, net = model.prior, model.network
    W0, b0 = net.weights[0], net.biases[0]
    keep = np.flatnonzero(prior.weights > 0)
    lam = prior.weights[keep]
    mu = prior.means[keep]
    C = prior.covariances[keep]
    slope = C[:, 1, 0] / C[:, 0, 0]
    cond_var = C[:, 1, 1] - C[:, 1, 0] * slope
    sd0 = np.sqrt(C[:, 0, 0])
    log_lam = np.log(lam) - np.log(sd0) - 0.5 * _LOG_2PI

    def log_inner(z1):
        # p(z1) p(x | z1): the conditional prior of z2 is a mixture with
        # weights proportional to lambda_j N(z1; mu_j1, C_j11).
        log_w = log_lam - 0.5 * ((z1 - mu[:, 0]) / sd0) ** 2
        log_pz1 = np.logaddexp.reduce(log_w)
        cond = GaussianMixture(np.exp(log_w - log_pz1), (mu[:, 1] + slope * (z1 - mu[:, 0]))[:, None],
                               cond_var[:, None, None])
        sub = ReLUNetwork([W0[:, 1:2]] + list(net.weights[1:]),
                          [b0 + W0[:, 0] * z1] + list(net.biases[1:]), net.negative_slope)
        return log_pz1 + PushforwardModel(cond, sub, model.noise_vector).logpdf(x)[0]

    lo = float(np.min(mu[:, 0] - n_sd * sd0))
    hi = float(np.max(mu[:, 0] + n_sd * sd0))
    regions = net.affine_regions()
    # Far from the data the integrand is a narrow peak: find it (a coarse grid,
    # then a fine one around the coarse grid's best node, to 1/4000 of the
    # range) and split around it too.
    grid = np.linspace(lo, hi, 201)
    values = np.array([log_inner(z) for z in grid])
    best = grid[np.argmax(values)]
    coarse = grid[1] - grid[0]
    fine = np.linspace(max(lo, best - 2 * coarse), min(hi, best + 2 * coarse), 81)
    grid = np.concatenate([grid, fine])
    values = np.concatenate([values, [log_inner(z) for z in fine]])
    shift = values.max()
    peak = grid[np.argmax(values)]
    step = (hi - lo) / 1000
    splits = np.unique(np.concatenate([[lo, hi], np.clip(regions.points[:, 0], lo, hi),
                                       np.clip(peak + step * np.array([-2, -0.5, 0.5, 2]), lo, hi)]))
    total = 0.0
    for a, b in zip(splits[:-1], splits[1:]):
        if b > a:
            # full_output: quad's warnings about round-off at this tolerance are
            # expected (the inner density is exact only to ~1e-13 relative).
            total += integrate.quad(lambda z: np.exp(log_inner(z) - shift), a, b,
                                    epsabs=0.0, epsrel=epsrel, limit=200, full_output=1)[0]
    return float(np.log(total) + shift)
