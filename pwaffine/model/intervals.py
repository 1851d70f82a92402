"""Affine regions of a ReLU network: where the decoder ``f`` is affine.

A (leaky) ReLU network is continuous and piecewise affine.  For a 1-D latent
the pieces are intervals; :func:`interval_regions` finds them exactly, layer
by layer, from the zeros of each hidden unit's pre-activation (no sampling).

The partition is the first step of every density computation:
network -> regions -> per-region Gaussian integrals (``density_intervals.py``)
-> density (``pushforward.py``).
"""

import numpy as np

from .._kernels.special import log_interval_mass_array
from .._validation import check_samples

__all__ = ["IntervalRegions", "interval_pieces", "interval_regions"]

#: Relative tolerance under which neighbouring affine maps count as one map.
MERGE_RTOL = 1e-12


class IntervalRegions:
    """Partition of the real line into the maximal intervals where ``f`` is affine.

    Region ``k`` is the half-open interval ``[lower[k], upper[k])`` (the first
    one is ``(-inf, upper[0])``), on which ``f(z) = linear[k] @ z + offset[k]``.

    Parameters
    ----------
    breakpoints : ndarray of shape (n_regions - 1,)
        Strictly increasing kinks of ``f``.
    linear : ndarray of shape (n_regions, n_outputs, 1)
        Jacobian ``A_k`` of ``f`` on each region.
    offset : ndarray of shape (n_regions, n_outputs)
        ``c_k = f(z) - A_k z`` on each region.

    Attributes
    ----------
    n_regions : int
    lower, upper : ndarray of shape (n_regions,)
        Interval ends; ``lower[0] = -inf`` and ``upper[-1] = inf``.

    Examples
    --------
    >>> from pwaffine import ReLUNetwork
    >>> f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> regions = f.affine_regions()
    >>> regions.n_regions, regions.breakpoints
    (2, array([0.]))
    >>> regions.linear[:, 0, 0]
    array([-1.,  1.])
    """

    n_inputs = 1

    def __init__(self, breakpoints, linear, offset):
        self.breakpoints = np.asarray(breakpoints, dtype=np.float64)
        self.linear = np.asarray(linear, dtype=np.float64)
        self.offset = np.asarray(offset, dtype=np.float64)
        for arr in (self.breakpoints, self.linear, self.offset):
            arr.setflags(write=False)

    @property
    def n_regions(self):
        return self.linear.shape[0]

    @property
    def n_outputs(self):
        return self.linear.shape[1]

    @property
    def lower(self):
        return np.concatenate(([-np.inf], self.breakpoints))

    @property
    def upper(self):
        return np.concatenate((self.breakpoints, [np.inf]))

    def __repr__(self):
        return f"IntervalRegions(n_regions={self.n_regions}, n_outputs={self.n_outputs})"

    def locate(self, Z):
        """Index of the region holding each point.

        Parameters
        ----------
        Z : array-like of shape (n_samples, 1)

        Returns
        -------
        ndarray of int of shape (n_samples,)
            ``k`` with ``lower[k] <= z < upper[k]``.
        """
        Z = check_samples(Z, 1, "Z")
        return np.searchsorted(self.breakpoints, Z[:, 0], side="right")

    def evaluate(self, Z):
        """Apply each point's regional affine map; equals ``network.forward(Z)``.

        Parameters
        ----------
        Z : array-like of shape (n_samples, 1)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        Z = check_samples(Z, 1, "Z")
        k = self.locate(Z)
        return self.linear[k, :, 0] * Z + self.offset[k]

    def log_prior_masses(self, prior):
        """Log prior probability of each region.

        Parameters
        ----------
        prior : GaussianMixture
            A mixture on the real line.

        Returns
        -------
        ndarray of shape (n_regions,)
        """
        if prior.n_features != 1:
            raise ValueError(f"prior must be 1-dimensional; got n_features={prior.n_features}")
        keep = prior.weights > 0
        std = np.sqrt(prior.covariances[keep, 0, 0])
        a = (self.lower[:, None] - prior.means[keep, 0]) / std
        b = (self.upper[:, None] - prior.means[keep, 0]) / std
        log_mass = np.empty(a.size)
        log_interval_mass_array(a.ravel(), b.ravel(), log_mass)
        log_mass = log_mass.reshape(a.shape) + np.log(prior.weights[keep])
        return np.logaddexp.reduce(log_mass, axis=1)

    def plot(self, ax=None, zlim=None, n_points=400, **kwargs):
        """Plot each output coordinate of ``f`` with its kinks marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        zlim : (float, float), optional
            Range of ``z``; by default the breakpoints plus a margin.
        n_points : int, default=400
            Evaluation points besides the breakpoints.
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            ax = plt.gca()
        if zlim is None:
            if self.breakpoints.size:
                lo, hi = self.breakpoints[0], self.breakpoints[-1]
                pad = max(1.0, 0.25 * (hi - lo))
                zlim = (lo - pad, hi + pad)
            else:
                zlim = (-3.0, 3.0)
        z = np.union1d(np.linspace(zlim[0], zlim[1], n_points),
                       self.breakpoints[(self.breakpoints > zlim[0]) & (self.breakpoints < zlim[1])])
        fz = self.evaluate(z[:, None])
        for t in range(self.n_outputs):
            ax.plot(z, fz[:, t], label=f"$f_{{{t + 1}}}(z)$", **kwargs)
        for bp in self.breakpoints:
            if zlim[0] < bp < zlim[1]:
                ax.axvline(bp, color="0.8", lw=0.6, zorder=0)
        ax.set_xlabel("$z$")
        return ax


def interval_regions(network):
    """Exact affine regions of a network with a 1-D input.

    Works layer by layer: on each current interval the pre-activations of the
    next hidden layer are affine in ``z``, so their zeros ``-c_i / a_i`` are
    the new breakpoints.  Which units are active on a sub-interval is read off
    the ordering of the interval ends relative to each unit's zero (not from a
    floating-point evaluation at an interior point), so the activation
    patterns are consistent with the breakpoints even for sub-intervals
    shorter than the rounding error of an evaluation.  Finally neighbours whose
    maps agree to a relative ``MERGE_RTOL`` are merged.

    Parameters
    ----------
    network : ReLUNetwork
        Must have ``n_inputs == 1``.

    Returns
    -------
    IntervalRegions
    """
    return _merge_pieces(_split_pieces(network))


def interval_pieces(network):
    """The intervals of constant activation pattern, before merging, with the patterns.

    Parameters
    ----------
    network : ReLUNetwork
        Must have ``n_inputs == 1``.

    Returns
    -------
    pieces : IntervalRegions
        One region per activation pattern (neighbours may share a map).
    gains : list of ndarray
        ``gains[l]`` of shape ``(n_pieces, hidden_sizes[l])``: the slope of the
        activation of each unit of hidden layer ``l`` on each piece (1 where
        active, ``negative_slope`` where not).  Derivatives of the piece maps
        with respect to the network's parameters follow from these.
    """
    pieces = _split_pieces(network)
    linear = np.array([A for _, _, A, _, _ in pieces])
    offset = np.array([c for _, _, _, c, _ in pieces])
    ends = np.array([hi for _, hi, _, _, _ in pieces[:-1]])
    gains = [np.array([p[4][layer] for p in pieces]) for layer in range(network.n_layers - 1)]
    return IntervalRegions(ends, linear[:, :, None], offset), gains


def _split_pieces(network):
    """List of (lo, hi, A, c, gains) with the output map A z + c on [lo, hi)."""
    slope = network.negative_slope
    # Each piece: (lo, hi, A, c, gains) with the current pre-activation A z + c.
    pieces = [(-np.inf, np.inf, network.weights[0][:, 0].copy(), network.biases[0].copy(), ())]
    for layer in range(1, network.n_layers):
        W, bias = network.weights[layer], network.biases[layer]
        new_pieces = []
        for lo, hi, A, c, gains in pieces:
            nonzero = A != 0.0
            roots = np.full(A.shape, np.nan)
            roots[nonzero] = -c[nonzero] / A[nonzero]
            cuts = np.unique(roots[nonzero & (roots > lo) & (roots < hi)]) + 0.0  # no -0.0
            ends = np.concatenate(([lo], cuts, [hi]))
            for a, b in zip(ends[:-1], ends[1:]):
                with np.errstate(invalid="ignore"):
                    active = np.where(
                        nonzero,
                        ((A > 0) & (a >= roots)) | ((A < 0) & (b <= roots)),
                        c > 0,
                    )
                gain = np.where(active, 1.0, slope)
                new_pieces.append((a, b, W @ (gain * A), W @ (gain * c) + bias, gains + (gain,)))
        pieces = new_pieces
    return pieces


def _merge_pieces(pieces):
    """Merge neighbouring intervals whose affine maps coincide."""
    linear = np.array([p[2] for p in pieces])  # (n_pieces, n_outputs)
    offset = np.array([p[3] for p in pieces])
    ends = np.array([p[1] for p in pieces[:-1]])
    tol_a = MERGE_RTOL * np.abs(linear).max()
    tol_c = MERGE_RTOL * np.abs(offset).max()
    keep = [0]
    breakpoints = []
    for p in range(1, len(pieces)):
        q = keep[-1]
        same = (np.abs(linear[p] - linear[q]).max() <= tol_a
                and np.abs(offset[p] - offset[q]).max() <= tol_c)
        if not same:
            keep.append(p)
            breakpoints.append(ends[p - 1])
    return IntervalRegions(np.array(breakpoints), linear[keep][:, :, None], offset[keep])
