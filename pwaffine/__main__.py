"""``python -m pwaffine``: the command line (:mod:`pwaffine.experiments.cli`)."""

import sys

from .experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())
