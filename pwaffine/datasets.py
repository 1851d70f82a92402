"""Synthetic two-dimensional data sets of the paper's clustering experiments.

* :func:`pinwheel` -- the pinwheel of Johnson et al. (2016), used by Kivva et
  al. (2022) with VaDE (3 arms, 5000 points);
* :func:`parallelograms` -- points uniform in random parallelograms plus
  Gaussian noise (Kivva et al. 2022, 3 parallelograms).

Both return ``(X, labels)`` with ``X`` of shape ``(n_samples, 2)`` and
``labels`` the index of the arm or shape of each point, points ordered by
label.  Both split ``n_samples`` between the groups as evenly as possible: with
``q, r = divmod(n_samples, n_groups)`` the first ``r`` groups get ``q + 1``
points and the others ``q`` (the split of ``numpy.array_split``).  Every
random draw comes from one ``numpy.random.Generator`` built by
``check_rng(rng)``, so a given int seed or generator state gives the same
data.  This module uses numpy only.
"""

import numpy as np

from ._validation import check_int, check_rng, check_scalar

__all__ = ["parallelograms", "pinwheel"]

#: Range of the parallelograms' centres: uniform on ``[-C, C]^2``.
_CENTRE_HALF_WIDTH = 1.5
#: Range of the parallelograms' edge lengths: uniform on ``[low, high]``.
_EDGE_LENGTHS = (0.4, 1.2)
#: Smallest angle between the two edges of a parallelogram (30 degrees).
_MIN_EDGE_ANGLE = np.pi / 6


def _group_sizes(n_samples, n_groups):
    """Sizes of ``n_groups`` groups splitting ``n_samples`` as evenly as possible, (n_groups,)."""
    q, r = divmod(n_samples, n_groups)
    return np.array([q + 1] * r + [q] * (n_groups - r), dtype=np.intp)


def pinwheel(n_samples, n_arms=3, radial_std=0.3, tangential_std=0.05, rate=0.25, rng=None):
    """Points on the curved arms of a pinwheel (Johnson et al. 2016).

    Each point starts at ``(1, 0) + N(0, diag(radial_std**2,
    tangential_std**2))`` and the points of arm ``k`` are turned
    counter-clockwise about the origin by ``2 pi k / n_arms + rate *
    exp(t)``, with ``t`` the point's first coordinate before turning.  The
    arms are therefore copies of one another turned by multiples of
    ``2 pi / n_arms``, each bending further the further out it reaches.

    Parameters
    ----------
    n_samples : int
        Number of points, ``>= 1``; split between the arms as evenly as
        possible (the first ``n_samples % n_arms`` arms get one point more).
    n_arms : int, default=3
        Number of arms ``K``, ``>= 1``.
    radial_std : float, default=0.3
        Standard deviation along the arm (before turning), ``>= 0``.
    tangential_std : float, default=0.05
        Standard deviation across the arm (before turning), ``>= 0``.
    rate : float, default=0.25
        How fast the arms bend; ``0`` gives straight arms.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points, ordered by arm.
    labels : ndarray of int of shape (n_samples,)
        The arm of each point, in ``0 .. n_arms - 1``, non-decreasing.

    Notes
    -----
    The defaults (``radial_std=0.3, tangential_std=0.05, rate=0.25``) are the
    settings of Johnson et al.'s experiment, without their final scaling by 10
    and without shuffling the rows; autograd's example uses ``rate=0.4``.
    Their code multiplies the row vector of features on the left of the
    rotation matrix, which turns the points clockwise: their pinwheel is the
    mirror image (in the horizontal axis) of this one, the same law up to
    that reflection.  The draws are, in order: one ``(n_samples, 2)`` block
    of standard normals.

    Examples
    --------
    >>> from pwaffine.datasets import pinwheel
    >>> X, labels = pinwheel(7, n_arms=3, rng=0)
    >>> X.shape, labels.tolist()
    ((7, 2), [0, 0, 0, 1, 1, 2, 2])
    """
    n_samples = check_int(n_samples, "n_samples", low=1)
    n_arms = check_int(n_arms, "n_arms", low=1)
    radial_std = check_scalar(radial_std, "radial_std", low=0.0)
    tangential_std = check_scalar(tangential_std, "tangential_std", low=0.0)
    rate = check_scalar(rate, "rate")
    rng = check_rng(rng)
    return _pinwheel(n_samples, n_arms, radial_std, tangential_std, rate, rng)


def _pinwheel(n_samples, n_arms, radial_std, tangential_std, rate, rng):
    labels = np.repeat(np.arange(n_arms), _group_sizes(n_samples, n_arms))
    start = rng.standard_normal((n_samples, 2)) * np.array([radial_std, tangential_std])
    start[:, 0] += 1.0
    angle = 2.0 * np.pi * labels / n_arms + rate * np.exp(start[:, 0])
    cos, sin = np.cos(angle), np.sin(angle)
    X = np.column_stack([cos * start[:, 0] - sin * start[:, 1],
                         sin * start[:, 0] + cos * start[:, 1]])
    return X, labels


def parallelograms(n_samples, n_shapes=3, noise_std=0.05, rng=None, return_shapes=False):
    """Points uniform in random parallelograms, plus isotropic Gaussian noise.

    Shape ``s`` is ``{c_s + u e_s1 + v e_s2 : u, v in [-1/2, 1/2]}``, with
    centre ``c_s`` and edge vectors ``e_s1, e_s2``; each of its points is
    ``c_s + u e_s1 + v e_s2 + eps`` with ``u, v ~ U[-1/2, 1/2]`` and
    ``eps ~ N(0, noise_std**2 I)``, all independent.

    Parameters
    ----------
    n_samples : int
        Number of points, ``>= 1``; split between the shapes as evenly as
        possible (the first ``n_samples % n_shapes`` shapes get one point
        more).
    n_shapes : int, default=3
        Number of parallelograms, ``>= 1``.
    noise_std : float, default=0.05
        Standard deviation of the noise in each coordinate, ``>= 0``.
    rng : None, int or numpy.random.Generator
        Source of randomness.
    return_shapes : bool, default=False
        Also return the centres and edge vectors.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points, ordered by shape.
    labels : ndarray of int of shape (n_samples,)
        The shape of each point, in ``0 .. n_shapes - 1``, non-decreasing.
    centres : ndarray of shape (n_shapes, 2)
        Only if ``return_shapes``.
    edges : ndarray of shape (n_shapes, 2, 2)
        Only if ``return_shapes``: ``edges[s, 0]`` and ``edges[s, 1]`` are the
        two edge vectors of shape ``s``.

    Notes
    -----
    How the shapes are drawn (the scale is that of the pinwheel, whose arms
    reach a distance of about 1.5 from the origin):

    * centres uniform on the square ``[-1.5, 1.5]^2``; shapes may overlap, as
      clusters in real data do;
    * edge lengths uniform on ``[0.4, 1.2]``, each edge independently;
    * the first edge's direction uniform on ``[0, pi)``; the second edge
      turned from the first by an angle uniform on ``[pi/6, 5 pi/6]``, so the
      interior angles are at least 30 degrees and no shape is degenerate
      (its area is at least ``0.4**2 / 2 = 0.08``).

    The draws are, in order: centres ``(n_shapes, 2)``, edge lengths
    ``(n_shapes, 2)``, first directions ``(n_shapes,)``, turning angles
    ``(n_shapes,)``, then the points' ``(u, v)`` ``(n_samples, 2)`` and the
    noise ``(n_samples, 2)`` (drawn, and multiplied by ``noise_std``, even
    when it is zero, so that the shapes and ``(u, v)`` of a seed do not
    depend on ``noise_std``).

    Examples
    --------
    >>> from pwaffine.datasets import parallelograms
    >>> X, labels = parallelograms(8, n_shapes=3, rng=0)
    >>> X.shape, labels.tolist()
    ((8, 2), [0, 0, 0, 1, 1, 1, 2, 2])
    """
    n_samples = check_int(n_samples, "n_samples", low=1)
    n_shapes = check_int(n_shapes, "n_shapes", low=1)
    noise_std = check_scalar(noise_std, "noise_std", low=0.0)
    rng = check_rng(rng)
    if not isinstance(return_shapes, (bool, np.bool_)):
        raise ValueError(f"return_shapes must be a bool; got {return_shapes!r:.80}")
    X, labels, centres, edges = _parallelograms(n_samples, n_shapes, noise_std, rng)
    return (X, labels, centres, edges) if return_shapes else (X, labels)


def _parallelograms(n_samples, n_shapes, noise_std, rng):
    centres = rng.uniform(-_CENTRE_HALF_WIDTH, _CENTRE_HALF_WIDTH, size=(n_shapes, 2))
    lengths = rng.uniform(*_EDGE_LENGTHS, size=(n_shapes, 2))
    first = rng.uniform(0.0, np.pi, size=n_shapes)
    turn = rng.uniform(_MIN_EDGE_ANGLE, np.pi - _MIN_EDGE_ANGLE, size=n_shapes)
    directions = np.stack([first, first + turn], axis=1)  # (n_shapes, 2)
    edges = lengths[:, :, None] * np.stack([np.cos(directions), np.sin(directions)], axis=2)
    labels = np.repeat(np.arange(n_shapes), _group_sizes(n_samples, n_shapes))
    uv = rng.uniform(-0.5, 0.5, size=(n_samples, 2))
    noise = rng.standard_normal((n_samples, 2)) * noise_std
    X = centres[labels] + np.einsum("ni,nij->nj", uv, edges[labels]) + noise
    return X, labels, centres, edges
