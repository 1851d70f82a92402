"""numba kernels of pwaffine: plain loops over contiguous float64 arrays, one module per concern.

Kernels check nothing and allocate only their scratch space; the model layer
validates and precomputes.  This package imports nothing else of pwaffine.
Every kernel is compiled by :func:`._jit.kernel` (or ``parallel_kernel``),
cached on disk under a digest of all the kernel sources.

* :mod:`.special` -- erfcx, normal interval masses, truncated moments;
* :mod:`.terms` -- the best-first logsumexp over a point's (region, component)
  terms, shared by every density;
* :mod:`.intervals` -- density and score for a 1-D latent;
* :mod:`.polygon_split`, :mod:`.polygon_extract` -- affine regions of a network
  with a 2-D input (convex polygons), point location;
* :mod:`.polygon_quadrature`, :mod:`.polygon_mass` -- the standard bivariate
  normal mass of a convex polygon, in log space;
* :mod:`.polygons` -- density for a 2-D latent.
"""
