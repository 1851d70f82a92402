"""Command line: ``python -m pwaffine {study,figure1} ...``.

* ``study --runs 50 --seed S --out DIR``: the paper's 50-model study
  (writes DIR/study.csv, DIR/study.md and DIR/runs/*.json; progress on stderr).
* ``hierarchy --out DIR``: every level of the identifiability hierarchy
  (DIR/hierarchy.csv, .md, .json, .png).
* ``figure1 --out PATH.png``: the paper's Figure 1 (PATH.png, .pdf, .json).

Figures are drawn by the scripts ``figures/figure1.py`` and
``figures/hierarchy.py`` of the source tree, which these commands run (the
library computes; figures are scripts, not library code).
"""

import argparse
import runpy
import sys
from pathlib import Path

FIGURES = Path(__file__).resolve().parent.parent / "figures"


def _run_figure_script(name, argv):
    script = FIGURES / f"{name}.py"
    if not script.exists():
        raise SystemExit(f"{name} is drawn by {script}, which is part of the pwaffine source "
                         "tree; run this command from a checkout (pip install -e .)")
    namespace = runpy.run_path(str(script))
    return namespace["main"](argv)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pwaffine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser("study", help="the 50-model maximum-likelihood study")
    study.add_argument("--runs", type=int, default=50)
    study.add_argument("--seed", type=int, default=0)
    study.add_argument("--out", default="study")
    study.add_argument("--workers", type=int, default=None,
                       help="processes (default: number of CPUs)")
    study.add_argument("--quick", action="store_true",
                       help="tiny search and coarse slices (a smoke test, not the study)")
    hier = sub.add_parser("hierarchy", help="every level of the identifiability hierarchy")
    hier.add_argument("--out", default="hierarchy")
    hier.add_argument("--seed", type=int, default=0)
    hier.add_argument("--models", type=int, default=10,
                      help="random models per latent dimension (default 10)")
    fig = sub.add_parser("figure1", help="the paper's Figure 1")
    fig.add_argument("--out", default=str(FIGURES / "figure1.png"))
    fig.add_argument("--runs", type=int, default=50)
    fig.add_argument("--seed", type=int, default=0)
    fig.add_argument("--cache", default=None)
    args = parser.parse_args(argv)
    if getattr(args, "runs", 1) < 1:
        parser.error("--runs must be >= 1")
    if getattr(args, "models", 1) < 1:
        parser.error("--models must be >= 1")
    if args.command == "study":
        from .study import StudySettings, run_study

        settings = StudySettings.quick() if args.quick else StudySettings()
        run_study(runs=args.runs, seed=args.seed, out=args.out, workers=args.workers,
                  settings=settings)
    elif args.command == "hierarchy":
        _run_figure_script("hierarchy", ["--out", args.out, "--seed", str(args.seed),
                                         "--models", str(args.models)])
    elif args.command == "figure1":
        extra = ["--out", args.out, "--runs", str(args.runs), "--seed", str(args.seed)]
        if args.cache:
            extra += ["--cache", args.cache]
        _run_figure_script("figure1", extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
