"""Timing, reporting and workload helpers shared by the benchmark scripts."""

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Full runs write their plots here (``figures/bench_*.png``).
FIGURES = ROOT / "figures"


def best_time(fn, repeat=3, number=1):
    """Best wall time of ``repeat`` runs of ``number`` calls of ``fn``, in seconds per call."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def timed(fn, repeat=3):
    """``(result of the last call, best wall time)`` of ``repeat`` calls of ``fn``, in seconds."""
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return result, best


def machine():
    """One line describing the machine the numbers come from."""
    import numba

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")


def load_average():
    """The 1-minute load average (``nan`` where the OS does not report it)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def markdown_table(header, rows):
    """Format rows (sequences of str/float) as a GitHub markdown table."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------
def fmt_time(seconds):
    """``seconds`` with a readable unit: ``'850 ns'``, ``'12.3 us'``, ``'4.5 ms'``, ``'1.2 s'``."""
    if not np.isfinite(seconds):
        return str(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def fmt_ratio(ratio):
    """A time ratio to pwaffine, e.g. ``'1.2e+04x'`` or ``'0.8x'``."""
    if not np.isfinite(ratio):
        return "-"
    return f"{ratio:.2g}x" if ratio < 100 else f"{ratio:.1e}x"


def log_errors(values, refs):
    """``|values - refs|`` elementwise; ``inf`` where either is not finite."""
    values = np.asarray(values, float)
    refs = np.asarray(refs, float)
    with np.errstate(invalid="ignore"):
        err = np.abs(values - refs)
    err[~np.isfinite(values) | ~np.isfinite(refs)] = np.inf
    return err


def fmt_error(values, refs, relative=False):
    """Max ``|log error|`` of ``values`` against ``refs`` as text; names failures.

    Non-finite values are reported as failures (``'fails: 3/16 -inf'``), not
    folded into the maximum.  With ``relative`` the largest error relative to
    ``max(1, |ref|)`` follows in brackets (useful where ``|log p|`` is ~1e9
    and float64 cannot do better than ~1e-6 absolute).
    """
    values = np.asarray(values, float)
    refs = np.asarray(refs, float)
    bad = ~np.isfinite(values)
    err = log_errors(values, refs)
    good = ~bad
    text = f"{err[good].max():.1e}" if good.any() else ""
    if relative and good.any():
        rel = err[good] / np.maximum(1.0, np.abs(refs[good]))
        text += f" (rel {rel.max():.0e})"
    if bad.any():
        kinds = sorted({str(v) for v in values[bad]})
        fail = f"fails: {int(bad.sum())}/{values.size} {'/'.join(kinds)}"
        text = f"{text}; {fail}" if text else fail
    return text


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------
def target_model_1d(noise_std, sizes=(1, 16, 16, 2), seed=0):
    """The issue's 1-D target workload: a random ``1-16-16-2`` ReLU network, J = 3.

    The same network (``rng=0``, about 30 regions) and prior as
    ``bench_logpdf_1d.py``; ``noise_std`` isotropic.
    """
    from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork

    network = ReLUNetwork.random(list(sizes), rng=seed)
    prior = GaussianMixture([0.3, 0.5, 0.2], [[-1.5], [0.0], [2.0]], [[[0.3]], [[0.5]], [[0.2]]])
    return PushforwardModel(prior, network, noise_std)


def n_terms(model, n_points):
    """Region-component terms of ``n_points`` evaluations: points x regions x components."""
    return n_points * model.network.affine_regions().n_regions * model.prior.n_components


def mpmath_reference(model, X, dps=40):
    """``pwaffine._reference.logpdf_mpmath`` at every row of ``X`` (1-D latent)."""
    from pwaffine._reference import logpdf_mpmath

    return np.array([logpdf_mpmath(model, x, dps=dps) for x in X])


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------
def pyplot():
    """matplotlib.pyplot with the Agg backend and pwaffine's figure style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pwaffine.experiments._style import STYLE

    matplotlib.rcParams.update(STYLE)
    return plt


def figure_path(name, quick):
    """Where a benchmark's plot goes: ``figures/bench_<name>.png``, or a scratch file when quick.

    Quick runs still draw every plot (a smoke test of the plotting code) but
    must not overwrite the full run's figures.
    """
    if quick:
        return Path(tempfile.gettempdir()) / "pwaffine-bench-quick" / f"bench_{name}.png"
    return FIGURES / f"bench_{name}.png"


def save_figure(fig, name, quick):
    """Save ``fig`` to :func:`figure_path`, close it, and return the path."""
    path = figure_path(name, quick)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def figure_link(path, quick):
    """Markdown for a plot written by a benchmark (a link relative to benchmarks/RESULTS.md)."""
    if quick:
        return f"(quick run: plot drawn to scratch file {path})"
    return f"![{path.stem}](../figures/{path.name})"
