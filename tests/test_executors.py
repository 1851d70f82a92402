"""Parallel runs: the default process pool works on a cold numba cache, and every executor
(serial, process pool, Dask cluster) gives the same results."""

import csv
import io

import distributed  # the optional extra `distributed`, part of the test extra
import numba
import pytest

from pwaffine.experiments import cli
from pwaffine.experiments.executors import process_pool, run_jobs


def _compile_fresh(x):
    """Compile a new numba function in the worker (what a cold on-disk cache makes every kernel do)."""
    return numba.njit(lambda y: y + 1.0)(x), numba.get_num_threads()


def test_process_pool_workers_compile_on_a_cold_cache(tmp_path, monkeypatch):
    # A worker whose numba started its threads before NUMBA_NUM_THREADS was set
    # failed at its first compilation ("Cannot set NUMBA_NUM_THREADS to a
    # different value once the threads have been launched"); a warm cache hid it.
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    with process_pool(2) as pool:
        results = run_jobs(_compile_fresh, [1.0, 2.0, 3.0], pool)
    assert results == [(2.0, 1), (3.0, 1), (4.0, 1)]  # in job order, one numba thread each


def test_run_jobs_keeps_job_order_and_reports_each_result():
    seen = []
    out = run_jobs(abs, [-3, 1, -2], None, lambda i, r: seen.append((i, r)))
    assert out == [3, 1, 2] and seen == [(0, 3), (1, 1), (2, 2)]
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        process_pool(0)


def _study_rows(path):
    """The study's CSV rows without the timing column."""
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    for row in rows:
        row.pop("seconds")
    return rows


def test_study_gives_the_same_csv_on_every_executor(tmp_path):
    common = ["study", "--runs", "2", "--seed", "3", "--quick"]
    cli.main(common + ["--out", str(tmp_path / "serial"), "--workers", "1"])
    cli.main(common + ["--out", str(tmp_path / "pool"), "--workers", "2"])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        cli.main(common + ["--out", str(tmp_path / "dask"), "--scheduler",
                           cluster.scheduler_address])
    serial = _study_rows(tmp_path / "serial" / "study.csv")
    assert len(serial) == 2
    assert _study_rows(tmp_path / "pool" / "study.csv") == serial
    assert _study_rows(tmp_path / "dask" / "study.csv") == serial
    for run in ("run_000.json", "run_001.json"):
        text = (tmp_path / "serial" / "runs" / run).read_text()
        assert (tmp_path / "dask" / "runs" / run).read_text() == text
