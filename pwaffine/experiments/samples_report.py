"""Files of the finite-sample study: ``samples.csv``, ``samples.md`` and ``samples.png``."""

import csv
import json
from pathlib import Path

import numpy as np

from ._style import figure_style, save_figure

__all__ = ["CSV_COLUMNS", "summarise", "write_samples"]

CSV_COLUMNS = ["family", "truth", "n_samples", "replicate", "equivalent", "kl", "prior_distance",
               "nll_fit_on_data", "nll_truth_on_data", "beats_truth", "converged", "seconds"]


def summarise(rows):
    """Per (family, N): fits, fraction equivalent, median KL and prior distance, fraction beating the truth."""
    out = []
    for family in sorted({r["family"] for r in rows}):
        for n in sorted({r["n_samples"] for r in rows if r["family"] == family}):
            sel = [r for r in rows if r["family"] == family and r["n_samples"] == n]
            out.append({
                "family": family, "n_samples": n, "fits": len(sel),
                "equivalent": float(np.mean([r["equivalent"] for r in sel])),
                "kl_median": float(np.median([r["kl"] for r in sel])),
                "prior_distance_median": float(np.median([r["prior_distance"] for r in sel])),
                "beats_truth": float(np.mean([r["beats_truth"] for r in sel])),
            })
    return out


def plot_samples(summary):
    """Log-log: median KL and prior distance against N, with the N^-1 and N^-1/2 slopes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.8))
    for family, marker in (("m=1", "o"), ("m=2", "s")):
        sel = [s for s in summary if s["family"] == family]
        if not sel:
            continue
        n = np.array([s["n_samples"] for s in sel], float)
        kl = np.array([s["kl_median"] for s in sel])
        dist = np.array([s["prior_distance_median"] for s in sel])
        axes[0].loglog(n, np.maximum(kl, 1e-12), marker + "-", label=family)
        axes[1].loglog(n, np.maximum(dist, 1e-12), marker + "-", label=family)
    for ax, power, name in ((axes[0], -1.0, "$N^{-1}$"), (axes[1], -0.5, "$N^{-1/2}$")):
        lines = [line.get_ydata() for line in ax.get_lines()]
        if lines:
            n = np.array(sorted({s["n_samples"] for s in summary}), float)
            anchor = np.exp(np.mean([np.log(y[0]) for y in lines]))
            ax.loglog(n, anchor * (n / n[0]) ** power, "k:", lw=0.8, label=name)
        ax.set_xlabel("samples N")
        ax.legend(frameon=False)
    axes[0].set_ylabel("KL(truth || fit), median (nats)")
    axes[1].set_ylabel(r"dist$_{Aff,L2}$(priors), median")
    fig.tight_layout()
    return fig


def write_samples(out, result, where):
    """Write the study's files into the directory ``out`` (which must exist).

    Returns
    -------
    list of Path
    """
    out = Path(out)
    with open(out / "samples.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in result.rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    summary = summarise(result.rows)
    s = result.settings
    lines = [
        "# pwaffine: how many samples does the truth need?",
        "",
        f"Exact maximum-likelihood fits (`ExactMLE`, {s.n_init} blind starts each, never the "
        f"truth) to N samples of each truth; {len(result.rows)} fits, seed {result.seed}, "
        f"{result.seconds:.0f} s on {where}.",
        "",
        "| family | N | fits | equivalent to the truth | median KL (nats) | median distAff,L2 of "
        "the priors | fit beats the truth on its data |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['family']} | {r['n_samples']} | {r['fits']} | {r['equivalent']:.0%} | "
              f"{r['kl_median']:.3g} | {r['prior_distance_median']:.3g} | {r['beats_truth']:.0%} |"
              for r in summary]
    lines += [
        "",
        "![error against N](samples.png)",
        "",
        "## Definitions",
        "",
        f"- *equivalent*: `find_equivalence(truth, fit, atol={s.equivalence_tol:g}, "
        f"rtol={s.equivalence_tol:g}, support_sd={s.support_sd:g})` finds the affine map of the "
        "latent (and unit and component correspondences) taking the truth to the fit;",
        "- *KL*: KL(P_truth || P_fit) by exact quadrature over x; near the truth it falls like "
        "(number of parameters) / (2N);",
        "- *distAff,L2*: the paper's affine-invariant L2 distance between the priors (the "
        "theorem identifies P(Z) up to an affine map);",
        "- *beats the truth*: the fit's likelihood of its data is at least the truth's (a "
        "maximum must); otherwise the search missed the maximum.",
        "- families: m = 1, the paper's family (appendix J.3.1) with no degeneracy and an "
        "injective f; m = 2, random two-unit leaky-ReLU networks with n = 2, two components and "
        "an injective f. The noise is known (fixed at the truth's), as in the paper's study.",
        "",
        "## Truths",
        "",
        "```json",
        json.dumps([{"family": f, "parameters": a} for f, a in result.truths], indent=1),
        "```",
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(s.as_dict(), indent=1),
        "```",
        "",
    ]
    (out / "samples.md").write_text("\n".join(lines))
    with figure_style():
        fig = plot_samples(summary)
        save_figure(fig, out / "samples.png")
    return [out / "samples.csv", out / "samples.md", out / "samples.png"]
