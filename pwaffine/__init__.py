"""pwaffine: exact likelihoods for deep latent-variable models with piecewise-affine decoders.

``x = f(z) + eps`` with ``z`` a Gaussian mixture and ``f`` a (leaky) ReLU
network.  pwaffine partitions the latent space into the affine regions of
``f`` and integrates the prior over each in closed form, giving the exact
density of ``x``.
"""

from .conditions import Verdict, is_injective, is_weakly_injective
from .equivalence import Equivalence, canonical_form, find_equivalence
from .fisher import FisherInformation, fisher_information, predicted_null_dim
from .likelihood import PopulationNLL, population_nll, sample_nll
from .metrics import check_p2, dist_aff_l2, l2_distance, mcc
from .mixture import GaussianMixture
from .model import PushforwardModel
from .network import ReLUNetwork
from .polygons import PolygonRegions
from .regions import IntervalRegions
from .surface import NLLSurface, nll_surface

__version__ = "0.1.0"

__all__ = [
    "Equivalence",
    "FisherInformation",
    "GaussianMixture",
    "IntervalRegions",
    "NLLSurface",
    "PolygonRegions",
    "PopulationNLL",
    "PushforwardModel",
    "ReLUNetwork",
    "Verdict",
    "canonical_form",
    "check_p2",
    "dist_aff_l2",
    "find_equivalence",
    "fisher_information",
    "is_injective",
    "is_weakly_injective",
    "l2_distance",
    "mcc",
    "nll_surface",
    "population_nll",
    "predicted_null_dim",
    "sample_nll",
]
