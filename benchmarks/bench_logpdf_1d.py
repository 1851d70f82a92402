"""1-D latent logpdf throughput, beside scipy quad over z in the same run.

Workload (issue 2): a width-16, depth-2 random ReLU network (1-16-16-2, about
30 regions), J = 3 components, n = 2, 2e5 points drawn from the model, at
three noise levels (the number of terms that cannot be skipped grows with the
noise).  Throughput counts region-component terms: points x regions x components
per second.  The baseline is ``scipy.integrate.quad`` over z with the
breakpoints passed (``pwaffine._reference.logpdf_quad``, relative tolerance
1e-12), timed on a subset of the same points; its agreement with pwaffine is
reported as the accuracy reached.
"""

import argparse
import sys

import numpy as np

from _common import best_time, markdown_table

from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
from pwaffine._reference import logpdf_quad

TARGET_TERMS_PER_S = 4e7
TARGET_SPEEDUP = 5e3


def workload(noise_std, n_points, seed=0):
    network = ReLUNetwork.random([1, 16, 16, 2], rng=seed)
    prior = GaussianMixture([0.3, 0.5, 0.2], [[-1.5], [0.0], [2.0]], [[[0.3]], [[0.5]], [[0.2]]])
    model = PushforwardModel(prior, network, noise_std)
    return model, model.sample(n_points, rng=seed + 1)


def main(quick=False, out=sys.stdout):
    n_points = 2000 if quick else 200_000
    n_quad = 2 if quick else 12
    noises = (0.1,) if quick else (0.01, 0.1, 1.0)
    rows = []
    for noise in noises:
        model, X = workload(noise, n_points)
        model.logpdf(X[:10])  # compile / load the JIT cache first
        n_regions = model.network.affine_regions().n_regions
        n_terms = n_points * n_regions * model.prior.n_components
        t_ours = best_time(lambda: model.logpdf(X), repeat=1 if quick else 3)
        ours = model.logpdf(X[:n_quad])
        quad_vals = []
        t_quad = best_time(lambda: quad_vals.append([logpdf_quad(model, x) for x in X[:n_quad]]),
                           repeat=1) / n_quad
        err = float(np.max(np.abs(np.array(quad_vals[0]) - ours)))
        rate = n_terms / t_ours
        speedup = t_quad / (t_ours / n_points)
        rows.append((f"{noise:g}", n_regions, n_points, f"{t_ours:.3f} s", f"{rate:.3g}",
                     f"{t_quad * 1e3:.1f} ms", f"{err:.1e}", f"{speedup:.3g}",
                     "yes" if rate >= TARGET_TERMS_PER_S and speedup >= TARGET_SPEEDUP else "no"))
    header = ("noise_std", "regions", "points", "pwaffine time", "terms/s",
              "quad time/point", "max abs log error vs quad", "speed-up/point", "target met")
    table = markdown_table(header, rows)
    print("\n## 1-D logpdf (1-16-16-2 network, J=3, n=2)\n", file=out)
    print(f"Targets: >= {TARGET_TERMS_PER_S:.0e} terms/s and >= {TARGET_SPEEDUP:.0e}x faster per "
          "point than quad at the same accuracy.\n", file=out)
    print(table, file=out)
    return {"title": "1-D logpdf throughput vs scipy quad", "table": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    main(parser.parse_args().quick)
