"""The model layer: ``x = f(z) + eps`` and its exact density.

* :mod:`.network` -- the decoder ``f``, a (leaky) ReLU network;
* :mod:`.mixture` -- the Gaussian-mixture prior on ``z``;
* :mod:`.intervals`, :mod:`.polygons` -- the affine regions of ``f`` for a 1-D
  latent (intervals) and a 2-D latent (convex polygons);
* :mod:`.gaussian_polygon` -- the Gaussian probability of a convex polygon;
* :mod:`.density_intervals`, :mod:`.density_polygons`, :mod:`.density_noiseless`
  -- the density backends (by latent dimension, and without noise);
* :mod:`.capabilities` -- the one table of what is supported;
* :mod:`.parameters` -- parameters by name;
* :mod:`.pushforward` -- :class:`PushforwardModel`, which ties them together.
"""

from .capabilities import capability_table
from .intervals import IntervalRegions
from .mixture import GaussianMixture
from .network import ReLUNetwork
from .polygons import PolygonRegions
from .pushforward import PushforwardModel

__all__ = ["GaussianMixture", "IntervalRegions", "PolygonRegions", "PushforwardModel",
           "ReLUNetwork", "capability_table"]
