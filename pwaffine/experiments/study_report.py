"""Files of the study: ``study.csv``, ``study.md`` and ``runs/run_NNN.json``."""

import csv
import json
from pathlib import Path

import numpy as np

from .study import global_search

__all__ = ["CSV_COLUMNS_HEAD", "CSV_COLUMNS_TAIL", "write_study"]


CSV_COLUMNS_HEAD = ["run", "n_components"]
CSV_COLUMNS_TAIL = [
    "alpha1", "alpha2", "beta1", "beta2", "pi1", "pi2", "noise_std", "nll_truth",
    "nll_global_min", "n_global_minimizers", "unique_up_to_equivalence",
    "unique_among_weakly_injective", "n_local_minima",
    "misspecification", "kl_nearest_alternative", "found_by_blind_search", "slices_min_at_truth",
    "slices_with_local_minima",
    "n_evaluations", "seconds",
]


def _csv_columns(max_j=3):
    cols = list(CSV_COLUMNS_HEAD)
    for name in ("lambda", "mu", "sigma"):
        cols += [f"{name}{j + 1}" for j in range(max_j)]
    return cols + CSV_COLUMNS_TAIL


def _write_csv(path, rows):
    cols = _csv_columns()
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def _write_markdown(path, rows, settings, seed, elapsed, where):
    n = len(rows)
    unique = sum(bool(r["unique_up_to_equivalence"]) for r in rows)
    unique_f2 = sum(bool(r["unique_among_weakly_injective"]) for r in rows)
    truth_min = sum(float(r["nll_truth"]) <= float(r["nll_global_min"]) + settings.value_tol
                    for r in rows)
    blind = sum(bool(r["found_by_blind_search"]) for r in rows)
    unique_rows = [r for r in rows if r["unique_up_to_equivalence"]]
    blind_unique = sum(bool(r["found_by_blind_search"]) for r in unique_rows)
    with_local = sum(r["n_local_minima"] > 0 for r in rows)
    slice_local = sum(r["slices_with_local_minima"] > 0 for r in rows)
    clean = [r for r in rows
             if all("F3" in f for f in r["misspecification"].split("; ") if f)]
    clean_unique = sum(bool(r["unique_up_to_equivalence"]) for r in clean)
    clean_f2 = sum(bool(r["unique_among_weakly_injective"]) for r in clean)
    kls = np.array([float(r["kl_nearest_alternative"]) for r in unique_rows])
    finite = kls[np.isfinite(kls)]
    quantiles = (np.percentile(finite, [0, 10, 50, 90]) if finite.size else None)
    flags = {}
    for r in rows:
        for flag in filter(None, (f.strip() for f in r["misspecification"].split(";"))):
            key = flag.split(" (")[0] if not flag.startswith("zero weight") else "zero weight"
            if flag.startswith("f constant on"):
                key = "f constant on >= 10% of the prior mass"
            flags[key] = flags.get(key, 0) + 1
    lines = [
        "# pwaffine study: is the truth the unique global NLL minimiser?",
        "",
        f"{n} random models of the paper's family (appendix J.3.1), seed {seed}; exact "
        f"population NLL; {elapsed:.0f} s on {where}.",
        "",
        "**Identifiability margin** (the headline): for each model whose truth is the unique "
        "global minimiser, the KL divergence from the truth to the best minimiser the search "
        "found that is *not* equivalent to it (how much worse the nearest alternative "
        "explains the data): "
        + (f"min {quantiles[0]:.3g}, 10% {quantiles[1]:.3g}, median {quantiles[2]:.3g}, "
           f"90% {quantiles[3]:.3g} nats over {finite.size} models." if finite.size
           else "no alternative found."),
        f"The truth's class was reached from a blind start (not the start at the truth) in "
        f"{blind_unique} of the {len(unique_rows)} models whose truth is unique.",
        "",
        "| quantity | models |",
        "|---|---|",
        f"| models | {n} |",
        f"| truth attains the lowest NLL found (within {settings.value_tol:g} nats) | {truth_min} |",
        f"| truth is the unique global minimiser up to equivalence | {unique} |",
        f"| ... among minimisers whose network is weakly injective (F2) | {unique_f2} |",
        f"| truth's class also reached from a blind start | {blind} |",
        f"| other (non-global) local minima found by the search | {with_local} |",
        f"| a one-parameter slice with another local minimum | {slice_local} |",
        "",
        f"Among the {len(clean)} models with no degeneracy (no flag but the failure of (F3), "
        f"which Theorem 3.5(a) does not need) the truth is the unique global minimiser in "
        f"{clean_unique}, and unique among weakly injective minimisers in {clean_f2}.",
        "",

        "Degeneracies and assumption failures among the models (a model can have several):",
        "",
        "| flag | models |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(flags.items())] or ["| none | 0 |"]
    lines += ["", "## Models where the truth is not the unique global minimiser", ""]
    bad = [r for r in rows if not r["unique_up_to_equivalence"]]
    if not bad:
        lines.append("None.")
    else:
        lines += ["| run | global classes | unique among F2 minimisers | KL nearest alternative "
                  "| misspecification of the truth |", "|---|---|---|---|---|"]
        lines += [f"| {r['run']} | {r['n_global_minimizers']} | {r['unique_among_weakly_injective']} "
                  f"| {float(r['kl_nearest_alternative']):.3g} | {r['misspecification'] or 'none'} |"
                  for r in bad]
        lines += ["", "Every minimiser, its parameters and the transformation to the truth are in "
                  "`runs/run_NNN.json`."]
    lines += [
        "", "## Definitions", "",
        "- *equivalent*: `find_equivalence` finds an affine map h of the latent with "
        "prior' = h#prior and f' = f o h^-1 on the latent range within "
        f"{settings.support_sd:g} prior standard deviations (tolerance {settings.param_tol:g}), "
        "after dropping zero-weight components, merging identical ones, and dropping dead or "
        "constant units;",
        f"- *global minimiser*: NLL within {settings.value_tol:g} nats of the best found;",
        "- *unique among F2 minimisers*: every global minimiser whose network is weakly "
        "injective (condition F2 of the theorem, checked exactly) is equivalent to the truth; "
        "the theorem's identifiability is within that class, and the search space is not "
        "restricted to it;",
        "- *kl_nearest_alternative*: NLL excess over the truth of the best minimiser class not "
        "equivalent to the truth (inf if the search found none);",
        "- the search: " + " ".join(global_search.__doc__.split("Parameters")[0].split())
        .replace("Search all family parameters jointly for the population-NLL minimisers. ", ""),
        "", "## Settings", "", "```json", json.dumps(settings.as_dict(), indent=1), "```", "",
    ]
    Path(path).write_text("\n".join(lines))


def write_study(out, result, where):
    """Write the study's files into the directory ``out`` (which must exist).

    Parameters
    ----------
    out : path
    result : StudyResult
    where : str
        Where it ran, for the summary (e.g. ``"2 processes"``).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    runs = out / "runs"
    runs.mkdir(exist_ok=True)
    written = []
    for details in result.details:
        path = runs / f"run_{details['run']:03d}.json"
        path.write_text(json.dumps(details, indent=1))
        written.append(path)
    _write_csv(out / "study.csv", result.rows)
    _write_markdown(out / "study.md", result.rows, result.settings, result.seed,
                    result.seconds, where)
    return written + [out / "study.csv", out / "study.md"]
