"""Running independent jobs on any ``concurrent.futures.Executor``, the same numbers on each.

Long runs (the study, the hierarchy, fits) are lists of independent jobs,
each carrying its own seed.  :func:`run_jobs` submits them to an executor
and returns the results in job order, whatever order they finish in, so a
process pool on a laptop, a Dask cluster and a serial loop give the same
results.

:func:`process_pool` is the default executor: ``spawn`` processes whose numba
runs on one thread each.  The thread count is set before numba is imported
in the worker whenever possible (this module imports neither numba nor the
rest of pwaffine), and otherwise through ``numba.set_num_threads``; changing
``NUMBA_NUM_THREADS`` after numba has started its threads would make the
worker's first compilation fail ("Cannot set NUMBA_NUM_THREADS to a different
value once the threads have been launched"), which a warm on-disk cache
hides.  :func:`dask_executor` connects to a Dask scheduler (the optional
``distributed`` extra, imported only here).
"""

import concurrent.futures
import contextlib
import multiprocessing
import os
import sys

__all__ = ["dask_executor", "limit_numba_threads", "make_executor", "process_pool", "run_jobs"]


_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def limit_numba_threads(n_threads=1):
    """Make numba, and BLAS, use ``n_threads`` threads in this process (a worker initializer).

    Sets ``NUMBA_NUM_THREADS`` if numba is not imported yet; otherwise calls
    ``numba.set_num_threads``, which needs no change of the environment.
    BLAS likewise: the environment before numpy is imported, else
    ``threadpoolctl``.  A pool's workers are the parallelism; threads inside
    each would only contend for the cores (a multithreaded BLAS makes the
    optimisers' tiny vector operations ~100x slower on a 2-core machine).
    """
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(n_threads)
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n_threads, user_api="blas")
    else:
        for name in _BLAS_VARIABLES:
            os.environ[name] = str(n_threads)


def process_pool(workers):
    """A pool of ``workers`` spawned processes, each running numba on one thread.

    Parameters
    ----------
    workers : int
        At least 1.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=limit_numba_threads, initargs=(1,))


def dask_executor(address):
    """An executor running on the Dask cluster whose scheduler listens at ``address``.

    Needs the ``distributed`` extra (``pip install pwaffine[distributed]``).
    Every worker of the cluster needs pwaffine installed.

    Returns
    -------
    client : distributed.Client
        Close it when done (it is a context manager).
    executor : concurrent.futures.Executor
        ``client.get_executor()``.
    """
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("--scheduler needs Dask's distributed package: "
                          "pip install 'pwaffine[distributed]'") from exc
    client = Client(address)
    return client, client.get_executor()


@contextlib.contextmanager
def make_executor(workers=None, scheduler=None):
    """The executor a command asked for: a Dask cluster, a process pool, or none.

    Parameters
    ----------
    workers : int, optional
        Processes of the local pool (default: the number of CPUs); 1 runs the
        jobs in this process.
    scheduler : str, optional
        Address of a Dask scheduler; overrides ``workers``.

    Yields
    ------
    concurrent.futures.Executor or None
        None means: run in this process.
    """
    if scheduler is not None:
        client, executor = dask_executor(scheduler)
        with client:
            yield executor
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        yield None
        return
    with process_pool(workers) as pool:
        yield pool


def run_jobs(fn, jobs, executor=None, on_result=None):
    """``[fn(job) for job in jobs]``, run on ``executor``, in job order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to the workers).
    jobs : sequence
        Arguments, one per call; each should carry its own seed.
    executor : concurrent.futures.Executor, optional
        None runs the jobs here, one after the other.
    on_result : callable, optional
        ``on_result(index, result)``, called as each job finishes (in finishing
        order), e.g. for progress lines or writing a result file at once.

    Returns
    -------
    list
        ``fn(jobs[i])`` at position ``i``.
    """
    results = [None] * len(jobs)
    if executor is None:
        for i, job in enumerate(jobs):
            results[i] = fn(job)
            if on_result is not None:
                on_result(i, results[i])
        return results
    futures = {executor.submit(fn, job): i for i, job in enumerate(jobs)}
    try:
        for future in concurrent.futures.as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_result is not None:
                on_result(i, results[i])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results
