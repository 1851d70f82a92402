# pwaffine: every target creates .venv and installs what it needs by itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
export MPLBACKEND := Agg

.PHONY: install install-test test bench bench-quick profile figure1 study hierarchy samples pinwheel parallelograms digits clean

## Runtime install (numpy, scipy, numba, matplotlib + pwaffine, editable).
$(VENV)/.runtime: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

## Test extra (pytest, hypothesis, pytest-benchmark, mpmath, distributed) and the vae extra
## (PyTorch, scikit-learn). torch is pinned to 2.13.0, which pip takes from a local CPU build
## on these machines; an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.test: $(VENV)/.runtime setup.cfg
	$(PIP) install --quiet 'torch==2.13.0'
	$(PIP) install --quiet -e '.[test,vae]'
	touch $@

install: $(VENV)/.runtime
install-test: $(VENV)/.test

## The test suite, hypothesis derandomized (profile "ci") so a failure replays.
## pytest exits 5 when it collected no tests: that is a failure too.
test: $(VENV)/.test
	@HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PY) -m pytest -q -p no:cacheprovider; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

## The paper's Figure 1: slices of the study's models are computed once into
## results/figure1.npz (recomputed when the library changes), then plotted.
SOURCES := $(shell find pwaffine -name '*.py')

results/figure1.npz: $(SOURCES) | $(VENV)/.runtime
	@mkdir -p results
	rm -f $@
	$(PY) -m pwaffine figure1 --cache $@ --no-plot

figures/figure1.png: results/figure1.npz
	$(PY) -m pwaffine figure1 --out $@ --cache results/figure1.npz --overwrite

figure1: figures/figure1.png

## The 50-model study (about 10 minutes on 2 cores): study/study.csv, study/study.md.
study: $(VENV)/.runtime
	$(PY) -m pwaffine study --runs 50 --seed 0 --out study --overwrite

## Every level of the identifiability hierarchy (about 3 minutes): hierarchy/hierarchy.{csv,md,json,png};
## the figure is also copied to figures/hierarchy.png for the README.
hierarchy: $(VENV)/.runtime
	$(PY) -m pwaffine hierarchy --out hierarchy --overwrite
	cp hierarchy/hierarchy.png figures/hierarchy.png

## How many samples the truth needs (about 10 minutes): samples/samples.{csv,md,png};
## the figure is also copied to figures/samples.png for the README.
samples: $(VENV)/.runtime
	$(PY) -m pwaffine samples --out samples --overwrite
	cp samples/samples.png figures/samples.png

## The paper's other experiments (each about 10 minutes; VaDE needs the vae extra, which the
## test set-up installs): pinwheel/, parallelograms/, digits/; figures copied to figures/.
pinwheel parallelograms digits: $(VENV)/.test
	$(PY) -m pwaffine $@ --out $@ --overwrite
	cp $@/$@.png figures/$@.png

## Benchmarks: full run writes benchmarks/RESULTS.md; quick run is a CI smoke test.
bench: $(VENV)/.test
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.test
	$(PY) benchmarks/run.py --quick

## Where the 2-D log-density's time goes, function by function (needs Linux perf; NOISE=1 for
## another noise level). Developers' tool: compiles into an empty numba cache of its own.
NOISE ?= 0.2
profile: $(VENV)/.test
	$(PY) benchmarks/profile_2d.py --noise $(NOISE)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis results
