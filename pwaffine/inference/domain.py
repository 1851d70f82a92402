"""Where a model's ``P(X)`` has its mass: the one domain of every quadrature over ``x``.

The law of ``x = f(z) + eps`` puts all but a negligible fraction of its mass
within ``NOISE_N_SD`` noise standard deviations of the image, under ``f``, of
the latent box spanned by ``LATENT_N_SD`` standard deviations around every
prior component of positive weight: the prior's mass outside the box is below
``J * 2 * Phi(-10) ~ 2e-23 * J`` per coordinate and the noise's mass beyond
ten standard deviations is below ``n * 2e-23``.  :func:`observation_domain`
covers that set with quadrature cells: panels for ``n = 1``, squares for
``n = 2``, of width ``panel_width`` times the smallest noise standard
deviation.  The image is computed exactly from the affine regions (each
region's part inside the latent box, mapped by its affine map), for 1-D and
2-D latents alike, so that the truth's kinks fall on panel edges for ``n = 1``.

:class:`~pwaffine.PopulationNLL` and :func:`~pwaffine.fisher_information`
integrate over this domain; nothing else builds one.
"""

from dataclasses import dataclass

import numpy as np

from ..model.polygons import clip_to_box
from . import quadrature

__all__ = ["LATENT_N_SD", "NOISE_N_SD", "ObservationDomain", "image_pieces", "latent_box",
           "observation_domain"]

#: Half-width, in prior standard deviations, of the latent box whose image
#: carries the law's mass.
LATENT_N_SD = 10.0
#: Padding of that image, in noise standard deviations.
NOISE_N_SD = 10.0


@dataclass(frozen=True)
class ObservationDomain:
    """Quadrature cells covering a model's ``P(X)`` (see :func:`observation_domain`).

    Attributes
    ----------
    n_features : int
        1 or 2.
    edges : ndarray of shape (n_panels + 1,)
        Panel boundaries (``n_features == 1``); empty otherwise.
    lower : ndarray of shape (n_cells, 2)
        Lower-left corners of the squares (``n_features == 2``); empty otherwise.
    size : float
        Panel width or square side.
    """

    n_features: int
    edges: np.ndarray
    lower: np.ndarray
    size: float

    @property
    def n_cells(self):
        return self.edges.size - 1 if self.n_features == 1 else self.lower.shape[0]

    def nodes(self, rule="kronrod"):
        """Nodes and weights of a fixed rule on every cell.

        Parameters
        ----------
        rule : {"kronrod", "gauss"}
            The 15-point Gauss-Kronrod rule, or its embedded 7-point Gauss
            rule, per panel (tensor products on squares).

        Returns
        -------
        X : ndarray of shape (n_nodes, n_features)
        weights : ndarray of shape (n_nodes,)
        """
        if self.n_features == 1:
            x, w = quadrature.panel_nodes(self.edges, rule)
            return x[:, None], w
        return quadrature.square_nodes(self.lower, self.size, rule)

    def integrate(self, fn, tol):
        """Adaptive integral of ``fn`` over the cells (see :mod:`.quadrature`).

        ``tol=inf`` gives the fixed Kronrod rule on the starting cells.

        Returns
        -------
        value, error : float
        """
        if self.n_features == 1:
            return quadrature.integrate_1d(lambda x: fn(x[:, None]), self.edges, tol)
        return quadrature.integrate_2d(fn, self.lower, self.size, tol)


def latent_box(prior, n_sd=LATENT_N_SD):
    """``(lower, upper)`` of the box ``mean +- n_sd sd`` around every component of positive weight."""
    keep = prior.weights > 0
    sd = np.sqrt(np.diagonal(prior.covariances[keep], axis1=1, axis2=2))
    lower = (prior.means[keep] - n_sd * sd).min(axis=0)
    upper = (prior.means[keep] + n_sd * sd).max(axis=0)
    return lower, upper


def image_pieces(model, n_sd=LATENT_N_SD):
    """Images of the regions' parts inside the latent box.

    Returns
    -------
    list of ndarray
        One ``(n_vertices, n_features)`` array per region meeting the box: the
        images of the vertices of the region's part inside the box (two
        points for a 1-D latent; the polygon's vertices for a 2-D latent).
        Each image piece is the convex hull of its points.
    """
    regions = model.network.affine_regions()
    lower, upper = latent_box(model.prior, n_sd)
    pieces = []
    for k in range(regions.n_regions):
        if model.n_latent == 1:
            lo = max(regions.lower[k], lower[0])
            hi = min(regions.upper[k], upper[0])
            if not hi > lo:
                continue
            Z = np.array([[lo], [hi]])
        else:
            normals, offsets = regions.halfplanes(k)
            Z = clip_to_box(normals, offsets, (lower[0], upper[0]), (lower[1], upper[1]))
            if Z.shape[0] == 0:
                continue
        pieces.append(Z @ regions.linear[k].T + regions.offset[k])
    return pieces


def observation_domain(model, panel_width=1.0):
    """Quadrature cells covering the mass of a noisy model's ``P(X)``, for ``n <= 2``.

    Parameters
    ----------
    model : PushforwardModel
        Noisy, ``n_features`` 1 or 2.
    panel_width : float, default=1.0
        Panel width or square side, in units of the smallest noise standard
        deviation.

    Returns
    -------
    ObservationDomain
    """
    noise = model.noise_vector
    pieces = image_pieces(model)
    points = np.concatenate(pieces, axis=0)
    pad = NOISE_N_SD * noise
    size = panel_width * float(noise.min())
    lo = points.min(axis=0) - pad
    hi = points.max(axis=0) + pad
    if model.n_features == 1:
        n_panels = max(1, int(np.ceil((hi[0] - lo[0]) / size)))
        edges = np.linspace(lo[0], hi[0], n_panels + 1)
        kinks = points[:, 0]
        edges = np.unique(np.concatenate([edges, kinks[(kinks > lo[0]) & (kinks < hi[0])]]))
        return ObservationDomain(1, edges, np.empty((0, 2)), float(size))
    counts = np.ceil((hi - lo) / size).astype(int)
    gx, gy = (lo[t] + size * np.arange(counts[t]) for t in range(2))
    lower = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1).reshape(-1, 2)
    centers = lower + 0.5 * size
    # Keep the squares within NOISE_N_SD noise sds (plus half a diagonal) of the image.
    reach = NOISE_N_SD + 0.75 * size / noise.min()
    keep = np.zeros(len(lower), bool)
    for piece in pieces:
        keep |= _noise_distance_sq(centers, piece, noise) <= reach**2
    return ObservationDomain(2, np.empty(0), lower[keep], float(size))


def _noise_distance_sq(points, piece, noise):
    """Squared distance, in noise units, from each point to the convex hull of ``piece`` (2-D)."""
    P = points / noise
    V = piece / noise
    best = np.full(P.shape[0], np.inf)
    hull = _convex_hull(V)
    if hull.shape[0] >= 3:
        # Inside the hull: distance 0 (counterclockwise hull: left of every edge).
        inside = np.ones(P.shape[0], bool)
        for a, b in zip(hull, np.roll(hull, -1, axis=0)):
            e = b - a
            inside &= (e[0] * (P[:, 1] - a[1]) - e[1] * (P[:, 0] - a[0])) >= 0
        best[inside] = 0.0
    edges = zip(hull, np.roll(hull, -1, axis=0)) if hull.shape[0] > 1 else [(hull[0], hull[0])]
    for a, b in edges:
        d = b - a
        t = np.clip(((P - a) @ d) / max(d @ d, 1e-300), 0.0, 1.0)
        r = P - a - t[:, None] * d
        best = np.minimum(best, np.einsum("ij,ij->i", r, r))
    return best


def _convex_hull(V):
    """Counterclockwise convex hull of a few 2-D points (monotone chain); collinear points collapse."""
    pts = np.unique(V, axis=0)
    if pts.shape[0] <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])
