"""numba kernels of pwaffine: plain loops over contiguous float64 arrays, one module per concern.

Kernels check nothing and allocate only their scratch space; the model layer
validates and precomputes.  This package imports nothing else of pwaffine.
Every kernel is compiled by :func:`._jit.kernel` (or ``parallel_kernel``),
cached on disk under a digest of all the kernel sources.

* :mod:`.simd` -- quadrature sums as vector instructions (four nodes at a
  time), and their exp;
* :mod:`.views` -- array views without an owner, for loops that bind many
  arrays per step (numba's reference counts are atomic);
* :mod:`.special` -- erfcx, normal interval masses, truncated moments;
* :mod:`.owens_t` -- Owen's T function with an error bound, and the Gaussian
  shadow of a line segment;
* :mod:`.terms` -- the best-first logsumexp over a point's (region, component)
  terms, shared by every density;
* :mod:`.intervals` -- density and score for a 1-D latent;
* :mod:`.polygon_split`, :mod:`.polygon_extract` -- affine regions of a network
  with a 2-D input (convex polygons), point location;
* :mod:`.polygon_geometry` -- a convex polygon seen from the origin: edges,
  vertices, distance;
* :mod:`.polygon_fan` -- its standard bivariate normal mass by the fan of edge
  shadows (Owen's T), with an absolute error bound: cheap near the mean;
* :mod:`.polygon_quadrature`, :mod:`.polygon_mass` -- the same mass by polar
  quadrature, in log space, accurate far into the tails; the public mass
  chooses between the two;
* :mod:`.polygon_moments` -- its conditional moments (the 2-D gradients);
* :mod:`.polygons` -- density and score for a 2-D latent.
"""
