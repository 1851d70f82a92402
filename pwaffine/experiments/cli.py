"""Command line: ``python -m pwaffine {study,hierarchy,figure1} ...``.

* ``study --runs 50 --seed S --out DIR``: the paper's 50-model study
  (DIR/study.csv, DIR/study.md, DIR/runs/run_NNN.json);
* ``hierarchy --out DIR``: every level of the identifiability hierarchy
  (DIR/hierarchy.csv, .md, .json, .png);
* ``samples --out DIR``: how many samples the truth needs, by exact-MLE fits
  (DIR/samples.csv, .md, .png);
* ``pinwheel``, ``parallelograms``, ``digits --out DIR``: stability of fitted latent
  spaces, exact MLE beside VaDE (DIR/<name>.csv, .md, .png);
* ``figure1 --out PATH.png``: the paper's Figure 1 (PATH.png, .pdf, .json).

Every command validates its arguments, refuses to write over existing
results unless ``--overwrite`` is given, prints progress on stderr, and runs
its jobs on a local process pool (``--workers``) or a Dask cluster
(``--scheduler ADDRESS``) with the same results.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

__all__ = ["main"]


# --------------------------------------------------------------------------- argument types
def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _add_run_options(parser, out_default, runs=None, out_help="output directory"):
    parser.add_argument("--out", default=out_default,
                        help=f"{out_help} (default: {out_default})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results of an earlier run in --out")
    parser.add_argument("--seed", type=_int_at_least(0), default=0,
                        help="seed of every random draw (default: 0)")
    parser.add_argument("--workers", type=_int_at_least(1), default=None,
                        help="local processes (default: the number of CPUs; 1 runs here)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster whose scheduler listens at ADDRESS "
                             "(needs pip install 'pwaffine[distributed]')")
    if runs is not None:
        parser.add_argument("--runs", type=_int_at_least(1), default=runs,
                            help=f"random models (default: {runs})")


def _build_parser():
    from .. import __version__

    parser = argparse.ArgumentParser(prog="python -m pwaffine",
                                     description="pwaffine: exact likelihoods for deep "
                                                 "latent-variable models.")
    parser.add_argument("--version", action="version", version=f"pwaffine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    study = sub.add_parser("study", help="the paper's 50-model maximum-likelihood study")
    _add_run_options(study, "study", runs=50)
    study.add_argument("--quick", action="store_true",
                       help="tiny search and coarse slices (a smoke test, not the study)")
    hier = sub.add_parser("hierarchy", help="every level of the identifiability hierarchy")
    _add_run_options(hier, "hierarchy")
    hier.add_argument("--models", type=_int_at_least(1), default=10,
                      help="random models per latent dimension (default: 10)")
    hier.add_argument("--quick", action="store_true", help="two random models per latent "
                                                           "dimension (a smoke test)")
    samples = sub.add_parser("samples", help="how many samples the truth needs (exact-MLE fits)")
    _add_run_options(samples, "samples")
    samples.add_argument("--quick", action="store_true",
                         help="two sample sizes, one truth per family (a smoke test)")
    for name, text in (("pinwheel", "stability of exact-MLE and VaDE fits to a pinwheel"),
                       ("parallelograms", "stability of exact-MLE and VaDE fits to parallelograms"),
                       ("digits", "stability of VaDE fits to scikit-learn's 8x8 digits")):
        cmd = sub.add_parser(name, help=text)
        _add_run_options(cmd, name)
        cmd.add_argument("--quick", action="store_true", help="tiny data and training (a smoke "
                                                              "test)")
        if name != "digits":
            cmd.add_argument("--no-vade", action="store_true",
                             help="exact-MLE fits only (VaDE needs the vae extra: PyTorch)")
    fig = sub.add_parser("figure1", help="the paper's Figure 1 from exact likelihoods")
    _add_run_options(fig, "figures/figure1.png", runs=50,
                     out_help="PNG path; the PDF and JSON go beside it")
    fig.add_argument("--cache", default=None, help=".npz cache of the slices (reused when it "
                                                   "holds the same --runs and --seed)")
    fig.add_argument("--no-plot", action="store_true", help="only compute the cache")
    return parser


# --------------------------------------------------------------------------- output places
def _prepare_dir(parser, out, overwrite, owned):
    """Create ``out``; refuse a file, or a non-empty directory unless ``overwrite``.

    With ``overwrite`` the files and folders named in ``owned`` (this command's
    results) are removed first, so no stale result survives; nothing else is
    touched.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            parser.error(f"--out {out} is not empty; pass --overwrite to replace the "
                         "results of an earlier run, or choose another directory")
        for name in owned:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _prepare_file(parser, out, overwrite, suffixes):
    out = Path(out)
    if out.suffix != ".png":
        parser.error(f"--out must end in .png; got {out}")
    if out.exists() and out.is_dir():
        parser.error(f"--out {out} is a directory; give a .png path")
    existing = [out.with_suffix(s) for s in suffixes if out.with_suffix(s).exists()]
    if existing and not overwrite:
        parser.error(f"{existing[0]} exists; pass --overwrite to replace it")
    if out.parent.exists() and not out.parent.is_dir():
        parser.error(f"{out.parent} is a file; --out must be inside a directory")
    return out


def _where(args):
    if args.scheduler:
        return f"the Dask cluster at {args.scheduler}"
    workers = args.workers or os.cpu_count() or 1
    return "1 process" if workers == 1 else f"{workers} processes"


# --------------------------------------------------------------------------- commands
def _study(parser, args):
    from .executors import make_executor
    from .paper_family import StudySettings
    from .progress import Progress
    from .study import run_study
    from .study_report import write_study

    out = _prepare_dir(parser, args.out, args.overwrite, ["runs", "study.csv", "study.md"])
    settings = StudySettings.quick() if args.quick else StudySettings()
    progress = Progress(args.runs, "study")
    progress.message(f"{args.runs} models, seed {args.seed}, on {_where(args)}")

    def report(run, result):
        row = result[0]
        progress.step(f"run {run}: J={row['n_components']} "
                      f"unique={row['unique_up_to_equivalence']} local={row['n_local_minima']}")

    with make_executor(args.workers, args.scheduler) as executor:
        result = run_study(args.runs, args.seed, settings, executor, report)
    files = write_study(out, result, _where(args))
    progress.message(f"wrote {files[-2]} and {files[-1]} ({result.seconds:.0f} s)")


def _hierarchy(parser, args):
    from .executors import make_executor
    from .hierarchy import hierarchy_jobs, run_hierarchy
    from .hierarchy_report import write_hierarchy
    from .progress import Progress

    out = _prepare_dir(parser, args.out, args.overwrite,
                       ["hierarchy.csv", "hierarchy.md", "hierarchy.json", "hierarchy.png"])
    n_models = 2 if args.quick else args.models
    jobs = hierarchy_jobs(args.seed, n_models)
    progress = Progress(len(jobs), "hierarchy")
    progress.message(f"{len(jobs)} cases, seed {args.seed}, on {_where(args)}")

    def report(index, cases):
        progress.step(jobs[index][0] + (f" #{jobs[index][1]}" if "random" in jobs[index][0]
                                        else ""))

    with make_executor(args.workers, args.scheduler) as executor:
        result = run_hierarchy(args.seed, n_models, executor, report)
    files = write_hierarchy(out, result)
    progress.message(f"wrote {', '.join(str(f) for f in files)} ({result.seconds:.0f} s)")


def _samples(parser, args):
    from .executors import make_executor
    from .progress import Progress
    from .samples import SamplesSettings, run_samples, samples_jobs
    from .samples_report import write_samples

    out = _prepare_dir(parser, args.out, args.overwrite,
                       ["samples.csv", "samples.md", "samples.png"])
    settings = SamplesSettings.quick() if args.quick else SamplesSettings()
    _, jobs = samples_jobs(args.seed, settings)
    progress = Progress(len(jobs), "samples")
    progress.message(f"{len(jobs)} fits, seed {args.seed}, on {_where(args)}")

    def report(index, row):
        progress.step(f"{row['family']} truth {row['truth']} N={row['n_samples']}: "
                      f"equivalent={row['equivalent']} KL={row['kl']:.2g}")

    with make_executor(args.workers, args.scheduler) as executor:
        result = run_samples(args.seed, settings, executor, report)
    files = write_samples(out, result, _where(args))
    progress.message(f"wrote {', '.join(str(f) for f in files)} ({result.seconds:.0f} s)")


def _stability(parser, args):
    from .executors import make_executor
    from .progress import Progress
    from .stability import StabilitySettings, run_stability, stability_jobs
    from .stability_report import write_stability

    dataset = args.command
    methods = ("vade",) if dataset == "digits" else (
        ("mle",) if args.no_vade else ("mle", "vade"))
    if "vade" in methods:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error(f"{dataset} trains VaDE, which needs PyTorch: pip install "
                         "'pwaffine[vae]' (on these machines: pip install torch==2.13.0)"
                         + ("" if dataset == "digits" else "; or pass --no-vade"))
    out = _prepare_dir(parser, args.out, args.overwrite,
                       [f"{dataset}.csv", f"{dataset}.md", f"{dataset}.png"])
    settings = StabilitySettings.quick() if args.quick else StabilitySettings()
    jobs = stability_jobs(dataset, args.seed, settings, methods)
    progress = Progress(len(jobs), dataset)
    progress.message(f"{len(jobs)} fits, seed {args.seed}, on {_where(args)}")

    def report(index, fit):
        progress.step(f"{fit['method']} {fit['variant']} run {fit['fit'] + 1}")

    with make_executor(args.workers, args.scheduler) as executor:
        result = run_stability(dataset, args.seed, settings, executor, report, methods)
    files = write_stability(out, result, _where(args))
    progress.message(f"wrote {', '.join(str(f) for f in files)} ({result.seconds:.0f} s)")


def _figure1(parser, args):
    import numpy as np

    from .executors import make_executor
    from .figure1 import compute, load_cache, make_figure1
    from .progress import Progress

    out = None if args.no_plot else _prepare_file(parser, args.out, args.overwrite,
                                                  (".png", ".pdf", ".json"))
    data = load_cache(args.cache, args.runs, args.seed) if args.cache else None
    if data is None:
        progress = Progress(args.runs, "figure1")
        progress.message(f"slices of {args.runs} models, seed {args.seed}, on {_where(args)}")
        with make_executor(args.workers, args.scheduler) as executor:
            data = compute(args.runs, args.seed, executor,
                           lambda run, _: progress.step(f"model {run}"))
        if args.cache:
            Path(args.cache).parent.mkdir(parents=True, exist_ok=True)
            np.savez(args.cache, **data)
    if out is not None:
        make_figure1(out, data)
        print(f"figure1: wrote {out}, {out.with_suffix('.pdf')} and {out.with_suffix('.json')}",
              file=sys.stderr)


_COMMANDS = {"study": _study, "hierarchy": _hierarchy, "samples": _samples,
             "pinwheel": _stability, "parallelograms": _stability, "digits": _stability,
             "figure1": _figure1}


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _COMMANDS[args.command](parser, args)
    return 0
