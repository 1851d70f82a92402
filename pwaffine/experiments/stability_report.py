"""Files of the stability experiments: ``<dataset>.csv``, ``.md`` and ``.png`` (Figure 2's counterpart)."""

import csv
import json
from pathlib import Path

import numpy as np

from ._style import figure_style, save_figure
from .stability import PAPER

__all__ = ["plot_latents", "summary_rows", "write_stability"]

_LABELS = {("mle", "full"): "exact MLE, full covariances",
           ("mle", "diag"): "exact MLE, diagonal covariances (P2)",
           ("vade", "full"): "VaDE, full covariances",
           ("vade", "diag"): "VaDE, diagonal covariances (P2)",
           ("vade", "relu"): "VaDE, ReLU", ("vade", "leaky"): "VaDE, leaky ReLU"}


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.3f} ({np.std(values):.3f})"


def summary_rows(result):
    """One row per (method, variant): pairwise MCC and distAff,L2, likelihoods and bounds."""
    rows = []
    for key, pairs in result.pairs.items():
        fits = [f for f in result.fits if (f["method"], f["variant"]) == key]
        rows.append({
            "method": _LABELS.get(key, " ".join(key)), "fits": len(fits), "pairs": len(pairs),
            "mcc_strong": _mean_sd([p["mcc_strong"] for p in pairs]),
            "mcc_weak": _mean_sd([p["mcc_weak"] for p in pairs]),
            "dist_aff_l2": _mean_sd([p["dist_aff_l2"] for p in pairs]),
            "exact_train": _mean_sd([f["exact_train"] for f in fits]),
            "exact_test": _mean_sd([f["exact_test"] for f in fits]),
            "elbo_train": _mean_sd([f["elbo_train"] for f in fits]),
            "elbo_test": _mean_sd([f["elbo_test"] for f in fits]),
            "gap_train": _mean_sd([f["exact_train"] - f["elbo_train"] for f in fits
                                   if f["exact_train"] is not None and f["elbo_train"] is not None]),
        })
    return rows


def plot_latents(result, max_fits=5):
    """The fitted latent spaces (codes of held-out points, coloured by label): one row per method."""
    import matplotlib.pyplot as plt

    keys = list(result.pairs)
    n_cols = min(max_fits, max(len([f for f in result.fits if (f["method"], f["variant"]) == k])
                               for k in keys))
    fig, axes = plt.subplots(len(keys), n_cols, figsize=(1.8 * n_cols, 1.8 * len(keys)),
                             squeeze=False)
    for row, key in enumerate(keys):
        fits = [f for f in result.fits if (f["method"], f["variant"]) == key][:n_cols]
        for col, fit in enumerate(fits):
            ax = axes[row, col]
            codes = fit["codes"]
            ax.scatter(codes[:, 0], codes[:, 1], c=fit["labels"], s=1.5, cmap="tab10",
                       vmin=0, vmax=9, rasterized=True)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(_LABELS.get(key, " ".join(key)), fontsize=6)
            if row == 0:
                ax.set_title(f"run {fit['fit'] + 1}")
    fig.tight_layout()
    return fig


def write_stability(out, result, where):
    """Write ``<dataset>.csv`` (every pair), ``.md`` and ``.png`` into ``out`` (which must exist)."""
    out = Path(out)
    name = result.dataset
    with open(out / f"{name}.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "variant", "fit_a", "fit_b", "mcc_strong", "mcc_weak",
                         "dist_aff_l2"])
        for (method, variant), pairs in result.pairs.items():
            for p in pairs:
                writer.writerow([method, variant, *p["pair"], f"{p['mcc_strong']:.6g}",
                                 f"{p['mcc_weak']:.6g}",
                                 "" if p["dist_aff_l2"] is None else f"{p['dist_aff_l2']:.6g}"])
    rows = summary_rows(result)
    lines = [
        f"# pwaffine: stability of fitted latent spaces, {name}",
        "",
        f"{len(result.fits)} fits, seed {result.seed}, {result.seconds:.0f} s on {where}.  "
        "Mean (sd) over every pair of runs; MCC out of sample on held-out points (codes: "
        "posterior means of z); exact log-likelihoods per point, in nats.",
        "",
        "| method | runs | pairs | strong MCC | weak MCC | distAff,L2 | exact log-lik (train) | "
        "exact log-lik (test) | ELBO (train) | ELBO (test) | exact - ELBO (train) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['method']} | {r['fits']} | {r['pairs']} | {r['mcc_strong']} | "
              f"{r['mcc_weak']} | {r['dist_aff_l2']} | {r['exact_train']} | {r['exact_test']} | "
              f"{r['elbo_train']} | {r['elbo_test']} | {r['gap_train']} |" for r in rows]
    lines += ["", f"The paper: {PAPER[name]}.", "", f"![latent spaces]({name}.png)", "",
              "## Settings", "", "```json", json.dumps(result.settings.as_dict(), indent=1),
              "```", ""]
    (out / f"{name}.md").write_text("\n".join(lines))
    with figure_style():
        fig = plot_latents(result)
        save_figure(fig, out / f"{name}.png")
    return [out / f"{name}.csv", out / f"{name}.md", out / f"{name}.png"]
