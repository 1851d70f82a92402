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
