"""The identifiability layer: the paper's conditions, equivalence of models, and metrics.

* :mod:`.conditions` -- (F2), (F3) and (P2), each with its evidence;
* :mod:`.equivalence` -- whether two models are equivalent, the transformation
  that maps one onto the other, and canonical forms;
* :mod:`.metrics` -- MCC between latent codes, the L2 and affine-invariant
  distances between mixture priors.
"""

from .conditions import Verdict, check_p2, is_injective, is_weakly_injective
from .equivalence import Equivalence, UnitMatch, canonical_form, find_equivalence
from .metrics import AffineDistance, MCCResult, dist_aff_l2, l2_distance, mcc

__all__ = ["AffineDistance", "Equivalence", "MCCResult", "UnitMatch", "Verdict",
           "canonical_form", "check_p2", "dist_aff_l2", "find_equivalence", "is_injective",
           "is_weakly_injective", "l2_distance", "mcc"]
