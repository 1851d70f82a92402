"""Scaling of the 1-D-latent logpdf: time vs points, regions, components and observed dimension.

Base workload: the issue's target model (random ``1-16-16-2`` network,
``rng=0``; J = 3; n = 2) at noise_std 0.1 with 2e4 points drawn from it.  Each
sweep changes one factor, the others at the base:

* points: 1e2 ... 1e6;
* regions: width w of a depth-2 network ``1-w-w-2`` (w = 4 ... 64);
* components: J = 1 ... 16 (equal weights, means evenly spaced on [-2, 2],
  variance 0.3);
* observed dimension: ``1-16-16-n``, n = 1 ... 32.

Beside pwaffine, in the same run: the textbook closed form
(``pwaffine._reference.logpdf_closed_form``, scipy, every term; timed on at
most 2000 points and scaled to the workload).  Accuracy of both: max |log p
error| against ``scipy.integrate.quad`` over z (``logpdf_quad``, epsrel 1e-12)
on a few points.  The plot (``figures/bench_scaling.png``) shows time against
each factor.
"""

import argparse
import sys
import warnings

import numpy as np

from _common import (figure_link, fmt_error, fmt_ratio, fmt_time, markdown_table, n_terms,
                     pyplot, save_figure, target_model_1d, timed)

from pwaffine import GaussianMixture, PushforwardModel
from pwaffine._reference import logpdf_closed_form, logpdf_quad

NOISE = 0.1
BASE_POINTS = 20_000
TEXTBOOK_POINTS = 2000


def mixture(n_components):
    """Equal weights, means evenly spaced on [-2, 2] (0 for J = 1), variance 0.3."""
    means = np.linspace(-2.0, 2.0, n_components) if n_components > 1 else np.zeros(1)
    return GaussianMixture(np.full(n_components, 1.0 / n_components), means[:, None],
                           np.full((n_components, 1, 1), 0.3))


def sweeps(quick):
    """``{factor: [(value, model, n_points), ...]}``."""
    base = target_model_1d(NOISE)
    if quick:
        values = {"points": (100, 1000, 5000), "width": (4, 16), "components": (1, 4),
                  "dimension": (1, 4)}
        n_base = 2000
    else:
        values = {"points": (100, 1000, 10_000, 100_000, 1_000_000), "width": (4, 8, 16, 32, 64),
                  "components": (1, 2, 4, 8, 16), "dimension": (1, 2, 4, 8, 16, 32)}
        n_base = BASE_POINTS
    out = {"points": [(n, base, n) for n in values["points"]]}
    out["width"] = [(w, target_model_1d(NOISE, sizes=(1, w, w, 2)), n_base) for w in values["width"]]
    out["components"] = [(J, PushforwardModel(mixture(J), base.network, NOISE), n_base)
                         for J in values["components"]]
    out["dimension"] = [(n, target_model_1d(NOISE, sizes=(1, 16, 16, n)), n_base)
                        for n in values["dimension"]]
    return out


def accuracy(model, X, cache, n_quad):
    """``(pwaffine text, textbook text)``: max |log error| against quad on ``n_quad`` points."""
    key = id(model)
    if key not in cache:
        with np.errstate(divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = np.array([logpdf_quad(model, x) for x in X[:n_quad]])
        cache[key] = (fmt_error(model.logpdf(X[:n_quad]), ref),
                      fmt_error(logpdf_closed_form(model, X[:n_quad]), ref))
    return cache[key]


def plot(results, quick):
    plt = pyplot()
    labels = {"points": "number of points", "width": "regions (network 1-w-w-2)",
              "components": "components J", "dimension": "observed dimension n"}
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(2, 2, figsize=(6.6, 5.2))
    for ax, (factor, rows) in zip(axes.ravel(), results.items()):
        x = np.array([r["x"] for r in rows], float)
        ax.loglog(x, [r["t_ours"] for r in rows], "o-", ms=3, color="k", label="pwaffine")
        ax.loglog(x, [r["t_textbook"] for r in rows], "s--", ms=3, color="C1",
                  label=f"textbook closed form (scipy; scaled from {TEXTBOOK_POINTS} points above that)")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(labels[factor])
        ax.set_ylabel("time (s)")
        if factor != "points":
            ax.set_title(f"{rows[0]['n_points']} points", fontsize=8)
    axes[0, 0].legend(loc="upper left")
    fig.suptitle(f"logpdf time, 1-D latent (base: 1-16-16-2, J=3, n=2, noise {NOISE:g})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, "scaling", quick)


def main(quick=False, out=sys.stdout):
    repeat = 1 if quick else 3
    n_quad = 1 if quick else 2
    rows, results, cache = [], {}, {}
    for factor, cases in sweeps(quick).items():
        results[factor] = []
        for value, model, n_points in cases:
            X = model.sample(n_points, rng=1)
            model.logpdf(X[:10])
            model.logpdf(X[:5000])  # serial and parallel kernels loaded before timing
            _, t_ours = timed(lambda: model.logpdf(X), repeat)
            X_tb = X[:TEXTBOOK_POINTS]
            _, t_tb = timed(lambda: logpdf_closed_form(model, X_tb), 1)
            t_tb *= len(X) / len(X_tb)
            err_ours, err_tb = accuracy(model, X, cache, n_quad)
            K = model.network.affine_regions().n_regions
            J = model.prior.n_components
            count = n_terms(model, len(X))
            x = K if factor == "width" else value
            results[factor].append({"x": x, "t_ours": t_ours, "t_textbook": t_tb,
                                    "n_points": len(X)})
            workload = (f"{factor}: 1-{'-'.join(map(str, model.network.hidden_sizes))}-"
                        f"{model.n_features}, K={K}, J={J}, n={model.n_features}, {len(X)} points")
            rows.append((workload, "pwaffine logpdf", err_ours, fmt_time(t_ours),
                         f"{count / t_ours:.3g}", "1x"))
            scaled = "" if len(X_tb) == len(X) else f", timed on {len(X_tb)} points, scaled"
            rows.append((workload, f"textbook closed form (scipy{scaled})", err_tb, fmt_time(t_tb),
                         f"{count / t_tb:.3g}", fmt_ratio(t_tb / t_ours)))
    path = plot(results, quick)
    header = ("workload", "method", f"max abs log error vs scipy quad ({n_quad} points)", "time",
              "terms/s", "ratio to pwaffine")
    table = markdown_table(header, rows)
    print("\n## logpdf scaling, 1-D latent (points, regions, components, observed dimension)\n",
          file=out)
    print(f"Base: 1-16-16-2 network (rng=0), J=3, n=2, noise {NOISE:g}; one factor varied at a time. "
          "terms/s = points x regions (K) x components (J) / time.\n", file=out)
    print(table, file=out)
    print(f"\n{figure_link(path, quick)}", file=out)
    return {"title": "logpdf scaling, 1-D latent", "table": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    main(parser.parse_args().quick)
