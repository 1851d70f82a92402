"""The final polygons of the region enumeration: half-planes, vertices and rays, point location.

* :func:`extract_regions`: the non-redundant, angle-sorted half-plane
  description of each polygon left by :mod:`.polygon_split`;
* :func:`halfplane_vertices`: its vertices and rays, computed from the
  half-planes so that the two descriptions agree;
* :func:`locate_tree`: the region of each point, by descending the tree of cuts.
"""

import math

import numba as nb
import numpy as np

from ._jit import kernel, parallel_kernel
from .polygon_split import _AT_INFINITY, _PRUNE_MIN_TURN, _SIDE_RTOL, _intersect


@kernel
def extract_regions(ptr, V, E, L):
    """Half-plane descriptions of the final polygons.

    Consecutive edges on the same line are merged and edges at infinity
    dropped.  An edge between two edges that meet in a proper corner ``X``
    (turning by less than ``pi``; the three lines pairwise at angles above
    ``_PRUNE_MIN_TURN``) is redundant when ``X`` satisfies its constraint up
    to the cut tolerance;
    such edges (the zero-length edges kept at vertices on a cut) are removed
    until none is left.  The rest are
    sorted by normal angle (``atan2(ny, nx)`` in ``(-pi, pi]``); of two edges
    whose angles differ by at most ``_SIDE_RTOL`` (parallel for the cuts, and
    far more than the ulp by which two ``atan2`` implementations may differ)
    only the tighter constraint is kept, and the other is counted as dropped.

    Returns
    -------
    edge_ptr, normals, offsets, n_dropped
    """
    n_poly = ptr.shape[0] - 1
    n_vert = V.shape[0]
    edge_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    normals = np.empty((n_vert, 2))
    offsets = np.empty(n_vert)
    n_edges = 0
    n_dropped = 0
    idx = np.empty(64, dtype=np.int64)
    gap = np.empty(64, dtype=np.bool_)
    nxt = np.empty(64, dtype=np.int64)
    prv = np.empty(64, dtype=np.int64)
    ang = np.empty(64)
    for k in range(n_poly):
        s = ptr[k]
        cnt = ptr[k + 1] - s
        if idx.shape[0] < cnt:
            idx = np.empty(2 * cnt, dtype=np.int64)
            gap = np.empty(2 * cnt, dtype=np.bool_)
            nxt = np.empty(2 * cnt, dtype=np.int64)
            prv = np.empty(2 * cnt, dtype=np.int64)
            ang = np.empty(2 * cnt)
        # Edges in boundary order, one per run of a line; gap[t]: the
        # boundary passes through infinity just before edge t.
        i0 = 0
        for i in range(cnt):
            if L[s + i] != L[s + (i - 1) % cnt]:
                i0 = i
                break
        m = 0
        last = _AT_INFINITY
        pending = False
        for t in range(cnt):
            i = s + (i0 + t) % cnt
            if L[i] == _AT_INFINITY:
                pending = True
            elif m == 0 or L[i] != last:
                idx[m] = i
                gap[m] = pending
                pending = False
                m += 1
            last = L[i]
        if m > 1 and not pending and not gap[0] and L[idx[0]] == L[idx[m - 1]]:
            m -= 1
        if m > 0:
            gap[0] = gap[0] or pending
        # Prune redundant edges.
        for t in range(m):
            nxt[t] = (t + 1) % m
            prv[t] = (t - 1) % m
        alive = m
        head = 0
        changed = True
        while changed and alive >= 3:
            changed = False
            t = head
            for _ in range(alive):
                a = prv[t]
                b = nxt[t]
                c = nxt[t]
                if not gap[t] and not gap[b]:
                    ea = idx[a]
                    eb = idx[b]
                    et = idx[t]
                    turn = E[ea, 0] * E[eb, 1] - E[ea, 1] * E[eb, 0]
                    turn_a = E[ea, 0] * E[et, 1] - E[ea, 1] * E[et, 0]
                    turn_b = E[et, 0] * E[eb, 1] - E[et, 1] * E[eb, 0]
                    if min(turn, abs(turn_a), abs(turn_b)) > _PRUNE_MIN_TURN:
                        x, y = _intersect(E[ea, 0], E[ea, 1], E[ea, 2],
                                          E[eb, 0], E[eb, 1], E[eb, 2])
                        slack = E[et, 0] * x + E[et, 1] * y - E[et, 2]
                        tol = _SIDE_RTOL * (abs(x) + abs(y) + abs(E[et, 2]))
                        if slack <= tol:
                            nxt[a] = b
                            prv[b] = a
                            if head == t:
                                head = b
                            alive -= 1
                            changed = True
                            if alive < 3:
                                break
                t = c
        # Sort by angle (for a convex boundary this only rotates it; a
        # boundary made slightly non-convex by rounding gets sorted too).
        t = head
        for r in range(alive):
            ang[r] = math.atan2(E[idx[t], 1], E[idx[t], 0])
            prv[r] = idx[t]
            t = nxt[t]
        order = np.argsort(ang[:alive])
        prev = -math.inf
        for r in range(alive):
            i = prv[order[r]]
            a = ang[order[r]]
            if a > prev + _SIDE_RTOL:
                normals[n_edges, 0] = E[i, 0]
                normals[n_edges, 1] = E[i, 1]
                offsets[n_edges] = E[i, 2]
                n_edges += 1
                prev = a
            else:
                # Parallel for the cuts: keep the tighter constraint.
                if E[i, 2] < offsets[n_edges - 1]:
                    normals[n_edges - 1, 0] = E[i, 0]
                    normals[n_edges - 1, 1] = E[i, 1]
                    offsets[n_edges - 1] = E[i, 2]
                n_dropped += 1
        edge_ptr[k + 1] = n_edges
    return edge_ptr, normals[:n_edges].copy(), offsets[:n_edges].copy(), n_dropped


@kernel
def _is_antiparallel(n, m):
    """Whether unit vectors ``n, m`` point in opposite directions within ``_SIDE_RTOL``."""
    return n[0] * m[0] + n[1] * m[1] < 0.0 and abs(n[0] * m[1] - n[1] * m[0]) <= _SIDE_RTOL


@kernel
def halfplane_vertices(edge_ptr, normals, offsets):
    """Vertices and rays of every region, from its sorted half-planes.

    The largest angular gap between cyclically consecutive normals decides:
    below ``pi`` (less the parallel tolerance) the region is bounded and its
    vertices are the intersections
    of consecutive edge lines; otherwise the gap is the region's opening to
    infinity, the chain of edges after it gives the vertices, and the first
    and last edge directions give the two rays (``rays[0]`` leaving the last
    vertex, ``rays[1]`` leading to the first).  Without a vertex (the plane,
    a half-plane, or a strip of two antiparallel normals) the points are the
    feet of the origin on the lines (the origin for the plane) and the rays
    span the recession cone.

    Returns
    -------
    point_ptr, points, ray_ptr, rays
    """
    n_poly = edge_ptr.shape[0] - 1
    n_edges = normals.shape[0]
    point_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    points = np.empty((n_edges + n_poly, 2))
    ray_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    rays = np.empty((n_edges + 4 * n_poly, 2))
    n_points = 0
    n_rays = 0
    for k in range(n_poly):
        s = edge_ptr[k]
        m = edge_ptr[k + 1] - s
        if m == 0:
            points[n_points, 0] = 0.0
            points[n_points, 1] = 0.0
            n_points += 1
            rays[n_rays, 0] = 1.0
            rays[n_rays, 1] = 0.0
            rays[n_rays + 1, 0] = 0.0
            rays[n_rays + 1, 1] = 1.0
            rays[n_rays + 2, 0] = -1.0
            rays[n_rays + 2, 1] = 0.0
            rays[n_rays + 3, 0] = 0.0
            rays[n_rays + 3, 1] = -1.0
            n_rays += 4
        elif m == 1 or (m == 2 and _is_antiparallel(normals[s], normals[s + 1])):
            for e in range(s, s + m):
                points[n_points, 0] = offsets[e] * normals[e, 0] + 0.0
                points[n_points, 1] = offsets[e] * normals[e, 1] + 0.0
                n_points += 1
            rays[n_rays, 0] = -normals[s, 1] + 0.0
            rays[n_rays, 1] = normals[s, 0] + 0.0
            rays[n_rays + 1, 0] = normals[s, 1] + 0.0
            rays[n_rays + 1, 1] = -normals[s, 0] + 0.0
            n_rays += 2
            if m == 1:
                rays[n_rays, 0] = -normals[s, 0] + 0.0
                rays[n_rays, 1] = -normals[s, 1] + 0.0
                n_rays += 1
        else:
            # Largest gap between consecutive normal angles (cyclically).
            gap_end = 0
            gap = -1.0
            for t in range(m):
                a = math.atan2(normals[s + t, 1], normals[s + t, 0])
                b = math.atan2(normals[s + (t + 1) % m, 1], normals[s + (t + 1) % m, 0])
                g = b - a if t + 1 < m else b + 2.0 * math.pi - a
                if g > gap:
                    gap = g
                    gap_end = (t + 1) % m
            # Directions within the cut tolerance count as parallel, as in
            # the cuts: a gap of pi up to that opens to infinity.
            bounded = gap < math.pi - _SIDE_RTOL
            n_vertices = m if bounded else m - 1
            for t in range(n_vertices):
                e = s + (gap_end + t) % m
                f = s + (gap_end + t + 1) % m
                x, y = _intersect(normals[e, 0], normals[e, 1], offsets[e],
                                  normals[f, 0], normals[f, 1], offsets[f])
                points[n_points, 0] = x + 0.0
                points[n_points, 1] = y + 0.0
                n_points += 1
            if not bounded:
                last = s + (gap_end + m - 1) % m
                first = s + gap_end
                rays[n_rays, 0] = -normals[last, 1] + 0.0
                rays[n_rays, 1] = normals[last, 0] + 0.0
                rays[n_rays + 1, 0] = normals[first, 1] + 0.0
                rays[n_rays + 1, 1] = -normals[first, 0] + 0.0
                n_rays += 2
        point_ptr[k + 1] = n_points
        ray_ptr[k + 1] = n_rays
    return point_ptr, points[:n_points].copy(), ray_ptr, rays[:n_rays].copy()


# --------------------------------------------------------------------------
# Point location
# --------------------------------------------------------------------------
@parallel_kernel
def locate_tree(Z, node_line, node_child, out):
    """Region of each point by descending the tree of cuts.

    At node ``t`` a point goes to child 1 if ``u . z + d > 0`` (the unit is
    active) and to child 0 otherwise; a negative child ``-(k + 1)`` is region
    ``k``.  Node 0 is a root with a zero line, so every point takes its
    child 0.
    """
    for i in nb.prange(Z.shape[0]):
        x = Z[i, 0]
        y = Z[i, 1]
        t = 0
        while True:
            s = node_line[t, 0] * x + node_line[t, 1] * y + node_line[t, 2]
            nxt = node_child[t, 1] if s > 0.0 else node_child[t, 0]
            if nxt < 0:
                out[i] = -nxt - 1
                break
            t = nxt
