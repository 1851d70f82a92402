"""Applications of pwaffine: the paper's experiments, the command line, and every file written.

* :mod:`.paper_family` -- the paper's model family and the settings it leaves open;
* :mod:`.study`, :mod:`.study_report` -- the 50-model study and its files;
* :mod:`.hierarchy`, :mod:`.hierarchy_report` -- the identifiability hierarchy and its files;
* :mod:`.figure1` -- the paper's Figure 1;
* :mod:`.executors` -- running independent jobs on a process pool or a Dask cluster;
* :mod:`.progress` -- progress lines on stderr;
* :mod:`.cli` -- ``python -m pwaffine``.

The layers below never import this package.  Importing it loads nothing
heavy (no numba), so worker processes can set their thread count first.
"""
