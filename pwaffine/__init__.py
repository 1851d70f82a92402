"""pwaffine: exact likelihoods for deep latent-variable models with piecewise-affine decoders.

``x = f(z) + eps`` with ``z`` a Gaussian mixture and ``f`` a (leaky) ReLU
network.  pwaffine partitions the latent space into the affine regions of
``f`` and integrates the prior over each in closed form, giving the exact
density of ``x``.

The package is layered, imports running one way: numba kernels
(:mod:`pwaffine._kernels`) -> the model (:mod:`pwaffine.model`) -> inference
(:mod:`pwaffine.inference`) -> identifiability (:mod:`pwaffine.identifiability`)
-> applications (:mod:`pwaffine.experiments`, the command line and every file
written).  The public names below are imported on first use, so that
``import pwaffine`` is cheap and does not load numba until a model is built.
"""

import importlib

__version__ = "0.2.0"

_EXPORTS = {
    "GaussianMixture": "pwaffine.model",
    "IntervalRegions": "pwaffine.model",
    "PolygonRegions": "pwaffine.model",
    "PushforwardModel": "pwaffine.model",
    "ReLUNetwork": "pwaffine.model",
    "capability_table": "pwaffine.model",
    "gaussian_polygon_log_mass": "pwaffine.model.gaussian_polygon",
    "ExactMLE": "pwaffine.inference",
    "FisherInformation": "pwaffine.inference",
    "NLLSurface": "pwaffine.inference",
    "PopulationNLL": "pwaffine.inference",
    "fisher_information": "pwaffine.inference",
    "nll_surface": "pwaffine.inference",
    "population_nll": "pwaffine.inference",
    "predicted_null_dim": "pwaffine.inference",
    "sample_nll": "pwaffine.inference",
    "AffineDistance": "pwaffine.identifiability",
    "Equivalence": "pwaffine.identifiability",
    "MCCResult": "pwaffine.identifiability",
    "UnitMatch": "pwaffine.identifiability",
    "Verdict": "pwaffine.identifiability",
    "canonical_form": "pwaffine.identifiability",
    "check_p2": "pwaffine.identifiability",
    "dist_aff_l2": "pwaffine.identifiability",
    "find_equivalence": "pwaffine.identifiability",
    "is_injective": "pwaffine.identifiability",
    "is_weakly_injective": "pwaffine.identifiability",
    "l2_distance": "pwaffine.identifiability",
    "mcc": "pwaffine.identifiability",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pwaffine' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
