"""Fully connected (leaky) ReLU networks, the decoders ``f`` of pwaffine models."""

import numpy as np

from .._validation import (
    MAX_SCALE,
    check_array,
    check_int,
    check_rng,
    check_samples,
    check_scalar,
)
from .intervals import interval_regions
from .polygons import polygon_regions

__all__ = ["ReLUNetwork"]

#: Region enumeration by input dimension: intervals for 1, convex polygons for 2.
_REGION_BUILDERS = {1: interval_regions, 2: polygon_regions}


class ReLUNetwork:
    """A feed-forward network with (leaky) ReLU activations.

    ``f(z) = W_L s(... s(W_2 s(W_1 z + b_1) + b_2) ...) + b_L`` where ``s`` is
    ``max(t, 0) + negative_slope * min(t, 0)`` applied elementwise after every
    layer but the last.  ``f`` is continuous and piecewise affine.

    Parameters
    ----------
    weights : sequence of array-like
        ``weights[l]`` has shape ``(out_features, in_features)``, the layout of
        ``torch.nn.Linear``.  Consecutive shapes must chain.
    biases : sequence of array-like
        ``biases[l]`` has shape ``(out_features,)``.
    negative_slope : float, default=0.0
        Slope of the activation for negative inputs; ``0`` gives the plain ReLU,
        a positive value a leaky ReLU.  Must be finite and ``>= 0``.

    Attributes
    ----------
    n_inputs : int
        Latent dimension ``m``.
    n_outputs : int
        Observed dimension ``n``.
    n_layers : int
        Number of affine layers (hidden layers + 1).
    hidden_sizes : tuple of int
        Widths of the hidden layers.

    Examples
    --------
    >>> import numpy as np
    >>> from pwaffine import ReLUNetwork
    >>> f = ReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> f.forward(np.array([[-2.0], [3.0]]))  # |z|
    array([[2.],
           [3.]])
    """

    def __init__(self, weights, biases, negative_slope=0.0):
        if isinstance(weights, np.ndarray) and weights.ndim == 2:
            raise ValueError("weights must be a sequence of 2-D arrays, one per layer; "
                             "wrap a single layer's matrix in a list")
        try:
            weights = list(weights)
            biases = list(biases)
        except TypeError as exc:
            raise ValueError("weights and biases must be sequences of arrays, one per layer") from exc
        if len(weights) == 0:
            raise ValueError("weights must contain at least one layer")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases must have one entry per layer: got {len(biases)} biases for "
                f"{len(weights)} weight matrices"
            )
        self.weights = []
        self.biases = []
        for layer, (W, b) in enumerate(zip(weights, biases)):
            W = check_array(W, f"weights[{layer}]", ndim=2)
            b = check_array(b, f"biases[{layer}]", shape=(W.shape[0],))
            if layer > 0 and W.shape[1] != self.weights[-1].shape[0]:
                raise ValueError(
                    f"weights[{layer}] has {W.shape[1]} input columns but layer {layer - 1} "
                    f"has {self.weights[-1].shape[0]} outputs"
                )
            W.setflags(write=False)
            b.setflags(write=False)
            self.weights.append(W)
            self.biases.append(b)
        self.negative_slope = check_scalar(negative_slope, "negative_slope", low=0.0)
        lipschitz, offset = self.scale_bounds()
        if not (lipschitz <= MAX_SCALE and offset <= MAX_SCALE):
            raise ValueError(
                f"weights and biases are too large: |f(z)| can reach {lipschitz:.3g} |z| + "
                f"{offset:.3g}, beyond the {MAX_SCALE:.0e} pwaffine supports (products of "
                f"regional maps and their squares must stay finite in float64); rescale "
                f"the network"
            )
        self._regions = None

    # ------------------------------------------------------------------ shape
    @property
    def n_inputs(self):
        return self.weights[0].shape[1]

    @property
    def n_outputs(self):
        return self.weights[-1].shape[0]

    @property
    def n_layers(self):
        return len(self.weights)

    @property
    def hidden_sizes(self):
        return tuple(W.shape[0] for W in self.weights[:-1])

    def scale_bounds(self):
        """Bounds ``(L, C)`` with ``|f(z)| <= L |z| + C`` (Euclidean norms) on the whole input space.

        ``L`` is the product of the layers' spectral norms times
        ``max(1, negative_slope)``, the Lipschitz constant of the activation,
        per hidden layer; ``C`` bounds ``|f(0)|`` the same way.  Every regional
        map ``A_k`` has ``|A_k| <= L`` and every offset ``|c_k| <= C``.
        """
        gain = max(1.0, self.negative_slope)
        lipschitz, offset = 1.0, 0.0
        with np.errstate(over="ignore"):
            for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
                norm = float(np.linalg.norm(W, 2)) if W.size else 0.0
                if layer > 0:
                    norm *= gain
                lipschitz *= norm
                offset = norm * offset + float(np.linalg.norm(b))
        return lipschitz, offset

    def __repr__(self):
        sizes = "-".join(str(s) for s in (self.n_inputs, *self.hidden_sizes, self.n_outputs))
        slope = f", negative_slope={self.negative_slope:g}" if self.negative_slope else ""
        return f"ReLUNetwork({sizes}{slope})"

    # --------------------------------------------------------------- evaluate
    def forward(self, Z):
        """Evaluate the network.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        Z = check_samples(Z, self.n_inputs, "Z")
        return self._forward(Z)

    __call__ = forward

    def _forward(self, Z):
        H = Z
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            H = H @ W.T + b
            if layer < self.n_layers - 1:
                H = self._activate(H)
        return H

    def _activate(self, H):
        return np.where(H > 0, H, self.negative_slope * H)

    # ---------------------------------------------------------------- regions
    def affine_regions(self):
        """Exact partition of the latent space into the regions where ``f`` is affine.

        For a 1-D latent this is an :class:`~pwaffine.IntervalRegions`: the
        maximal intervals (the two unbounded ones included) on which ``f`` is
        affine, each with its map ``z -> A_k z + c_k``.  For a 2-D latent it is
        a :class:`~pwaffine.PolygonRegions`: convex polygons, unbounded ones
        included, as lists of half-planes.  The partition is computed once and
        cached.

        Returns
        -------
        IntervalRegions or PolygonRegions

        Raises
        ------
        NotImplementedError
            If the network's input dimension is not supported.
        """
        if self._regions is None:
            if self.n_inputs not in _REGION_BUILDERS:
                raise NotImplementedError(
                    f"affine regions are implemented for input dimensions "
                    f"{tuple(_REGION_BUILDERS)}; this network has n_inputs={self.n_inputs}"
                )
            self._regions = _REGION_BUILDERS[self.n_inputs](self)
        return self._regions

    def map_jacobians(self, gains):
        """Derivatives of regional maps ``z -> A z + c`` with respect to the weights and biases.

        With the activation pattern of a region fixed, ``A`` and ``c`` are
        polynomials in the weights and biases (``f`` is continuous, so the
        movement of the region's boundaries adds nothing to the derivative of
        ``f`` at a point inside it).  They are differentiated by
        back-propagation through the fixed pattern: for layer ``l`` with
        input ``P z + q`` (as a function of ``z`` on the region) and upstream
        matrix ``U`` (the derivative of the output by the layer's
        pre-activation), ``dA/dW_l[i, k] = U[:, i] P[k, :]``,
        ``dc/dW_l[i, k] = U[:, i] q[k]`` and ``dc/db_l[i] = U[:, i]``.

        Parameters
        ----------
        gains : list of ndarray
            ``gains[l]`` of shape ``(n_regions, hidden_sizes[l])``: the slope of
            the activation of each unit of hidden layer ``l`` on each region
            (1 where active, ``negative_slope`` where not).

        Returns
        -------
        jac_linear : ndarray of shape (n_regions, n_outputs, n_inputs, n_network_parameters)
        jac_offset : ndarray of shape (n_regions, n_outputs, n_network_parameters)
            Parameters ordered as in ``PushforwardModel.parameters()``: for each
            layer its weights (row-major) then its biases.
        """
        L, m, n = self.n_layers, self.n_inputs, self.n_outputs
        K = gains[0].shape[0] if gains else 1
        # Forward: each layer's input as P z + q on every region.
        P = [np.broadcast_to(np.eye(m), (K, m, m))]
        q = [np.zeros((K, m))]
        for layer in range(1, L):
            W, b = self.weights[layer - 1], self.biases[layer - 1]
            g = gains[layer - 1]
            P.append(g[:, :, None] * np.einsum("ij,kjd->kid", W, P[-1]))
            q.append(g * (q[-1] @ W.T + b))
        blocks_linear, blocks_offset = [None] * L, [None] * L
        upstream = np.broadcast_to(np.eye(n), (K, n, n))
        for layer in range(L - 1, -1, -1):
            out_l, in_l = self.weights[layer].shape
            dW_lin = np.einsum("koi,kjd->kodij", upstream, P[layer]).reshape(K, n, m, out_l * in_l)
            dW_off = np.einsum("koi,kj->koij", upstream, q[layer]).reshape(K, n, out_l * in_l)
            blocks_linear[layer] = np.concatenate([dW_lin, np.zeros((K, n, m, out_l))], axis=3)
            blocks_offset[layer] = np.concatenate([dW_off, upstream], axis=2)
            if layer > 0:
                upstream = (upstream @ self.weights[layer]) * gains[layer - 1][:, None, :]
        return np.concatenate(blocks_linear, axis=3), np.concatenate(blocks_offset, axis=2)

    # ---------------------------------------------------------- constructors
    @classmethod
    def random(cls, layer_sizes, negative_slope=0.0, weight_scale=1.0, bias_scale=1.0, rng=None):
        """Draw a network with independent Gaussian weights and biases.

        Parameters
        ----------
        layer_sizes : sequence of int
            ``(n_inputs, hidden_1, ..., n_outputs)``; at least two entries.
        negative_slope : float, default=0.0
            Activation slope for negative inputs.
        weight_scale : float, default=1.0
            Weights of a layer with ``d`` inputs are ``N(0, weight_scale**2 / d)``.
        bias_scale : float, default=1.0
            Biases are ``N(0, bias_scale**2)``.
        rng : None, int or numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ReLUNetwork
        """
        try:
            sizes = [check_int(s, "layer_sizes entries", low=1) for s in layer_sizes]
        except TypeError as exc:
            raise ValueError("layer_sizes must be a sequence of positive integers") from exc
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least (n_inputs, n_outputs); got {sizes}")
        weight_scale = check_scalar(weight_scale, "weight_scale", low=0.0)
        bias_scale = check_scalar(bias_scale, "bias_scale", low=0.0)
        rng = check_rng(rng)
        weights, biases = [], []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            weights.append(rng.normal(0.0, weight_scale / np.sqrt(d_in), size=(d_out, d_in)))
            biases.append(rng.normal(0.0, bias_scale, size=d_out))
        return cls(weights, biases, negative_slope=negative_slope)

