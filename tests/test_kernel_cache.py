"""numba's on-disk cache of pwaffine's kernels is keyed on every kernel source.

numba stamps a cached function with its own file only, so a cached caller
keeps the machine code of a jitted callee from another file after the callee
changes (numba issue 1833).  ``pwaffine._kernels._jit`` stamps every kernel
with a digest of all kernel sources; this test edits a callee in a copy of
the mechanism and checks that the caller's result changes, while an unchanged
source is loaded from the cache.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

from pwaffine._kernels import _jit

RUN = textwrap.dedent("""
    import json
    from kpkg._kernels.caller import f
    value = f(1.0)
    print(json.dumps({"value": value, "hits": sum(f.stats.cache_hits.values())}))
""")


def _run(root, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout)


def _write_callee(kernels, increment):
    (kernels / "callee.py").write_text(textwrap.dedent(f"""
        from ._jit import kernel

        @kernel
        def g(x):
            return x + {increment}
    """))


def test_editing_a_callee_recompiles_its_cached_callers(tmp_path):
    root = tmp_path / "src"
    kernels = root / "kpkg" / "_kernels"
    kernels.mkdir(parents=True)
    (root / "kpkg" / "__init__.py").write_text("")
    (kernels / "__init__.py").write_text("")
    shutil.copy(_jit.__file__, kernels / "_jit.py")
    (kernels / "caller.py").write_text(textwrap.dedent("""
        from ._jit import kernel
        from .callee import g

        @kernel
        def f(x):
            return 2.0 * g(x)
    """))
    _write_callee(kernels, "1.0")
    cache = tmp_path / "cache"
    first = _run(root, cache)
    assert first == {"value": 4.0, "hits": 0}
    assert _run(root, cache) == {"value": 4.0, "hits": 1}  # unchanged sources: from the cache
    _write_callee(kernels, "2.0")  # edit the callee only; the caller's file is untouched
    assert _run(root, cache)["value"] == 6.0


def test_digest_covers_every_kernel_source():
    names = sorted(p.name for p in _jit._KERNEL_DIR.glob("*.py"))
    assert {"_jit.py", "special.py", "terms.py", "intervals.py", "polygons.py"} <= set(names)
    assert len(_jit.sources_digest()) == 64


LOAD = textwrap.dedent("""
    import json
    import numpy as np
    from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    from pwaffine._kernels import intervals, polygons
    for m in (1, 2):
        model = PushforwardModel(GaussianMixture([1.0], [np.zeros(m)], [np.eye(m)]),
                                 ReLUNetwork.random([m, 3, 2], rng=0), 0.3)
        X = model.sample(5000, rng=0)
        model.logpdf(X[:10]), model.logpdf(X), model.logpdf_grad(X[:10])
    stats = {}
    for module in (intervals, polygons):
        for name in ("logpdf_serial", "logpdf_parallel", "score_parallel"):
            d = getattr(module, name)
            stats[module.__name__ + "." + name] = [sum(d.stats.cache_hits.values()),
                                                   sum(d.stats.cache_misses.values())]
    print(json.dumps(stats))
""")


def test_density_kernels_load_from_the_cache_in_a_new_process():
    # The kernels built per kind of region (terms.make_density_kernels) once
    # missed the cache in every new process: numba keyed them on pickled
    # closure cells, which differ between processes.  A second process must
    # load every kernel from the cache the first one wrote (the test session's
    # own cache, usually warm already).
    def run():
        out = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout)

    run()
    second = run()
    assert all(hits == 1 and misses == 0 for hits, misses in second.values()), second
