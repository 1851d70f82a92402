"""Affine regions of a network with a 2-D input: convex polygons cut along unit lines.

Geometry is done in homogeneous coordinates of the oriented projective plane:
a vertex is ``(x, y, w)`` with ``w = 1`` for a finite point and ``w = 0`` for a
point at infinity, i.e. a unit direction.  A convex polygon, bounded or not,
is the cyclic counterclockwise list of its vertices, each carrying its
*outgoing* edge: the outward unit normal ``(nx, ny)`` and offset ``off`` of the
half-plane ``nx x + ny y <= off`` the edge lies on, plus an integer line id
(``_AT_INFINITY`` for an edge on the line at infinity).  The whole plane is the
"square at infinity" with vertices ``(1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, 0)``.
With this encoding one clipping routine (Sutherland-Hodgman) serves bounded
and unbounded polygons alike: the value of ``u . (x, y) + d w`` at a point at
infinity is the slope of the line's function along that direction.

Contents
--------
* :func:`split_polygons`: one layer of the enumeration; every polygon is cut
  by the zero line of each unit of the layer, recording the activation
  pattern of every piece and the cuts in a binary search tree;
  :func:`next_maps` then gives each piece its next layer's maps.

:mod:`.polygon_extract` turns the final polygons into half-planes, vertices
and rays, and locates points in them.
"""

import math

import numpy as np

from ._jit import kernel

# A vertex is on the zero line of a cut when |u . v + d w| is below this
# relative tolerance times |x| + |y| + |d| for a finite vertex, or below it for
# a point at infinity (a unit direction).  About 64 ulp: above the rounding
# error of a vertex that was itself computed as an intersection, far below any
# geometry a network's weights produce.  The scale is the vertex's own, not
# the polygon's: a polygon with a vertex at 1e15 (nearly parallel lines) must
# not snap its vertices near the origin onto lines 1 away.
_SIDE_RTOL = 2.0**-46

# An edge is tested for redundancy only where it and its two neighbours meet
# pairwise at angles whose sines exceed this.  The test accepts a corner
# within the cut tolerance of the edge's line; with angles theta between the
# three lines a wrongly pruned edge gives up a sliver of length ~tolerance /
# theta, which this keeps within ~1e-8 of the corner's distance from the
# origin (nearly parallel lines meet far away, and the sliver between them
# would otherwise reach back to the origin).
_PRUNE_MIN_TURN = 2.0**-20

# Unit roundoff of float64 (machine epsilon).
_F64_EPS = 2.0**-52

# Line id of an edge lying on the line at infinity.
_AT_INFINITY = -1


# --------------------------------------------------------------------------
# Growable storage
# --------------------------------------------------------------------------
@kernel
def _grow_rows(arr, need):
    """Return ``arr`` or a copy with at least ``need`` rows (2-D arrays)."""
    if need <= arr.shape[0]:
        return arr
    cap = max(need, 2 * arr.shape[0])
    out = np.empty((cap, arr.shape[1]), dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@kernel
def _grow_vec(arr, need):
    """Return ``arr`` or a copy with at least ``need`` entries (1-D arrays)."""
    if need <= arr.shape[0]:
        return arr
    cap = max(need, 2 * arr.shape[0])
    out = np.empty(cap, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


# --------------------------------------------------------------------------
# Clipping one polygon by one line
# --------------------------------------------------------------------------
@kernel
def _classify(V, start, cnt, u1, u2, d, sval, sig):
    """Sign of ``u . v + d w`` at each vertex, zero within the tolerance.

    Returns ``1 * (some vertex > 0) + 2 * (some vertex < 0)``.
    """
    code = 0
    for i in range(cnt):
        x = V[start + i, 0]
        y = V[start + i, 1]
        w = V[start + i, 2]
        s = u1 * x + u2 * y + d * w
        tol = _SIDE_RTOL * (abs(x) + abs(y) + abs(d)) if w != 0.0 else _SIDE_RTOL
        sval[i] = s
        if s > tol:
            sig[i] = 1
            code |= 1
        elif s < -tol:
            sig[i] = -1
            code |= 2
        else:
            sig[i] = 0
    return code


@kernel
def _crossings(V, E, L, start, cnt, u1, u2, d, sval, sig, cross):
    """Points where edges with strictly opposite end signs meet the line.

    A finite crossing is the intersection of the cut with the edge's own line
    (:func:`_intersect`), accurate relative to its own size even on an edge
    whose ends are far away (two nearly parallel lines meet at 1e15: the ends
    are then known to ~0.1 only).  The two polygons sharing an edge store its
    line with opposite signs, which leaves the computed intersection
    bit-identical, so they agree on the crossing.  Crossings on
    the line at infinity, and the rare ill-conditioned case whose solution
    falls outside the edge, use ``R = |s_Q| P + |s_P| Q`` (normalised), a
    convex combination symmetric in ``P, Q``.
    """
    for i in range(cnt):
        j = i + 1 if i + 1 < cnt else 0
        if sig[i] * sig[j] >= 0:
            continue
        p = start + i
        q = start + j
        if L[p] != _AT_INFINITY:
            n1 = E[p, 0]
            n2 = E[p, 1]
            off = E[p, 2]
            x, y = _intersect(u1, u2, -d, n1, n2, off)
            if math.isfinite(x) and math.isfinite(y):
                if _on_segment(V, p, q, x, y):
                    cross[i, 0] = x + 0.0
                    cross[i, 1] = y + 0.0
                    cross[i, 2] = 1.0
                    continue
        a = abs(sval[j])
        b = abs(sval[i])
        rx = a * V[p, 0] + b * V[q, 0]
        ry = a * V[p, 1] + b * V[q, 1]
        rw = a * V[p, 2] + b * V[q, 2]
        if rw > 0.0:
            cross[i, 0] = rx / rw + 0.0
            cross[i, 1] = ry / rw + 0.0
            cross[i, 2] = 1.0
        else:
            h = math.hypot(rx, ry)
            cross[i, 0] = rx / h + 0.0
            cross[i, 1] = ry / h + 0.0
            cross[i, 2] = 0.0


@kernel
def _intersect(a1, a2, ra, b1, b2, rb):
    """Solve ``a . z = ra, b . z = rb`` by Gaussian elimination with partial pivoting.

    Backward stable: the result is within a few ulp of *both* lines even when
    they are nearly parallel (Cramer's rule is not).  Negating a row (``b, rb``
    -> ``-b, -rb``) negates every intermediate exactly and leaves the result
    unchanged.  Returns non-finite values for parallel lines.
    """
    if abs(b1) > abs(a1):
        a1, a2, ra, b1, b2, rb = b1, b2, rb, a1, a2, ra
    if a1 == 0.0:
        return math.nan, math.nan
    f = b1 / a1
    y = (rb - f * ra) / (b2 - f * a2)
    x = (ra - a2 * y) / a1
    return x, y


@kernel
def _on_segment(V, p, q, x, y):
    """Whether ``(x, y)`` lies on the edge from vertex ``p`` to ``q`` (up to ~64 ulp).

    Tested on the projection onto the edge direction, so the test is symmetric
    in ``p, q``; an end at infinity leaves that side of the edge open.
    """
    if V[p, 2] == 0.0 and V[q, 2] == 0.0:
        return False
    if V[p, 2] != 0.0 and V[q, 2] != 0.0:
        tx = V[q, 0] - V[p, 0]
        ty = V[q, 1] - V[p, 1]
    elif V[q, 2] == 0.0:
        tx = V[q, 0]
        ty = V[q, 1]
    else:
        tx = -V[p, 0]
        ty = -V[p, 1]
    pos = tx * x + ty * y
    slack = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(x) + abs(y))
    if V[p, 2] != 0.0:
        lo = tx * V[p, 0] + ty * V[p, 1]
        slack_p = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(V[p, 0]) + abs(V[p, 1]))
        if pos < lo - slack - slack_p:
            return False
    if V[q, 2] != 0.0:
        hi = tx * V[q, 0] + ty * V[q, 1]
        slack_q = _SIDE_RTOL * (abs(tx) + abs(ty)) * (abs(V[q, 0]) + abs(V[q, 1]))
        if pos > hi + slack + slack_q:
            return False
    return math.isfinite(pos)


@kernel
def _emit_piece(V, E, L, start, cnt, sig, cross, side, u1, u2, d, line_id, pos):
    """Write the part of a polygon on one side of a line at row ``pos``.

    ``side = -1`` keeps ``u . z + d <= 0``, ``side = 1`` keeps ``>= 0``; both
    pieces are built from the same vertex signs, so they tile the polygon.
    Vertices between two edges on one line are removed unless both their
    neighbours are at infinity.  Returns the number of vertices written
    (``V, E, L`` must have room for ``4 * cnt + 3`` more rows).
    """
    nx = side * -u1 + 0.0  # + 0.0: no negative zeros, so atan2 stays in (-pi, pi]
    ny = side * -u2 + 0.0
    off = side * d + 0.0
    n = pos
    for i in range(cnt):
        j = i + 1 if i + 1 < cnt else 0
        ti = sig[i] * side
        tj = sig[j] * side
        if ti >= 0:
            finite = V[start + i, 2] != 0.0
            h = i - 1 if i > 0 else cnt - 1
            if ti == 0 and finite and sig[h] * side < 0:
                # Arriving along the cut at a vertex on the line: keep a
                # zero-length piece of the edge before it.  The vertex is on
                # the line only up to the tolerance, so that edge may still
                # bound this piece; extract_regions drops it if redundant.
                V[n] = V[start + i]
                E[n] = E[start + h]
                L[n] = L[start + h]
                n += 1
            V[n, 0] = V[start + i, 0]
            V[n, 1] = V[start + i, 1]
            V[n, 2] = V[start + i, 2]
            if ti > 0 or tj >= 0 or finite:
                E[n, 0] = E[start + i, 0]
                E[n, 1] = E[start + i, 1]
                E[n, 2] = E[start + i, 2]
                L[n] = L[start + i]
            else:  # leaves the boundary here, along the cut
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
            n += 1
            if ti == 0 and finite and tj < 0:
                # Leaving along the cut: likewise a zero-length piece of the
                # edge after the vertex (written above), then the cut.
                V[n] = V[start + i]
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
                n += 1
        if ti * tj < 0:
            V[n, 0] = cross[i, 0]
            V[n, 1] = cross[i, 1]
            V[n, 2] = cross[i, 2]
            if tj > 0:  # entering the kept side: continue along edge i
                E[n, 0] = E[start + i, 0]
                E[n, 1] = E[start + i, 1]
                E[n, 2] = E[start + i, 2]
                L[n] = L[start + i]
            else:
                E[n, 0] = nx
                E[n, 1] = ny
                E[n, 2] = off
                L[n] = line_id
            n += 1
    count = n - pos
    # A cut edge between two points at infinity is the whole line; the segment
    # between antipodal points is ambiguous, so put a finite point on it.
    for k in range(count):
        a = pos + k
        b = pos + (k + 1) % count
        if L[a] == line_id and V[a, 2] == 0.0 and V[b, 2] == 0.0:
            for r in range(pos + count, a + 1, -1):
                V[r] = V[r - 1]
                E[r] = E[r - 1]
                L[r] = L[r - 1]
            V[a + 1, 0] = -d * u1 + 0.0
            V[a + 1, 1] = -d * u2 + 0.0
            V[a + 1, 2] = 1.0
            E[a + 1, 0] = nx
            E[a + 1, 1] = ny
            E[a + 1, 2] = off
            L[a + 1] = line_id
            count += 1
            break
    # Such a point is dropped again once a cut has made one of its neighbours
    # finite: kept, its sign (tolerance relative to its own size) could
    # disagree with its collinear neighbours' and split off a degenerate piece.
    k = 0
    while k < count and count > 3:
        a = pos + k
        prev = pos + (k - 1) % count
        nxt = pos + (k + 1) % count
        if V[a, 2] != 0.0 and L[prev] == L[a] and (V[prev, 2] != 0.0 or V[nxt, 2] != 0.0):
            for r in range(a, pos + count - 1):
                V[r] = V[r + 1]
                E[r] = E[r + 1]
                L[r] = L[r + 1]
            count -= 1
        else:
            k += 1
    return count


@kernel
def _find_anchor(V, E, L, start, cnt, u1, u2, d, code):
    """A point on an edge whose sign contradicts the vertex signs, if any.

    A vertex's tolerance grows with its distance from the origin, so a polygon
    whose vertices are all far away (a long strip between nearly parallel
    lines) can look like it lies on the line while it crosses it near the
    origin.  The foot of the origin on each edge line, when strictly inside
    the edge, is tested with its own (small) tolerance.  Returns the edge and
    the point, or ``(-1, 0, 0)``: the first foot that is strictly signed when
    no vertex is (``code == 0``), or strictly of the sign no vertex has.
    """
    for i in range(cnt):
        p = start + i
        if L[p] == _AT_INFINITY:
            continue
        q = start + (i + 1) % cnt
        nx = E[p, 0]
        ny = E[p, 1]
        fx = E[p, 2] * nx
        fy = E[p, 2] * ny
        # Position along the edge's direction (-ny, nx); the foot is at 0.
        if V[p, 2] != 0.0:
            tp = -ny * V[p, 0] + nx * V[p, 1]
            if not tp < -_SIDE_RTOL * (abs(V[p, 0]) + abs(V[p, 1])):
                continue
        if V[q, 2] != 0.0:
            tq = -ny * V[q, 0] + nx * V[q, 1]
            if not tq > _SIDE_RTOL * (abs(V[q, 0]) + abs(V[q, 1])):
                continue
        s = u1 * fx + u2 * fy + d
        tol = _SIDE_RTOL * (abs(fx) + abs(fy) + abs(d))
        if (s > tol and code != 1) or (s < -tol and code != 2):
            return i, fx, fy
    return -1, 0.0, 0.0


# --------------------------------------------------------------------------
# One layer of the enumeration
# --------------------------------------------------------------------------
@kernel
def split_polygons(ptr, V, E, L, slot, A, c, node_line, node_child, n_nodes, next_line):
    """Cut every polygon by the zero lines of one layer's units.

    Parameters
    ----------
    ptr : (n_poly + 1,) int64 vertex CSR pointers.
    V, E : (n_vert, 3) vertices ``(x, y, w)`` and outgoing edges ``(nx, ny, off)``.
    L : (n_vert,) int64 line id of each outgoing edge.
    slot : (n_poly,) int64 tree slot ``2 * node + side`` of each polygon.
    A, c : (n_poly, n_units, 2), (n_poly, n_units) pre-activation maps.
    node_line, node_child : search tree, ``(cap, 3)`` float64 and ``(cap, 2)`` int64.
    n_nodes, next_line : int, used tree nodes and next free line id.

    Returns
    -------
    ptr, V, E, L, slot, parent, active, node_line, node_child, n_nodes, next_line
        The pieces, each piece's polygon of origin and activation pattern
        (uint8 of shape (n_pieces, n_units)), and the grown tree.

    Notes
    -----
    Each polygon's pieces live in a scratch buffer while the units are applied
    one after the other; a piece entirely on one side of a unit's line (every
    vertex sign >= 0, or <= 0) is not cut and takes the activation of that
    side.  A unit whose gradient is zero on the polygon is active iff its
    constant is positive.
    """
    n_poly = ptr.shape[0] - 1
    n_units = c.shape[1]
    # Output.
    o_ptr = np.zeros(n_poly + 1, dtype=np.int64)
    o_V = np.empty((max(16, 2 * V.shape[0]), 3))
    o_E = np.empty((o_V.shape[0], 3))
    o_L = np.empty(o_V.shape[0], dtype=np.int64)
    o_slot = np.empty(max(4, 2 * n_poly), dtype=np.int64)
    o_parent = np.empty(o_slot.shape[0], dtype=np.int64)
    o_active = np.empty((o_slot.shape[0], n_units), dtype=np.uint8)
    n_out = 0
    n_vert_out = 0
    # Scratch for the pieces of one polygon.
    s_V = np.empty((256, 3))
    s_E = np.empty((256, 3))
    s_L = np.empty(256, dtype=np.int64)
    p_start = np.empty(64, dtype=np.int64)
    p_cnt = np.empty(64, dtype=np.int64)
    p_slot = np.empty(64, dtype=np.int64)
    p_bits = np.empty((64, n_units), dtype=np.uint8)
    sval = np.empty(64)
    sig = np.empty(64, dtype=np.int64)
    cross = np.empty((64, 3))

    for p in range(n_poly):
        cnt0 = ptr[p + 1] - ptr[p]
        s_V = _grow_rows(s_V, cnt0)
        s_E = _grow_rows(s_E, cnt0)
        s_L = _grow_vec(s_L, cnt0)
        for i in range(cnt0):
            s_V[i] = V[ptr[p] + i]
            s_E[i] = E[ptr[p] + i]
            s_L[i] = L[ptr[p] + i]
        top = cnt0
        n_pieces = 1
        p_start[0] = 0
        p_cnt[0] = cnt0
        p_slot[0] = slot[p]
        for j in range(n_units):
            a1 = A[p, j, 0]
            a2 = A[p, j, 1]
            norm = math.hypot(a1, a2)
            d = c[p, j] / norm if norm > 0.0 else math.inf
            if not (norm > 0.0 and math.isfinite(d)):
                bit = 1 if c[p, j] > 0.0 else 0
                for q in range(n_pieces):
                    p_bits[q, j] = bit
                continue
            u1 = a1 / norm
            u2 = a2 / norm
            line_id = next_line
            next_line += 1
            for q in range(n_pieces):
                start = p_start[q]
                cnt = p_cnt[q]
                if sval.shape[0] < cnt:
                    sval = np.empty(2 * cnt)
                    sig = np.empty(2 * cnt, dtype=np.int64)
                    cross = np.empty((2 * cnt, 3))
                code = _classify(s_V, start, cnt, u1, u2, d, sval, sig)
                for _ in range(cnt):
                    if code == 3:
                        break
                    # Vertices far out have wide tolerances: check the point of
                    # each edge nearest the origin before trusting them, and
                    # add it as a vertex if it disagrees.
                    e, ax, ay = _find_anchor(s_V, s_E, s_L, start, cnt, u1, u2, d, code)
                    if e < 0:
                        break
                    need = top + cnt + 1
                    s_V = _grow_rows(s_V, need)
                    s_E = _grow_rows(s_E, need)
                    s_L = _grow_vec(s_L, need)
                    for i in range(cnt + 1):
                        src = start + (i if i <= e else i - 1)
                        s_V[top + i] = s_V[src]
                        s_E[top + i] = s_E[src]
                        s_L[top + i] = s_L[src]
                    s_V[top + e + 1, 0] = ax
                    s_V[top + e + 1, 1] = ay
                    s_V[top + e + 1, 2] = 1.0
                    start = top
                    cnt += 1
                    top += cnt
                    p_start[q] = start
                    p_cnt[q] = cnt
                    if sval.shape[0] < cnt:
                        sval = np.empty(2 * cnt)
                        sig = np.empty(2 * cnt, dtype=np.int64)
                        cross = np.empty((2 * cnt, 3))
                    code = _classify(s_V, start, cnt, u1, u2, d, sval, sig)
                if code != 3:
                    # Entirely on one side (a piece with every vertex on the
                    # line has no area; call it active).
                    p_bits[q, j] = 0 if code == 2 else 1
                    continue
                _crossings(s_V, s_E, s_L, start, cnt, u1, u2, d, sval, sig, cross)
                need = top + 8 * cnt + 8
                s_V = _grow_rows(s_V, need)
                s_E = _grow_rows(s_E, need)
                s_L = _grow_vec(s_L, need)
                n_neg = _emit_piece(s_V, s_E, s_L, start, cnt, sig, cross, -1,
                                    u1, u2, d, line_id, top)
                n_pos = _emit_piece(s_V, s_E, s_L, start, cnt, sig, cross, 1,
                                    u1, u2, d, line_id, top + n_neg)
                # Search tree: a node for the cut, the pieces in its two slots.
                node_line = _grow_rows(node_line, n_nodes + 1)
                node_child = _grow_rows(node_child, n_nodes + 1)
                node_line[n_nodes, 0] = u1
                node_line[n_nodes, 1] = u2
                node_line[n_nodes, 2] = d
                node_child[n_nodes, 0] = -1
                node_child[n_nodes, 1] = -1
                parent_slot = p_slot[q]
                node_child[parent_slot // 2, parent_slot % 2] = n_nodes
                if n_pieces + 1 > p_start.shape[0]:
                    p_start = _grow_vec(p_start, n_pieces + 1)
                    p_cnt = _grow_vec(p_cnt, n_pieces + 1)
                    p_slot = _grow_vec(p_slot, n_pieces + 1)
                    p_bits = _grow_rows(p_bits, n_pieces + 1)
                p_start[q] = top
                p_cnt[q] = n_neg
                p_slot[q] = 2 * n_nodes
                p_bits[n_pieces] = p_bits[q]
                p_start[n_pieces] = top + n_neg
                p_cnt[n_pieces] = n_pos
                p_slot[n_pieces] = 2 * n_nodes + 1
                p_bits[q, j] = 0
                p_bits[n_pieces, j] = 1
                n_pieces += 1
                n_nodes += 1
                top += n_neg + n_pos
        # Copy the pieces out.
        total = 0
        for q in range(n_pieces):
            total += p_cnt[q]
        o_V = _grow_rows(o_V, n_vert_out + total)
        o_E = _grow_rows(o_E, n_vert_out + total)
        o_L = _grow_vec(o_L, n_vert_out + total)
        o_slot = _grow_vec(o_slot, n_out + n_pieces)
        o_parent = _grow_vec(o_parent, n_out + n_pieces)
        o_active = _grow_rows(o_active, n_out + n_pieces)
        o_ptr = _grow_vec(o_ptr, n_out + n_pieces + 1)
        for q in range(n_pieces):
            for i in range(p_cnt[q]):
                o_V[n_vert_out] = s_V[p_start[q] + i]
                o_E[n_vert_out] = s_E[p_start[q] + i]
                o_L[n_vert_out] = s_L[p_start[q] + i]
                n_vert_out += 1
            o_slot[n_out] = p_slot[q]
            o_parent[n_out] = p
            o_active[n_out] = p_bits[q]
            n_out += 1
            o_ptr[n_out] = n_vert_out
    return (
        o_ptr[: n_out + 1].copy(), o_V[:n_vert_out].copy(), o_E[:n_vert_out].copy(),
        o_L[:n_vert_out].copy(), o_slot[:n_out].copy(), o_parent[:n_out].copy(),
        o_active[:n_out].copy(), node_line, node_child, n_nodes, next_line,
    )


@kernel
def next_maps(A, c, parent, active, slope, W, b, snap, A_out, c_out):
    """Pre-activation maps of the next layer on every piece.

    Piece ``i`` inherits ``A[parent[i]], c[parent[i]]``; its activations scale
    unit ``u`` by ``1`` (active) or ``slope``, and the next layer gives
    ``A_out[i] = W @ (g * A)``, ``c_out[i] = W @ (g * c) + b``.  With ``snap``
    (hidden layers), an entry whose magnitude does not exceed its
    rounding-error bound ``(n_units + 1) * eps * sum |terms|`` is set to zero:
    a cancellation then gives an exactly constant unit, or an exact zero
    coordinate, instead of a line at ~1e16.  Written as loops rather than a
    batched matrix product, which small matrices on a busy machine make slow
    through BLAS threading.
    """
    n_pieces = parent.shape[0]
    n_units = c.shape[1]
    n_next = W.shape[0]
    gamma = (n_units + 1) * _F64_EPS
    h0 = np.empty(n_units)
    h1 = np.empty(n_units)
    hc = np.empty(n_units)
    for i in range(n_pieces):
        p = parent[i]
        for u in range(n_units):
            g = 1.0 if active[i, u] else slope
            h0[u] = g * A[p, u, 0]
            h1[u] = g * A[p, u, 1]
            hc[u] = g * c[p, u]
        for o in range(n_next):
            s0 = 0.0
            s1 = 0.0
            sc = b[o]
            m0 = 0.0
            m1 = 0.0
            mc = abs(b[o])
            for u in range(n_units):
                w = W[o, u]
                s0 += w * h0[u]
                s1 += w * h1[u]
                sc += w * hc[u]
                if snap:
                    m0 += abs(w * h0[u])
                    m1 += abs(w * h1[u])
                    mc += abs(w * hc[u])
            if snap:
                if abs(s0) <= gamma * m0:
                    s0 = 0.0
                if abs(s1) <= gamma * m1:
                    s1 = 0.0
                if abs(sc) <= gamma * mc:
                    sc = 0.0
            A_out[i, o, 0] = s0
            A_out[i, o, 1] = s1
            c_out[i, o] = sc
