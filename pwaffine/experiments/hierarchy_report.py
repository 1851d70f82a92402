"""Files of the hierarchy report: ``hierarchy.csv``, ``.md``, ``.json`` and ``hierarchy.png``.

The figure: left and middle, Fisher-information spectra of every case with a
1-D and a 2-D latent, indexed from the smallest singular value and shifted by
the predicted null dimension, so identifiability up to the model's symmetries
puts every jump at the dotted line; right, the counterexample ``f(z) = |z|``:
two priors that are not affinely equivalent with one and the same ``P(X)``.
"""

import csv
import json
from pathlib import Path

import numpy as np

from ._style import figure_style, save_figure
from .hierarchy import CSV_COLUMNS

__all__ = ["plot_hierarchy", "write_hierarchy"]


def write_hierarchy(out, result):
    """Write the report's files into the directory ``out`` (which must exist).

    Returns
    -------
    list of Path
    """
    out = Path(out)
    cases = result.cases
    with open(out / "hierarchy.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for case in cases:
            writer.writerow(case.row())
    _write_markdown(out / "hierarchy.md", cases, result.seed, result.seconds)
    (out / "hierarchy.json").write_text(json.dumps(
        [{**c.row(), "notes": c.notes} for c in cases], indent=1))
    with figure_style():
        fig = plot_hierarchy(cases)
        save_figure(fig, out / "hierarchy.png")
    return [out / name for name in ("hierarchy.csv", "hierarchy.md", "hierarchy.json",
                                    "hierarchy.png")]


def plot_hierarchy(cases):
    """The three panels from the report's cases."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for ax, m in zip(axes[:2], (1, 2)):
        for c in cases:
            if c.m != m or c.spectrum is None:
                continue
            # Index from the smallest singular value, shifted by the predicted null
            # dimension: identifiability up to the symmetries puts every jump at 0.
            k = np.arange(c.spectrum.size) - c.predicted_null_dim
            style = "-" if c.case.startswith("random") else "--"
            ax.semilogy(k, np.maximum(c.spectrum[::-1], 1e-18), style, lw=1.0, marker=".", ms=3,
                        label=None if style == "-" else c.case.split(":")[0])
        ax.axvline(-0.5, color="k", lw=0.8, ls=":")
        ax.set_xlabel("index from the smallest - predicted null dim")
        ax.set_ylabel("singular value / largest")
        ax.set_title(f"Fisher spectra, m = {m}")
        if any(c.m == m and c.spectrum is not None and not c.case.startswith("random")
               for c in cases):
            ax.legend(frameon=False, fontsize=6, loc="lower right")
    ax = axes[2]
    abs_case = next(c for c in cases if c.case.startswith("counterexample |z|"))
    a, b = abs_case.extra["models"]
    z = np.linspace(-5, 5, 801)[:, None]
    ax.plot(z, a.prior.pdf(z), label="prior 1: N(1) + N(3)")
    ax.plot(z, b.prior.pdf(z), "--", label="prior 2: N(1) + N(-3)")
    x = np.linspace(-1, 5, 801)[:, None]
    ax.plot(x, a.pdf(x), color="k", lw=2.2, alpha=0.35, label="P(X), prior 1")
    ax.plot(x, b.pdf(x), ":", color="k", lw=1.2, label="P(X), prior 2")
    ax.set_title("f(z) = |z|: two priors, one P(X)")
    ax.set_xlabel("z (priors) / x (P(X))")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def _write_markdown(path, cases, seed, elapsed):
    fisher = [c for c in cases if c.predicted_null_dim != "" and c.case.startswith("random")]
    matched = sum(c.predicted_null_dim == c.measured_null_dim for c in fisher)
    by_m = {m: [c for c in fisher if c.m == m] for m in (1, 2)}
    lines = [
        "# pwaffine: the identifiability hierarchy, checked with exact likelihoods",
        "",
        f"Seed {seed}; {elapsed:.0f} s.  Theorem 3.5 of Kivva et al. (2022): (a) (F2) => P(Z) "
        "identifiable up to an affine map; (b) + (P2) => up to permutation, scaling and "
        "translation; (d) + (F3) => f identifiable up to an affine map.",
        "",
        f"**Local identifiability**: the Fisher null space of {matched} of {len(fisher)} random "
        "weakly injective models has exactly the dimension of the family's continuous symmetries "
        f"(m = 1: {sum(c.predicted_null_dim == c.measured_null_dim for c in by_m[1])}/"
        f"{len(by_m[1])}; m = 2: {sum(c.predicted_null_dim == c.measured_null_dim for c in by_m[2])}"
        f"/{len(by_m[2])}).",
        "",
        "| case | m | n | part | F2 | F3 | P2 | predicted null dim | measured null dim | "
        "KL between alternatives | affinely equivalent |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        r = c.row()
        lines.append("| " + " | ".join(str(r[k]) for k in CSV_COLUMNS) + " |")
    lines += ["", "## Notes per case", ""]
    lines += [f"- **{c.case}**: {c.notes}" for c in cases if c.notes]
    lines += [
        "", "## Method", "",
        "- Fisher information of the free parameters (mixture weights but the last, means, "
        "covariance entries of the prior family, every network weight and bias, the noise): "
        "analytic scores (every derivative an expectation under the truncated posterior, in "
        "closed form per region) and quadrature over x (n <= 2: every case here). "
        "Numerical rank at the largest gap between consecutive singular values of the weighted "
        "score matrix below 1e-6 of the largest (`pwaffine.inference.fisher`).",
        "- Predicted null dimension: affine maps of the latent the prior family absorbs "
        "(m^2 + m for full covariances, 2m for the diagonal (P2) family) plus one positive "
        "rescaling per hidden unit.",
        "- KL between alternatives: exact quadrature over x (`PopulationNLL`), for m = 1 and "
        "m = 2 alike.",
        "- (F2) and (F3) are checked exactly from the regions and their images "
        "(`pwaffine.conditions`); (P2) by `pwaffine.check_p2`.",
        "",
        "![spectra and counterexample](hierarchy.png)",
        "",
    ]
    Path(path).write_text("\n".join(lines))
