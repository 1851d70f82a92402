"""Affine regions of a ReLU network with a 2-D latent: a partition into convex polygons.

For ``n_inputs == 2`` the regions on which a (leaky) ReLU network is affine
are convex polygons, some unbounded.  :func:`polygon_regions` finds them
exactly (in float64, no sampling), layer by layer, by cutting polygons along
the zero line of every hidden unit; :class:`PolygonRegions` holds the result
in the half-plane form the Gaussian polygon-mass integrals use, plus vertices
and rays, a point-location tree and plotting.
"""

import numpy as np

from .._kernels import polygon_extract, polygon_mass, polygon_split
from .._validation import check_samples

__all__ = ["PolygonRegions", "clip_to_box", "polygon_regions", "standardise_polygon"]

# Initial capacity of the search tree (it grows by doubling).
_TREE_CAPACITY = 256


class PolygonRegions:
    """Partition of the plane into convex polygons on each of which ``f`` is affine.

    On region ``k``, ``f(z) = linear[k] @ z + offset[k]``.  Regions are the
    activation regions of the network: two neighbours may carry the same map
    (e.g. across the line of a unit whose outgoing weights are zero); they are
    not merged, since their union need not be convex.

    Parameters
    ----------
    linear : ndarray of shape (n_regions, n_outputs, 2)
        Jacobian ``A_k`` of ``f`` on each region.
    offset : ndarray of shape (n_regions, n_outputs)
        ``c_k = f(z) - A_k z`` on each region.
    edge_ptr : ndarray of int of shape (n_regions + 1,)
        Region ``k`` owns edges ``edge_ptr[k]:edge_ptr[k + 1]`` (CSR layout).
    normals : ndarray of shape (n_edges_total, 2)
        Outward unit normal of each edge.
    offsets : ndarray of shape (n_edges_total,)
        Region ``k`` is ``{z : normals[e] @ z <= offsets[e] for its edges e}``.
    point_ptr, points, ray_ptr, rays : ndarray
        CSR vertex/ray description, see :meth:`vertices`.
    search_tree : tuple of ndarray, optional
        ``(node_line, node_child)``: the tree of cuts used by :meth:`locate`;
        without it points are located by a brute-force search.
    gains : list of ndarray, optional
        ``gains[l]`` of shape ``(n_regions, hidden_sizes[l])``: the slope of the
        activation of each unit of hidden layer ``l`` on each region (1 where
        active, ``negative_slope`` where not), from which the derivatives of
        the regional maps follow (:meth:`ReLUNetwork.map_jacobians`).

    Attributes
    ----------
    n_regions : int
    n_outputs : int
    n_inputs : int
        Always 2.
    n_edges : ndarray of int of shape (n_regions,)
        Number of edges (facets) of each region.
    bounded : ndarray of bool of shape (n_regions,)

    Notes
    -----
    **Half-plane form** (the representation the Gaussian polygon-mass
    integrals use).  The edges of a region are non-redundant (each is a facet)
    and sorted strictly counterclockwise: their angles
    ``arctan2(normals[:, 1], normals[:, 0])``, in ``(-pi, pi]``, strictly
    increase within the region (by more than ``2**-46``: lines closer in
    direction count as parallel and only the tighter one is kept).
    Consecutive normals therefore turn counterclockwise; the region is bounded
    iff every angular gap between cyclically consecutive normals is below
    ``pi``.  The whole plane (a network without hidden layers, or whose hidden
    units are all constant) has zero edges; a half-plane has one edge, a
    strip two antiparallel ones.  A facet can have length 0 in float64 (the
    end of a sliver narrower than an ulp).

    **Vertex form**, from :meth:`vertices`, computed from the half-planes
    (intersections of consecutive edge lines), so the two forms agree:
    ``region k = conv(points) + cone(rays)``.  For a bounded region the points
    are its vertices in counterclockwise order and there are no rays.  For an
    unbounded region with a vertex, the points are its vertices in
    counterclockwise boundary order and there are two rays (possibly equal):
    ``rays[0]`` is the direction of the unbounded edge leaving ``points[-1]``,
    ``rays[1]`` that of the unbounded edge through ``points[0]``, both
    pointing to infinity.  A region without a vertex (the plane, a half-plane
    or a strip, only possible when all its boundary lines are parallel) gets
    the feet of the origin on its lines (the origin for the plane) as points
    and rays spanning its recession cone.

    **Boundaries.**  Every point of the plane belongs to exactly one region
    for :meth:`locate`: a point on a cut line goes to the side where the
    unit's pre-activation is ``<= 0`` (inactive), like ``network.forward``.

    Examples
    --------
    >>> import numpy as np
    >>> from pwaffine import ReLUNetwork
    >>> from pwaffine.model.polygons import polygon_regions
    >>> f = ReLUNetwork([np.eye(2), [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])  # relu(z1) + relu(z2)
    >>> regions = polygon_regions(f)
    >>> regions.n_regions
    4
    >>> k = regions.locate([[1.0, 2.0]])[0]  # the positive quadrant
    >>> regions.linear[k], regions.offset[k]
    (array([[1., 1.]]), array([0.]))
    >>> normals, offsets = regions.halfplanes(k)  # {z1 >= 0, z2 >= 0}, by normal angle
    >>> normals, offsets
    (array([[ 0., -1.],
           [-1.,  0.]]), array([0., 0.]))
    >>> points, rays = regions.vertices(k)
    >>> points, rays
    (array([[0., 0.]]), array([[1., 0.],
           [0., 1.]]))
    """

    n_inputs = 2

    def __init__(self, linear, offset, edge_ptr, normals, offsets, point_ptr, points,
                 ray_ptr, rays, search_tree=None, gains=None):
        self.linear = np.ascontiguousarray(linear, dtype=np.float64)
        self.offset = np.ascontiguousarray(offset, dtype=np.float64)
        self.edge_ptr = np.ascontiguousarray(edge_ptr, dtype=np.int64)
        self.normals = np.ascontiguousarray(normals, dtype=np.float64).reshape(-1, 2)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.float64)
        self.point_ptr = np.ascontiguousarray(point_ptr, dtype=np.int64)
        self.points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
        self.ray_ptr = np.ascontiguousarray(ray_ptr, dtype=np.int64)
        self.rays = np.ascontiguousarray(rays, dtype=np.float64).reshape(-1, 2)
        n = self.linear.shape[0]
        for name in ("edge_ptr", "point_ptr", "ray_ptr"):
            if getattr(self, name).shape != (n + 1,):
                raise ValueError(f"{name} must have shape ({n + 1},); "
                                 f"got {getattr(self, name).shape}")
        if self.offset.shape != self.linear.shape[:2] or self.linear.shape[2:] != (2,):
            raise ValueError(f"linear must have shape (n_regions, n_outputs, 2) and offset "
                             f"(n_regions, n_outputs); got {self.linear.shape} and "
                             f"{self.offset.shape}")
        if self.normals.shape[0] != self.edge_ptr[-1] or self.offsets.shape != (self.edge_ptr[-1],):
            raise ValueError("normals and offsets must have edge_ptr[-1] rows")
        self.gains = [np.ascontiguousarray(g, dtype=np.float64) for g in (gains or [])]
        self._tree = None
        if search_tree is not None:
            node_line, node_child = search_tree
            self._tree = (np.ascontiguousarray(node_line, dtype=np.float64),
                          np.ascontiguousarray(node_child, dtype=np.int64))
        for arr in (self.linear, self.offset, self.edge_ptr, self.normals, self.offsets,
                    self.point_ptr, self.points, self.ray_ptr, self.rays):
            arr.setflags(write=False)

    # ------------------------------------------------------------------ shape
    @property
    def n_regions(self):
        return self.linear.shape[0]

    @property
    def n_outputs(self):
        return self.linear.shape[1]

    @property
    def n_edges(self):
        return np.diff(self.edge_ptr)

    @property
    def bounded(self):
        return np.diff(self.ray_ptr) == 0

    def __repr__(self):
        return (f"PolygonRegions(n_regions={self.n_regions}, n_outputs={self.n_outputs}, "
                f"n_bounded={int(self.bounded.sum())})")

    # ------------------------------------------------------------- geometry
    def halfplanes(self, k):
        """Half-plane description of region ``k``.

        Parameters
        ----------
        k : int

        Returns
        -------
        normals : ndarray of shape (n_edges, 2)
            Outward unit normals, sorted strictly counterclockwise by angle.
        offsets : ndarray of shape (n_edges,)
            Region ``k`` is ``{z : normals @ z <= offsets}``.
        """
        k = self._check_region(k)
        sl = slice(self.edge_ptr[k], self.edge_ptr[k + 1])
        return self.normals[sl].copy(), self.offsets[sl].copy()

    def vertices(self, k):
        """Vertices and rays of region ``k``: the region is ``conv(points) + cone(rays)``.

        Parameters
        ----------
        k : int

        Returns
        -------
        points : ndarray of shape (n_points, 2)
            The vertices in counterclockwise order (see the class Notes for
            regions without a vertex).
        rays : ndarray of shape (n_rays, 2)
            Unit directions; none for a bounded region, two for an unbounded
            region with a vertex: ``rays[0]`` leaves ``points[-1]`` and
            ``rays[1]`` leads to ``points[0]`` (pointing towards infinity).
        """
        k = self._check_region(k)
        points = self.points[self.point_ptr[k]:self.point_ptr[k + 1]].copy()
        rays = self.rays[self.ray_ptr[k]:self.ray_ptr[k + 1]].copy()
        return points, rays

    def _check_region(self, k):
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"region index must be an integer; got {k!r:.80}")
        if not -self.n_regions <= k < self.n_regions:
            raise ValueError(f"region index {k} out of range for {self.n_regions} regions")
        return int(k) % self.n_regions

    def log_prior_masses(self, prior):
        """Log prior probability of each region.

        Parameters
        ----------
        prior : GaussianMixture
            A mixture on the plane.

        Returns
        -------
        ndarray of shape (n_regions,)
        """
        if prior.n_features != 2:
            raise ValueError(f"prior must be 2-dimensional; got n_features={prior.n_features}")
        K = self.n_regions
        counts = np.diff(self.edge_ptr)
        width = max(int(counts.max()), 1)
        has_edges = counts > 0
        out = np.full(K, -np.inf)
        for j in np.flatnonzero(prior.weights > 0):
            nx, ny, h = np.zeros((K, width)), np.zeros((K, width)), np.zeros((K, width))
            for k in np.flatnonzero(has_edges):
                lo, hi = self.edge_ptr[k], self.edge_ptr[k + 1]
                a, b = self.normals[lo:hi], self.offsets[lo:hi]
                order, unit, norm = standardise_polygon(a, prior.cholesky[j])
                nx[k, :hi - lo], ny[k, :hi - lo] = unit[:, 0], unit[:, 1]
                h[k, :hi - lo] = (b[order] - a[order] @ prior.means[j]) / norm
            log_mass = np.zeros(K)  # a region without edges is the whole plane
            if has_edges.any():
                sub = np.empty(int(has_edges.sum()))
                polygon_mass.log_std_polygon_mass_many(
                    nx[has_edges], ny[has_edges], h[has_edges], counts[has_edges], sub)
                log_mass[has_edges] = sub
            out = np.logaddexp(out, np.log(prior.weights[j]) + log_mass)
        return out

    # ------------------------------------------------------------- points
    def locate(self, Z):
        """Index of the region holding each point.

        Parameters
        ----------
        Z : array-like of shape (n_samples, 2)

        Returns
        -------
        ndarray of int of shape (n_samples,)
            Every point gets exactly one region; a point on a boundary goes,
            deterministically, to the side where the cut unit is inactive.
        """
        Z = check_samples(Z, 2, "Z")
        return self._locate(Z)

    def _locate(self, Z):
        out = np.empty(Z.shape[0], dtype=np.int64)
        if self._tree is not None:
            polygon_extract.locate_tree(Z, self._tree[0], self._tree[1], out)
            return out
        # Brute force: the region whose worst constraint is least violated.
        region_of_edge = np.repeat(np.arange(self.n_regions), self.n_edges)
        for start in range(0, Z.shape[0], 256):
            viol = Z[start:start + 256] @ self.normals.T - self.offsets
            worst = np.full((viol.shape[0], self.n_regions), -np.inf)
            np.maximum.at(worst.T, region_of_edge, viol.T)
            out[start:start + 256] = np.argmin(worst, axis=1)
        return out

    def evaluate(self, Z):
        """Apply each point's regional affine map; equals ``network.forward(Z)``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, 2)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        Z = check_samples(Z, 2, "Z")
        k = self._locate(Z)
        return np.einsum("sij,sj->si", self.linear[k], Z) + self.offset[k]

    # ------------------------------------------------------------- plotting
    def plot(self, ax=None, xlim=None, ylim=None, edgecolor="0.2", linewidth=0.4, **kwargs):
        """Draw the regions clipped to a box, each with its own face colour.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        xlim, ylim : (float, float), optional
            The box; by default the range of the vertices plus a margin
            (``(-3, 3)`` when there are none).
        edgecolor, linewidth
            Style of the region boundaries.
        **kwargs
            Passed to :class:`matplotlib.collections.PolyCollection`.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import PolyCollection
        from matplotlib.colors import hsv_to_rgb

        if ax is None:
            ax = plt.gca()
        finite = self.points
        for lim, col in ((xlim, 0), (ylim, 1)):
            if lim is None:
                if finite.shape[0]:
                    lo, hi = finite[:, col].min(), finite[:, col].max()
                    pad = max(1.0, 0.25 * (hi - lo))
                    lim = (lo - pad, hi + pad)
                else:
                    lim = (-3.0, 3.0)
            if col == 0:
                xlim = lim
            else:
                ylim = lim
        polygons, colors = [], []
        for k in range(self.n_regions):
            sl = slice(self.edge_ptr[k], self.edge_ptr[k + 1])
            poly = clip_to_box(self.normals[sl], self.offsets[sl], xlim, ylim)
            if poly.shape[0] >= 3:
                polygons.append(poly)
                # Golden-ratio hues: neighbours in creation order differ most.
                colors.append(hsv_to_rgb(((0.618033988749895 * k) % 1.0, 0.45, 0.95)))
        ax.add_collection(PolyCollection(polygons, facecolors=colors, edgecolors=edgecolor,
                                         linewidths=linewidth, **kwargs))
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        return ax


def clip_to_box(normals, offsets, xlim, ylim):
    """Vertices of ``{z : normals @ z <= offsets}`` inside a box (Sutherland-Hodgman)."""
    poly = np.array([[xlim[0], ylim[0]], [xlim[1], ylim[0]],
                     [xlim[1], ylim[1]], [xlim[0], ylim[1]]])
    for n, o in zip(normals, offsets):
        if poly.shape[0] == 0:
            break
        s = poly @ n - o
        nxt = np.roll(np.arange(poly.shape[0]), -1)
        out = []
        for i, j in zip(range(poly.shape[0]), nxt):
            if s[i] <= 0:
                out.append(poly[i])
            if (s[i] < 0 < s[j]) or (s[j] < 0 < s[i]):
                out.append(poly[i] + s[i] / (s[i] - s[j]) * (poly[j] - poly[i]))
        poly = np.array(out).reshape(-1, 2)
    return poly


def polygon_regions(network):
    """Exact affine regions of a network with a 2-D input.

    Parameters
    ----------
    network : ReLUNetwork
        Must have ``n_inputs == 2``; plain or leaky ReLU.

    Returns
    -------
    PolygonRegions

    Notes
    -----
    Layer by layer: the current polygons (initially the whole plane) each
    carry the affine pre-activation map ``z -> A z + c`` of the next hidden
    layer.  Each polygon is cut along the zero line of every unit of that
    layer in turn; the activation pattern of each piece (read off the cut, not
    evaluated) gives its next map ``W D (A z + c) + b`` with ``D`` the
    diagonal of gains ``1`` (active) or ``negative_slope``.

    Polygons are cyclic vertex lists in homogeneous coordinates, so unbounded
    polygons are exact (their points at infinity are directions) and one
    clipping routine (Sutherland-Hodgman) serves all; each edge carries the
    line it lies on.  Robustness:

    * each vertex is classified once per line as ``+``, ``-`` or on the line,
      with a tolerance of ~64 ulp of its own size (directions within
      ``2**-46`` count as parallel), and *both* pieces are built from that one
      classification, so they tile the polygon whatever the rounding; a
      polygon is cut only if it has vertices strictly on both sides, so no
      piece has zero area;
    * a polygon whose vertices are all far away (a long strip between nearly
      parallel lines) has wide tolerances; the foot of the origin on each of
      its edges is tested too, and added as a vertex if it disagrees;
    * a crossing is the intersection of the cut with the edge's own line by
      backward-stable elimination, accurate relative to its own size, and
      bit-identical for the two polygons sharing the edge;
    * at a vertex on the line, the piece keeps a zero-length edge on each
      line through the vertex, so no constraint is lost to the tolerance;
      the final half-plane lists drop edges at infinity, merge runs of one
      line, prune edges a proper corner of their neighbours satisfies, and
      sort by angle;
    * a pre-activation gradient (or constant) below its own rounding-error
      bound ``n * eps * sum |terms|`` is set to zero, so cancellations give
      exactly constant units or lines through the origin instead of lines at
      ``1e16``; a unit with zero gradient is active iff its constant is positive.

    Limitation: where lines that are parallel to within ~1e-12 (or 1e-15)
    meet far out (at ~1e12 or 1e15) a region there can be narrower than the
    rounding of its coordinates, and is defined only to that rounding.

    Every cut is recorded in a binary search tree used by
    :meth:`PolygonRegions.locate`.
    """
    if not all(hasattr(network, a) for a in ("n_inputs", "weights", "biases", "negative_slope")):
        raise ValueError(f"network must be a ReLUNetwork; got {type(network).__name__}")
    if network.n_inputs != 2:
        raise ValueError(f"polygon_regions needs a network with n_inputs == 2; "
                         f"got n_inputs={network.n_inputs}")
    return _polygon_regions(network.weights, network.biases, network.negative_slope)


def _polygon_regions(weights, biases, negative_slope):
    """Core of :func:`polygon_regions` on validated float64 layers."""
    # The whole plane: the "square at infinity".
    ptr = np.array([0, 4], dtype=np.int64)
    V = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    E = np.zeros((4, 3))
    L = np.full(4, polygon_split._AT_INFINITY, dtype=np.int64)
    slot = np.zeros(1, dtype=np.int64)
    # Tree node 0: a root whose zero line sends every point to child 0.
    node_line = np.zeros((_TREE_CAPACITY, 3))
    node_child = np.full((_TREE_CAPACITY, 2), -1, dtype=np.int64)
    n_nodes, next_line = 1, 0

    # Writable copies: the network's arrays are read-only, and numba would
    # compile a second version of each kernel for those.
    A = np.array(weights[0][None])
    c = np.array(biases[0][None])
    n_layers = len(weights)
    gains = []  # per hidden layer: the activation slope of each unit on each current polygon
    for layer in range(1, n_layers):
        (ptr, V, E, L, slot, parent, active, node_line, node_child,
         n_nodes, next_line) = polygon_split.split_polygons(
            ptr, V, E, L, slot, A, c, node_line, node_child, n_nodes, next_line)
        gains = [g[parent] for g in gains]
        gains.append(np.where(active.astype(bool), 1.0, float(negative_slope)))
        W, b = np.array(weights[layer]), np.array(biases[layer])
        A_next = np.empty((parent.shape[0], W.shape[0], 2))
        c_next = np.empty((parent.shape[0], W.shape[0]))
        polygon_split.next_maps(A, c, parent, active, float(negative_slope), W, b,
                                layer < n_layers - 1, A_next, c_next)
        A, c = A_next, c_next
    n_regions = ptr.shape[0] - 1
    node_child = node_child[:n_nodes].copy()
    node_child[slot // 2, slot % 2] = -(np.arange(n_regions) + 1)
    edge_ptr, normals, offsets, n_dropped = polygon_extract.extract_regions(ptr, V, E, L)
    point_ptr, points, ray_ptr, rays = polygon_extract.halfplane_vertices(
        edge_ptr, normals, offsets)
    regions = PolygonRegions(A, c, edge_ptr, normals, offsets, point_ptr, points,
                             ray_ptr, rays, search_tree=(node_line[:n_nodes], node_child),
                             gains=gains)
    regions._n_dropped_edges = int(n_dropped)
    return regions



def standardise_polygon(normals, chol):
    """Half-planes ``a . z <= b`` in the coordinates ``u = chol^-1 (z - mean)``.

    ``a . z <= b`` becomes ``(chol^T a) . u <= b - a . mean``; dividing by
    ``|chol^T a|`` gives unit normals.  ``chol`` must have a positive
    determinant, so that ``chol^T`` preserves orientation and the
    counterclockwise order survives; it is restarted at the smallest
    ``atan2`` angle, the order the polygon-mass kernel expects.

    Parameters
    ----------
    normals : ndarray of shape (n_edges, 2)
        Unit normals sorted counterclockwise.
    chol : ndarray of shape (2, 2)
        A square root of the Gaussian's covariance (``chol @ chol.T``) with a
        positive determinant, e.g. its lower Cholesky factor.

    Returns
    -------
    order : ndarray of int of shape (n_edges,)
        Permutation of the edges.
    unit : ndarray of shape (n_edges, 2)
        Standardised unit normals, in the new order.
    norm : ndarray of shape (n_edges,)
        ``|chol^T a|`` in the new order: new offsets are
        ``(b[order] - normals[order] @ mean) / norm``.
    """
    la = normals @ chol  # rows: (chol^T a)^T
    norm = np.linalg.norm(la, axis=1)
    unit = la / norm[:, None]
    start = int(np.argmin(np.arctan2(unit[:, 1], unit[:, 0])))
    order = np.roll(np.arange(len(normals)), -start)
    return order, unit[order], norm[order]
