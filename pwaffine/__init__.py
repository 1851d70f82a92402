"""pwaffine: exact likelihoods for deep latent-variable models with piecewise-affine decoders.

``x = f(z) + eps`` with ``z`` a Gaussian mixture and ``f`` a (leaky) ReLU
network.  pwaffine partitions the latent space into the affine regions of
``f`` and integrates the prior over each in closed form, giving the exact
density of ``x``.
"""

from .mixture import GaussianMixture
from .model import PushforwardModel
from .network import ReLUNetwork
from .regions import IntervalRegions

__version__ = "0.1.0"

__all__ = [
    "GaussianMixture",
    "IntervalRegions",
    "PushforwardModel",
    "ReLUNetwork",
]
