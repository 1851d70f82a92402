"""Population NLL: time per surface point and per Figure 1 slice, beside quad and Monte Carlo.

Workload: the three panels of Figure 1 (``figures/figure1.json``: a study model
``pwaffine.study.draw_models(50, 0)[run]`` and one network weight varied over
``np.linspace(-5, 5, 251)``, the others at the truth; n = 1).

Methods for one surface point (the population NLL of the model with the
parameter set to a grid value, against the truth), on every 25th grid value:

* pwaffine ``PopulationNLL(truth)`` (adaptive Gauss-Kronrod over x on batches
  of numba densities, tolerance 1e-10 nats), the objective of ``nll_surface``;
* ``scipy.integrate.quad`` over x (epsabs 1e-10) of ``-p_truth log p_model``,
  with pwaffine's ``logpdf`` called one x at a time, over the same domain and
  split at the same kinks: what a user would write around a density function;
* Monte Carlo: the sample NLL of 1e5 draws from the truth (fixed seed),
  ``pwaffine.sample_nll``; its standard error is given too.

Reference: ``quad`` on each of PopulationNLL's starting panels at epsabs 1e-13
(separately, so no panel is missed), error in nats.

Then the whole job: ``nll_surface(truth, name, grid, truth=truth)`` for the
three panels' 251-point slices (including the refinement of local minima),
timed once compiled; target < 5 s in total (reported, not asserted).
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
from scipy import integrate

from _common import ROOT, fmt_ratio, fmt_time, markdown_table, timed

from pwaffine import PopulationNLL, nll_surface, sample_nll
from pwaffine._reference import logpdf_quad
from pwaffine.inference.domain import image_pieces
from pwaffine.experiments.paper_family import draw_models

TARGET_TOTAL_S = 5.0
GRID = np.linspace(-5.0, 5.0, 251)


def panels():
    """``[(run, short name, parameter name, truth model)]`` of Figure 1."""
    spec = json.loads((ROOT / "figures" / "figure1.json").read_text())
    models = draw_models(spec["runs"], spec["seed"])
    out = []
    for panel in spec["panels"]:
        short, rest = panel["parameter"].split(" (", 1)
        out.append((panel["run"], short, rest.rstrip(")"), models[panel["run"]]))
    return out


def _integrand(truth, model, calls=None):
    def f(x):
        if calls is not None:
            calls.append(x)
        X = np.array([[x]])
        log_t = truth.logpdf(X)[0]
        return 0.0 if log_t == -np.inf else -np.exp(log_t) * model.logpdf(X)[0]
    return f


def quad_nll(truth, model, edges, kinks, epsabs, calls=None):
    """``-int p_truth log p_model`` by one ``quad`` over the domain, split at the kinks."""
    value, _ = integrate.quad(_integrand(truth, model, calls), edges[0], edges[-1], points=kinks,
                              epsabs=epsabs, epsrel=0.0, limit=1000)
    return value


def reference_nll(truth, model, edges, epsabs=1e-13):
    """``quad`` on every starting panel separately (the reference)."""
    f = _integrand(truth, model)
    return sum(integrate.quad(f, a, b, epsabs=epsabs / len(edges), epsrel=1e-14, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:]))


def main(quick=False, out=sys.stdout):
    step = 125 if quick else 25
    n_mc = 10_000 if quick else 100_000
    n_quad = 1 if quick else None
    repeat = 1 if quick else 3
    rows, surface_times = [], []
    for run, short, name, truth in panels():
        objective = PopulationNLL(truth)
        edges = objective._domain.edges
        seg = np.concatenate(image_pieces(truth))[:, 0]
        kinks = np.unique(seg[(seg > edges[0]) & (seg < edges[-1])])
        values = GRID[::step]
        models = [truth.with_parameters({name: v}) for v in values]
        objective(models[0])  # compile / load the JIT cache, and cache the truth's density
        X_mc = truth.sample(n_mc, rng=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quad's IntegrationWarning (reported as error)
            ref = np.array([reference_nll(truth, m, edges) for m in models])
            ours, t_ours = timed(lambda: [objective(m) for m in models], repeat)
            sub = models[:n_quad]
            calls = []
            start = time.perf_counter()
            quad = [quad_nll(truth, m, edges, kinks, 1e-10, calls) for m in sub]
            t_quad = (time.perf_counter() - start) / len(sub)
            # Without pwaffine's density: each of quad's calls would need two densities
            # by quad over z.  Not run (minutes per surface point): extrapolated.
            probe = np.array(calls[:: max(1, len(calls) // 3)][:3])[:, None]
            start = time.perf_counter()
            for x in probe:
                logpdf_quad(truth, x)
                logpdf_quad(sub[0], x)
            t_nested = (time.perf_counter() - start) / len(probe) * len(calls) / len(sub)
        mc, t_mc = timed(lambda: [sample_nll(m, X_mc) for m in models], repeat)
        std_err = max(np.std(m.logpdf(X_mc)) / np.sqrt(n_mc) for m in models)
        t_ours /= len(models)
        t_mc /= len(models)
        workload = f"run {run}, {short} ({name}), {len(models)} grid values"
        rows += [
            (workload, "pwaffine PopulationNLL (adaptive, tol 1e-10)",
             f"{np.abs(np.array(ours) - ref).max():.1e}", f"{fmt_time(t_ours)} per point", "1x"),
            (workload, f"scipy quad over x, pwaffine logpdf per x ({len(sub)} values)",
             f"{np.abs(np.array(quad) - ref[:len(sub)]).max():.1e}", f"{fmt_time(t_quad)} per point",
             fmt_ratio(t_quad / t_ours)),
            (workload, f"scipy quad over x of scipy quad over z (nested; EXTRAPOLATED: "
             f"{len(calls) // len(sub)} outer calls x 2 logpdf_quad timed on {len(probe)} x)",
             "(as quad over x)", f"{fmt_time(t_nested)} per point (extrapolated)",
             fmt_ratio(t_nested / t_ours)),
            (workload, f"Monte Carlo sample NLL, {n_mc} draws (pwaffine logpdf)",
             f"{np.abs(np.array(mc) - ref).max():.1e} (std error {std_err:.1e})",
             f"{fmt_time(t_mc)} per point",
             fmt_ratio(t_mc / t_ours)),
        ]
        nll_surface(truth, name, GRID[::25], truth=truth)  # warm every code path of the surface
        _, t_surface = timed(lambda: nll_surface(truth, name, GRID, truth=truth), repeat)
        surface_times.append(t_surface)
        rows.append((f"run {run}, {short}: full slice, {GRID.size} points",
                     "pwaffine nll_surface (incl. refining the minima)", "(as above)",
                     f"{fmt_time(t_surface)} ({fmt_time(t_surface / GRID.size)} per point)", "-"))
    total = sum(surface_times)
    verdict = "" if quick else ("met" if total < TARGET_TOTAL_S else "NOT met")
    rows.append(("Figure 1: all three slices, 251 points each", "pwaffine nll_surface, compiled",
                 "(as above)", f"{fmt_time(total)} in total",
                 f"-; target < {TARGET_TOTAL_S:g} s" + (f": {verdict}" if verdict else "")))
    header = ("workload", "method", "max abs NLL error (nats) vs per-panel quad at 1e-13",
              "time", "ratio to pwaffine")
    table = markdown_table(header, rows)
    print("\n## Population NLL surfaces (Figure 1 models)\n", file=out)
    print(f"Every {step}th value of the 251-point grid per panel for the per-point methods (quad: "
          f"{'the first value' if n_quad else 'all of them'}). Monte Carlo's error is its sampling "
          f"error; pwaffine's and quad's the quadrature's. Target: all three 251-point slices in "
          f"< {TARGET_TOTAL_S:g} s once compiled.\n", file=out)
    print(table, file=out)
    return {"title": "Population NLL surfaces", "table": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    main(parser.parse_args().quick)
