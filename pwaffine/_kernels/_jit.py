"""The one decorator of pwaffine's kernels, with an on-disk cache keyed on every kernel source.

numba's on-disk cache (``cache=True``) stamps each function's cache index with
the source file *of that function* only.  A cached caller compiled against a
jitted callee in another file is therefore not recompiled when the callee
changes (numba issue 1833): the stale machine code of the old callee keeps
running.  pwaffine's kernels are split into one module per concern, so this
would bite on every edit.

:func:`kernel` and :func:`parallel_kernel` compile with numba's usual cache
locations (``NUMBA_CACHE_DIR``, ``__pycache__`` beside the source, or the user
cache directory) but stamp every index with a digest of *all* the ``.py``
files of this package: editing any kernel invalidates the cache of every
kernel.  ``tests/test_kernel_cache.py`` checks it by editing a callee.

The mechanism uses numba's cache classes (``FunctionCache``,
``CompileResultCacheImpl`` and its locators), which are not part of numba's
documented API; the test above fails if a numba release changes them.  If
``NUMBA_CACHE_LOCATOR_CLASSES`` is set, numba uses those locators instead and
the digest is not applied.
"""

import functools
import hashlib
import os
from pathlib import Path

# numba's OpenMP threads spin after every parallel region by default; on a
# machine with as many cores as threads the spinning delays the caller's next
# steps (measured on a 2-core machine: every parallel kernel call took >= 8 ms,
# against 0.9 ms for a 5000-point density with passive waiting).  Honour a
# user's setting; the OpenMP runtime reads it when numba first loads it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba as nb  # noqa: E402
from numba.core import caching  # noqa: E402

__all__ = ["kernel", "parallel_kernel", "sources_digest"]

_KERNEL_DIR = Path(__file__).resolve().parent

_OPTIONS = {"nogil": True, "error_model": "numpy"}


@functools.lru_cache(maxsize=None)
def _digest(stamps):
    h = hashlib.sha256()
    for name, _, _ in stamps:
        h.update(name.encode())
        h.update((_KERNEL_DIR / name).read_bytes())
    return h.hexdigest()


def sources_digest():
    """SHA-256 of the names and contents of every ``.py`` file of ``pwaffine._kernels``."""
    stamps = []
    for path in sorted(_KERNEL_DIR.glob("*.py")):
        st = os.stat(path)
        stamps.append((path.name, st.st_mtime_ns, st.st_size))
    return _digest(tuple(stamps))


class _KernelSourcesStamp:
    """Locator mixin: the cache stamp is the digest of all kernel sources."""

    def get_source_stamp(self):
        return ("pwaffine._kernels", sources_digest())


def _stamped(locator):
    return type(f"PwaffineKernels{locator.__name__}", (_KernelSourcesStamp, locator), {})


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [
        _stamped(caching.UserProvidedCacheLocator),
        _stamped(caching.InTreeCacheLocator),
        _stamped(caching.UserWideCacheLocator),
    ]


class _KernelCache(caching.FunctionCache):
    _impl_class = _KernelCacheImpl


def _compile(fn, parallel, inline=False):
    dispatcher = nb.njit(parallel=parallel, inline="always" if inline else "never",
                         **_OPTIONS)(fn)
    dispatcher._cache = _KernelCache(dispatcher.py_func)
    return dispatcher


def kernel(fn=None, *, inline=False):
    """Compile ``fn`` with numba (nopython, nogil, numpy error model), cached on disk.

    No kernel is compiled with numba's ``fastmath``: the rounding of every
    operation is the one written (the vector rules of :mod:`.simd` are
    written as vector instructions instead of relying on reassociation).

    ``inline=True`` has numba inline ``fn`` into each jitted caller
    (``inline="always"``, before LLVM sees the code).  Otherwise LLVM
    decides, and only for a callee compiled in the same process: one loaded
    from the cache is machine code, which it cannot inline.  For a step
    that a loop calls once per term with the ``tables`` and ``work`` tuples
    (two dozen array structures passed by value).
    """
    if fn is None:
        return functools.partial(kernel, inline=inline)
    return _compile(fn, parallel=False, inline=inline)


def parallel_kernel(fn):
    """As :func:`kernel`, with ``parallel=True`` (``numba.prange`` loops run on threads)."""
    return _compile(fn, parallel=True)
