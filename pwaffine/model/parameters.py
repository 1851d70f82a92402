"""Named scalar parameters of a PushforwardModel.

Names follow the attribute paths of the model, with indices in brackets:

* ``prior.weights[j]``, ``prior.means[j,d]``, ``prior.covariances[j,d,e]`` (``d <= e``;
  setting it sets both symmetric entries);
* ``network.weights[l][i,k]``, ``network.biases[l][i]``;
* ``noise_std`` for isotropic noise, else ``noise_std[t]`` (``noise_std`` may
  always be set, which makes the noise isotropic).

Mixture weights: when some weights are set, the weights not set are rescaled
proportionally so that all sum to one (if those all were zero, they share the
remainder equally); the set weights must lie in [0, 1] and sum to at most one.
"""

import re

import numpy as np

from .._validation import WEIGHT_SUM_TOL

_NAME = re.compile(
    r"^(?:(?P<prior>prior\.(?P<pfield>weights|means|covariances))\[(?P<pidx>[0-9, ]+)\]"
    r"|network\.(?P<nfield>weights|biases)\[(?P<layer>\d+)\]\[(?P<nidx>[0-9, ]+)\]"
    r"|(?P<noise>noise_std)(?:\[(?P<tidx>\d+)\])?)$"
)


def parameter_dict(model):
    """Ordered mapping ``name -> float`` of every scalar parameter of ``model``."""
    prior, net = model.prior, model.network
    out = {}
    J, m = prior.means.shape
    for j in range(J):
        out[f"prior.weights[{j}]"] = float(prior.weights[j])
    for j in range(J):
        for d in range(m):
            out[f"prior.means[{j},{d}]"] = float(prior.means[j, d])
    for j in range(J):
        for d in range(m):
            for e in range(d, m):
                out[f"prior.covariances[{j},{d},{e}]"] = float(prior.covariances[j, d, e])
    for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
        for i in range(W.shape[0]):
            for k in range(W.shape[1]):
                out[f"network.weights[{layer}][{i},{k}]"] = float(W[i, k])
        for i in range(b.shape[0]):
            out[f"network.biases[{layer}][{i}]"] = float(b[i])
    noise = model.noise_vector
    if np.all(noise == noise[0]):
        out["noise_std"] = float(noise[0])
    else:
        for t in range(noise.size):
            out[f"noise_std[{t}]"] = float(noise[t])
    return out


def _check_rank(idx, array):
    if len(idx) != array.ndim:
        raise IndexError("wrong number of indices")


def _indices(text):
    return tuple(int(v) for v in text.replace(" ", "").split(","))


def apply_parameters(model, values):
    """The model's arrays with ``values`` set.

    Returns
    -------
    dict
        ``weights, means, covariances`` (the prior's), ``net_weights,
        net_biases`` (lists, one array per layer) and ``noise`` (shape (n,)),
        all new arrays; the caller builds and validates the new model.
    """
    prior, net = model.prior, model.network
    weights = prior.weights.copy()
    means = prior.means.copy()
    cov = prior.covariances.copy()
    W = [w.copy() for w in net.weights]
    B = [b.copy() for b in net.biases]
    noise = model.noise_vector.copy()
    set_weights = {}
    for name, value in values.items():
        match = _NAME.match(str(name).replace(" ", ""))
        if match is None:
            raise ValueError(f"unknown parameter name {name!r}; see model.parameters() for names")
        try:
            value = float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"parameter {name!r} must be a real number; got {value!r}") from exc
        if not np.isfinite(value):
            raise ValueError(f"parameter {name!r} must be finite; got {value}")
        try:
            if match["prior"]:
                idx = _indices(match["pidx"])
                field = match["pfield"]
                if field == "weights":
                    (j,) = idx
                    weights[j]  # IndexError if out of range
                    set_weights[j] = value
                elif field == "means":
                    _check_rank(idx, means)
                    means[idx] = value
                else:
                    j, d, e = idx
                    cov[j, d, e] = cov[j, e, d] = value
            elif match["nfield"]:
                layer = int(match["layer"])
                idx = _indices(match["nidx"])
                target = (W if match["nfield"] == "weights" else B)[layer]
                _check_rank(idx, target)
                target[idx] = value
            elif match["tidx"] is None:
                noise[:] = value
            else:
                noise[int(match["tidx"])] = value
        except (IndexError, ValueError) as exc:
            raise ValueError(f"parameter {name!r} does not exist in this model "
                             f"(index out of range or wrong number of indices)") from exc
    if set_weights:
        weights = _reweight(weights, set_weights)
    return {"weights": weights, "means": means, "covariances": cov, "net_weights": W,
            "net_biases": B, "noise": noise}


def _reweight(weights, set_weights):
    idx = np.array(sorted(set_weights))
    vals = np.array([set_weights[j] for j in idx])
    if np.any(vals < 0) or np.any(vals > 1):
        raise ValueError(f"mixture weights must lie in [0, 1]; got {dict(zip(idx.tolist(), vals))}")
    rest = np.setdiff1d(np.arange(weights.size), idx)
    remainder = 1.0 - vals.sum()
    if remainder < -WEIGHT_SUM_TOL:
        raise ValueError(f"the mixture weights set sum to {vals.sum():.12g} > 1")
    remainder = max(remainder, 0.0)
    out = weights.copy()
    out[idx] = vals
    if rest.size == 0:
        if abs(remainder) > WEIGHT_SUM_TOL:
            raise ValueError(f"all mixture weights were set but sum to {vals.sum():.12g}, not 1")
        return out / out.sum()
    old = weights[rest].sum()
    out[rest] = weights[rest] * (remainder / old) if old > 0 else remainder / rest.size
    return out
