"""pwaffine: exact likelihoods for deep latent-variable models with piecewise-affine decoders.

``x = f(z) + eps`` with ``z`` a Gaussian mixture and ``f`` a (leaky) ReLU
network.  pwaffine partitions the latent space into the affine regions of
``f`` and integrates the prior over each in closed form, giving the exact
density of ``x``.
"""

from .conditions import Verdict, is_injective, is_weakly_injective
from .equivalence import Equivalence, canonical_form, find_equivalence
from .likelihood import PopulationNLL, population_nll, sample_nll
from .mixture import GaussianMixture
from .model import PushforwardModel
from .network import ReLUNetwork
from .regions import IntervalRegions
from .surface import NLLSurface, nll_surface

__version__ = "0.1.0"

__all__ = [
    "Equivalence",
    "GaussianMixture",
    "IntervalRegions",
    "NLLSurface",
    "PopulationNLL",
    "PushforwardModel",
    "ReLUNetwork",
    "Verdict",
    "canonical_form",
    "find_equivalence",
    "is_injective",
    "is_weakly_injective",
    "nll_surface",
    "population_nll",
    "sample_nll",
]
