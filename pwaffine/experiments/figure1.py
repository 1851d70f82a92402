"""The paper's Figure 1 from exact population likelihoods.

Three panels, each one parameter of one of the study's models varied over
[-5, 5] at 251 points (step 0.04) with the others at the truth: population
NLL, a vertical line at the truth and one at the minimiser, a horizontal line
at the minimum, other local minima marked.

Panel choice (favouring nonconvex slices, as the paper's "particularly
interesting, nonconvex examples"): among the beta_1 and beta_2 slices of the
study's models (``--runs`` models drawn with ``--seed``, exactly the models of
``python -m pwaffine study`` with the same arguments), keep those whose global
minimiser is the truth (within one grid step) and that have another interior
local minimum; score each by the prominence of its best secondary minimum
(the depth of its basin: the lower of the highest points met walking left and
right from it until the curve drops below it, minus its value) divided by the
slice's NLL range, so that the secondary basin is clearly visible on the
plotted scale; take the three best from different models.  If fewer than three qualify, the remaining panels are the
most nonconvex other slices by the same score.

``python -m pwaffine figure1 --out figures/figure1.png [--cache results/figure1.npz]``
writes PATH.png, PATH.pdf and PATH.json (the panels' numbers).  The slices
are cached in ``--cache`` (an .npz), so replotting is cheap.
"""

import json
from pathlib import Path

import numpy as np

from ..inference import NLLSurface, nll_surface
from ._style import figure_style, save_figure
from .executors import run_jobs
from .paper_family import (
    StudySettings,
    draw_models,
    model_args,
    paper_model,
    paper_parameter_names,
)

__all__ = ["compute", "make_figure1", "plot", "select"]

PARAMETERS = ("beta1", "beta2")
LABELS = {"beta1": r"$\beta_1$", "beta2": r"$\beta_2$"}


def _slices_job(job):
    """The beta slices of one model (module level, so that executors can pickle it)."""
    run, truth_args = job
    truth = paper_model(**truth_args)
    settings = StudySettings()
    grid = np.linspace(*settings.slice_range, settings.slice_points)
    names = paper_parameter_names(truth.prior.n_components)
    return [(run, short, names[short], nll_surface(truth, names[short], grid, truth=truth))
            for short in PARAMETERS]


def compute(runs=50, seed=0, executor=None, on_result=None):
    """Slices over beta_1 and beta_2 for the study's models; returns a dict of arrays.

    The models are those of ``python -m pwaffine study`` with the same
    ``runs`` and ``seed``; one job per model runs on ``executor`` (None: here).
    """
    settings = StudySettings()
    grid = np.linspace(*settings.slice_range, settings.slice_points)
    models = draw_models(runs, seed, settings)
    jobs = [(run, model_args(m)) for run, m in enumerate(models)]
    records = [r for job in run_jobs(_slices_job, jobs, executor, on_result) for r in job]
    return {
        "runs": runs, "seed": seed, "grid": grid,
        "run": np.array([r[0] for r in records]),
        "short": np.array([r[1] for r in records]),
        "name": np.array([r[2] for r in records]),
        "values": np.array([r[3].values for r in records]),
        "truth": np.array([r[3].truth[0] for r in records]),
        "argmin": np.array([r[3].argmin[0] for r in records]),
        "nll_min": np.array([r[3].min_value for r in records]),
        "nll_truth": np.array([r[3].nll_truth for r in records]),
        "local_minima": np.array([json.dumps([[m["location"][0], m["value"]]
                                              for m in r[3].local_minima if not m["is_global"]])
                                  for r in records]),
        "noise_std": settings.noise_std, "component_std": settings.component_std,
    }


def prominence(values, i):
    """Depth of the basin of the local minimum at grid index ``i``.

    Walk left (right) from ``i`` until the curve drops below ``values[i]`` or the
    grid ends; the basin is as deep as the lower of the two highest points met.
    """
    v = values[i]
    peaks = []
    for step in (-1, 1):
        j, peak = i, v
        while 0 <= j + step < values.size and values[j + step] >= v:
            j += step
            peak = max(peak, values[j])
        peaks.append(peak)
    return min(peaks) - v


def score(grid, values, argmin, local_minima):
    """Best prominence of a secondary minimum relative to the curve's range (0 if none)."""
    if not local_minima:
        return 0.0
    finite = np.where(np.isfinite(values), values, np.nanmax(values[np.isfinite(values)]))
    span = finite.max() - finite.min()
    best = 0.0
    for loc, _ in local_minima:
        i = int(np.argmin(np.abs(grid - loc)))
        best = max(best, prominence(finite, i) / span)
    return best


def select(data, n_panels=3):
    """Indices of the chosen slices (see the module docstring for the rule)."""
    grid = data["grid"]
    step = grid[1] - grid[0]
    scored = []
    for i in range(len(data["run"])):
        minima = json.loads(str(data["local_minima"][i]))
        s = score(grid, data["values"][i], data["argmin"][i], minima)
        at_truth = abs(data["argmin"][i] - data["truth"][i]) <= step
        scored.append((not (at_truth and s > 0), -s, i))
    scored.sort()
    chosen, used = [], set()
    for _, _, i in scored:
        if int(data["run"][i]) not in used:
            chosen.append(i)
            used.add(int(data["run"][i]))
        if len(chosen) == n_panels:
            break
    return chosen


def panels(data, chosen):
    grid = data["grid"]
    out = []
    for i in chosen:
        out.append({
            "run": int(data["run"][i]),
            "parameter": f"{data['short'][i]} ({data['name'][i]})",
            "truth": float(data["truth"][i]),
            "argmin": float(data["argmin"][i]),
            "grid_step": float(grid[1] - grid[0]),
            "nll_min": float(data["nll_min"][i]),
            "nll_truth": float(data["nll_truth"][i]),
            "local_minima": json.loads(str(data["local_minima"][i])),
        })
    return out


def surface(data, i):
    """Slice ``i`` of the cached data as an NLLSurface (for its plot method)."""
    minima = [{"location": (float(data["argmin"][i]),), "value": float(data["nll_min"][i]),
               "is_global": True}]
    minima += [{"location": (loc,), "value": val, "is_global": False}
               for loc, val in json.loads(str(data["local_minima"][i]))]
    values = data["values"][i]
    return NLLSurface(
        parameters=(str(data["name"][i]),), grids=(data["grid"],), values=values,
        truth=(float(data["truth"][i]),), argmin=(float(data["argmin"][i]),),
        min_value=float(data["nll_min"][i]), local_minima=minima, kind="population",
        nll_truth=float(data["nll_truth"][i]), invalid=~np.isfinite(values),
    )


def plot(data, chosen):
    """The figure: one row of panels, each drawn by NLLSurface.plot."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(chosen), figsize=(7.2, 2.3))
    axes = np.atleast_1d(axes)
    for ax, i in zip(axes, chosen):
        short = str(data["short"][i])
        surface(data, i).plot(ax, label=LABELS.get(short, short))
        ax.set_title(f"model {int(data['run'][i])}", pad=2)
        ax.set_xlim(data["grid"][0], data["grid"][-1])
        ax.set_ylabel("")
    axes[0].set_ylabel("NLL")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(w_pad=0.8, rect=(0, 0.07, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    return fig


def load_cache(cache, runs, seed):
    """The cached slices if ``cache`` holds those of ``runs`` models drawn with ``seed``, else None."""
    cache = Path(cache)
    if not cache.exists():
        return None
    loaded = dict(np.load(cache, allow_pickle=False))
    if int(loaded["runs"]) == runs and int(loaded["seed"]) == seed:
        return loaded
    return None


def make_figure1(out, data):
    """Choose the panels, draw them, and write ``out`` (.png, .pdf) and its .json.

    Returns
    -------
    dict
        The panels' numbers, as written to the .json.
    """
    out = Path(out)
    chosen = select(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    with figure_style():
        fig = plot(data, chosen)
        save_figure(fig, out, pdf=True)
    info = {
        "panels": panels(data, chosen),
        "selection": "beta slices of the study's models whose global minimiser is the truth, "
                     "ranked by the prominence of their best secondary minimum relative to "
                     "the slice's NLL range; one panel per model",
        "runs": int(data["runs"]), "seed": int(data["seed"]),
        "noise_std": float(data["noise_std"]), "component_std": float(data["component_std"]),
        "grid": [float(data["grid"][0]), float(data["grid"][-1]), int(data["grid"].size)],
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info
