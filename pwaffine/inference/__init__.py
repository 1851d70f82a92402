"""The inference layer: likelihoods, surfaces and Fisher information from the exact density.

* :mod:`.quadrature` -- adaptive Gauss-Kronrod rules over ``x``;
* :mod:`.domain` -- the one builder of the region of ``x`` carrying a model's mass;
* :mod:`.likelihood` -- sample and population negative log-likelihoods;
* :mod:`.surface` -- likelihood surfaces over one or two parameters;
* :mod:`.fisher` -- Fisher information and the null dimension the symmetries predict.
"""

from .fisher import FisherInformation, fisher_information, predicted_null_dim
from .likelihood import PopulationNLL, population_nll, sample_nll
from .surface import NLLSurface, nll_surface

__all__ = ["FisherInformation", "NLLSurface", "PopulationNLL", "fisher_information",
           "nll_surface", "population_nll", "predicted_null_dim", "sample_nll"]
