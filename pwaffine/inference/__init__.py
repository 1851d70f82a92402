"""The inference layer: likelihoods, surfaces and Fisher information from the exact density.

* :mod:`.quadrature` -- adaptive Gauss-Kronrod rules over ``x``;
* :mod:`.domain` -- the one builder of the region of ``x`` carrying a model's mass;
* :mod:`.likelihood` -- sample and population negative log-likelihoods;
* :mod:`.surface` -- likelihood surfaces over one or two parameters;
* :mod:`.fisher` -- Fisher information and the null dimension the symmetries predict;
* :mod:`.fitting` -- :class:`ExactMLE`, exact maximum-likelihood fits to data
  (parametrisation in :mod:`._parametrization`, starts in :mod:`._initialization`).
"""

from .fisher import FisherInformation, fisher_information, predicted_null_dim
from .fitting import ExactMLE, FitRestart
from .likelihood import PopulationNLL, population_nll, sample_nll
from .surface import NLLSurface, nll_surface

__all__ = ["ExactMLE", "FisherInformation", "FitRestart", "NLLSurface", "PopulationNLL", "fisher_information",
           "nll_surface", "population_nll", "predicted_null_dim", "sample_nll"]
