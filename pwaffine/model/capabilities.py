"""What pwaffine computes, for which models: the one table of supported combinations.

A model ``x = f(z) + eps`` is classified by its latent dimension ``m``, its
observed dimension ``n`` (``1``, ``2`` or ``3+``) and whether it has noise.
:data:`CAPABILITIES` maps each supported combination to the features
available for it; a combination missing from the table is not supported at
all.  :class:`~pwaffine.PushforwardModel` checks the table when it is
constructed and every feature checks it before computing, so a model is
either computed right or refused with an error that names its combination
and lists the ones that offer the feature.  ``tests/test_capabilities.py``
walks the whole table: every entry is checked against an independent
reference, and everything outside it is checked to be refused.

Features
--------
``density``
    ``logpdf``, ``pdf``, ``score_samples``, ``score``, ``sample``: the exact
    density of ``x`` (with respect to Lebesgue measure on ``R^n``; for a
    noiseless model with ``n > m``, with respect to ``m``-dimensional volume
    on the image of ``f``).
``gradient``
    ``logpdf_grad``: the derivatives of ``log p(x)`` with respect to every
    parameter.
``population_nll``
    ``population_nll`` / ``PopulationNLL`` with the model as the truth: the
    integral over ``x`` by adaptive quadrature (``n <= 2``).
``fisher``
    ``fisher_information``.
``equivalence``
    ``find_equivalence`` and ``canonical_form``.
"""

from types import MappingProxyType

__all__ = ["CAPABILITIES", "FEATURES", "capability_table", "combination", "markdown_table",
           "require", "supports"]

FEATURES = MappingProxyType({
    "density": "exact log density (logpdf, pdf, score_samples, score, sample)",
    "gradient": "logpdf_grad, the gradient of log p(x) in every parameter",
    "population_nll": "population_nll / PopulationNLL with this model as the truth",
    "fisher": "fisher_information",
    "equivalence": "find_equivalence and canonical_form",
})

_NOISY_1D = frozenset({"density", "gradient", "fisher", "equivalence"})

#: ``(n_latent, observed class, noisy) -> features``; the observed class is
#: ``"1"``, ``"2"`` or ``"3+"`` (see :func:`combination`).
CAPABILITIES = MappingProxyType({
    (1, "1", True): _NOISY_1D | {"population_nll"},
    (1, "2", True): _NOISY_1D | {"population_nll"},
    (1, "3+", True): _NOISY_1D,
    (1, "1", False): frozenset({"density", "equivalence"}),
    (1, "2", False): frozenset({"density", "equivalence"}),
    (1, "3+", False): frozenset({"density", "equivalence"}),
    (2, "1", True): frozenset({"density", "gradient", "fisher", "equivalence"}),
    (2, "2", True): frozenset({"density", "gradient", "fisher", "population_nll", "equivalence"}),
    (2, "3+", True): frozenset({"density", "gradient", "fisher", "equivalence"}),
    (2, "2", False): frozenset({"density", "equivalence"}),
    (2, "3+", False): frozenset({"density", "equivalence"}),
})

#: Why the combinations outside the table are refused.
_REFUSALS = {
    "latent": "affine regions are enumerated for latent dimensions 1 (intervals) and 2 "
              "(convex polygons) only",
    "noiseless_below": "a noiseless model with n < m has no density with respect to "
                       "Lebesgue measure on its image that pwaffine computes (it would "
                       "need the coarea formula over the level sets of f)",
}


def combination(n_latent, n_features, noisy):
    """The table key of a model: ``(n_latent, "1" | "2" | "3+", noisy)``."""
    observed = str(n_features) if n_features <= 2 else "3+"
    return (int(n_latent), observed, bool(noisy))


def _describe(key):
    m, n, noisy = key
    return f"(m={m}, n={n}, {'noisy' if noisy else 'noiseless'})"


def supports(n_latent, n_features, noisy, feature="density"):
    """Whether ``feature`` is available for the combination.

    Parameters
    ----------
    n_latent, n_features : int
    noisy : bool
    feature : str, default="density"
        One of :data:`FEATURES`.

    Returns
    -------
    bool
    """
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {sorted(FEATURES)}; got {feature!r}")
    return feature in CAPABILITIES.get(combination(n_latent, n_features, noisy), ())


def require(n_latent, n_features, noisy, feature, caller=None, hint=""):
    """Raise ``NotImplementedError`` unless ``feature`` is available for the combination.

    The message names the combination and lists the combinations that offer
    the feature (and, for a combination outside the table, why it is not
    supported), then ``hint``.
    """
    if supports(n_latent, n_features, noisy, feature):
        return
    key = combination(n_latent, n_features, noisy)
    where = [_describe(k) for k, feats in CAPABILITIES.items() if feature in feats]
    what = caller or FEATURES[feature]
    reason = ""
    if key not in CAPABILITIES:
        reason = " " + (_REFUSALS["latent"] if n_latent not in (1, 2)
                        else _REFUSALS["noiseless_below"]) + "."
    raise NotImplementedError(
        f"{what} is not available for a model {_describe(key)}.{reason} It is available for: "
        + ", ".join(where) + "." + (f" {hint}" if hint else "")
    )


def capability_table():
    """The table as rows ``{"m", "n", "noise", feature: bool ...}`` (for documentation)."""
    rows = []
    for key, feats in CAPABILITIES.items():
        m, n, noisy = key
        row = {"m": m, "n": n, "noise": "> 0" if noisy else "0"}
        row.update({feature: feature in feats for feature in FEATURES})
        rows.append(row)
    return rows


def markdown_table():
    """The table as GitHub markdown: one row per combination, one column per feature.

    Examples
    --------
    >>> print(markdown_table().splitlines()[2])
    | 1 | 1 | > 0 | yes | yes | yes | yes | yes |
    """
    lines = ["| m | n | noise | " + " | ".join(FEATURES) + " |",
             "|---|---|---|" + "---|" * len(FEATURES)]
    for row in capability_table():
        cells = [str(row["m"]), row["n"], row["noise"]]
        cells += ["yes" if row[f] else "-" for f in FEATURES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
