"""Input checks shared by the public classes.

Every public entry point converts and validates its inputs here, once, and then
hands clean float64 arrays to a private core that checks nothing.  Each check
raises a :class:`ValueError` whose message names the offending argument.
"""

import numbers

import numpy as np

#: Tolerance on the sum of mixture weights.
WEIGHT_SUM_TOL = 1e-9

#: Largest scale pwaffine computes with.  A network's bound on ``|f(z)|``, a
#: prior's means and standard deviations, and the ratio of a model's output
#: scale to its noise must not exceed it (nor go below its inverse, for the
#: ratio of the prior's scale to the noise of a noiseless model), so that every
#: quadratic form the densities use, at most ``MAX_SCALE**2 = 1e200`` times the
#: squared distances involved, stays finite in float64.  Larger scales are
#: refused with a ``ValueError`` rather than computed wrong.
MAX_SCALE = 1e100


def check_array(value, name, ndim=None, shape=None, allow_empty=False):
    """Convert ``value`` to a C-contiguous float64 array and validate it.

    Parameters
    ----------
    value : array-like
        The input.
    name : str
        Argument name used in error messages.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    allow_empty : bool, default=False
        Whether a zero-size array is acceptable.

    Returns
    -------
    ndarray of float64
    """
    arr = _as_real_array(value, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            want is not None and want != got for want, got in zip(shape, arr.shape)
        ):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}; got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "infinite"
        raise ValueError(f"{name} contains {bad} values")
    return arr


def _as_real_array(value, name):
    """``value`` as a C-contiguous float64 array; refuse what is not an array of real numbers.

    ``None``, strings, complex numbers, booleans and arrays of Python objects
    are refused by name rather than converted (``np.array("0.1", float)``
    would silently parse a string; complex values would lose their imaginary
    part).
    """
    if value is None:
        raise ValueError(f"{name} must be an array of real numbers; got None")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an array of real numbers; got the string {value!r:.80}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers (a ragged or non-numeric "
                         f"sequence was given): {exc}") from exc
    kind = raw.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} must be real; got complex values (dtype {raw.dtype})")
    if kind == "b":
        raise ValueError(f"{name} must be an array of real numbers; got booleans")
    if kind not in "iuf":
        raise ValueError(f"{name} must be an array of real numbers; got dtype {raw.dtype} "
                         f"({value!r:.80})")
    return np.array(raw, dtype=np.float64, order="C")


def check_scalar(value, name, low=None, high=None, low_inclusive=True):
    """Validate a finite real scalar, optionally bounded below/above."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise ValueError(f"{name} must be a real number; got {value!r:.80}")
    value = np.asarray(value, dtype=np.float64)
    if value.ndim != 0:
        raise ValueError(f"{name} must be a scalar; got shape {value.shape}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None:
        if low_inclusive and value < low:
            raise ValueError(f"{name} must be >= {low}; got {value}")
        if not low_inclusive and value <= low:
            raise ValueError(f"{name} must be > {low}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}")
    return value


def check_int(value, name, low=None):
    """Validate an integer (Python or NumPy), optionally bounded below."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r:.80}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}; got {value}")
    return value


def check_samples(X, n_features, name="X"):
    """Validate a 2-D sample array of width ``n_features``.

    A 1-D array is rejected with a hint rather than silently reshaped, since
    for ``n_features > 1`` guessing the orientation would be a silent error.
    """
    arr = check_array(X, name, allow_empty=True)
    if arr.ndim != 2:
        hint = f"; use {name}.reshape(-1, {n_features})" if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must have shape (n_samples, {n_features}); got shape {arr.shape}{hint}"
        )
    if arr.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_features}) to match the model's "
            f"dimension {n_features}; got {arr.shape[1]} columns"
        )
    return arr


def check_weights(weights, name="weights"):
    """Validate mixture weights: non-negative and summing to one."""
    w = check_array(weights, name, ndim=1)
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative; got {w}")
    total = w.sum()
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise ValueError(
            f"{name} must sum to 1 (tolerance {WEIGHT_SUM_TOL:g}); they sum to {total!r}"
        )
    return w / total


def check_covariances(covariances, n_components, n_features, name="covariances"):
    """Validate a stack of symmetric positive definite matrices.

    Returns the symmetrised matrices and their lower Cholesky factors.
    """
    cov = check_array(covariances, name, shape=(n_components, n_features, n_features))
    scale = np.maximum(np.abs(cov).max(axis=(1, 2)), np.finfo(float).tiny)
    asym = np.abs(cov - np.swapaxes(cov, 1, 2)).max(axis=(1, 2)) / scale
    bad = np.flatnonzero(asym > 1e-10)
    if bad.size:
        raise ValueError(
            f"{name}[{bad[0]}] is not symmetric (relative asymmetry {asym[bad[0]]:.3g})"
        )
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    eig_min = np.linalg.eigvalsh(cov)[:, 0]
    bad = np.flatnonzero(~(eig_min > 1e-14 * scale))
    if bad.size:
        j = bad[0]
        raise ValueError(
            f"{name}[{j}] is not positive definite (smallest eigenvalue {eig_min[j]:.3g})"
        )
    return cov, np.linalg.cholesky(cov)


def check_rng(rng):
    """Turn ``rng`` (None, int seed or Generator) into a ``numpy.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, (bool, np.bool_)):
            raise ValueError(f"rng must be None, an int seed or a numpy Generator; got {rng!r}")
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be None, an int seed or a numpy Generator; got {rng!r:.80}")
