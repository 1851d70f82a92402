"""Figure of the identifiability hierarchy report.

Left and middle: Fisher-information spectra of every case with a 1-D and a
2-D latent, indexed from the smallest singular value and shifted by the
predicted null dimension, so identifiability up to the model's symmetries
puts every jump at the dotted line.  Right: the counterexample f(z) = |z|,
two priors that are not affinely equivalent with one and the same P(X).

Usage::

    python figures/hierarchy.py --out hierarchy      # compute the report, then draw

Writes OUT/hierarchy.csv, .md, .json (by ``pwaffine.hierarchy.run_hierarchy``)
and OUT/hierarchy.png.
"""

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def plot(cases):
    """The three panels from the report's cases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rc_file(HERE / "matplotlibrc")
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


def main(argv=None):
    from pwaffine.hierarchy import run_hierarchy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="hierarchy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", type=int, default=10)
    args = parser.parse_args(argv)
    cases = run_hierarchy(out=args.out, seed=args.seed, n_models=args.models)
    fig = plot(cases)
    fig.savefig(Path(args.out) / "hierarchy.png", dpi=150, metadata={"Software": None})
    return cases


if __name__ == "__main__":
    main()
