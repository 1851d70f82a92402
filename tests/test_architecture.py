"""The package's layering: imports run one way, no cycles, no oversized module.

Layers, bottom to top: ``_kernels`` (numba only) -> ``model`` -> ``inference``
-> ``identifiability`` -> ``experiments``.  ``_validation`` is shared by every
layer above the kernels, ``datasets`` (toy data generators) by the applications; ``_reference`` (slow references for tests and
benchmarks) may use the model but nothing in the library imports it.  Every
import is read from the source (module level and inside functions alike).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pwaffine"

#: Which top-level parts of pwaffine each part may import (besides itself).
ALLOWED = {
    "_kernels": set(),
    "_validation": set(),
    "datasets": {"_validation"},
    "model": {"_kernels", "_validation"},
    "inference": {"_kernels", "_validation", "model"},
    "identifiability": {"_kernels", "_validation", "model", "inference"},
    "experiments": {"_kernels", "_validation", "model", "inference", "identifiability",
                    "datasets", "__init__"},
    "_reference": {"_validation", "model"},
    "__init__": set(),  # lazy: names are resolved by importlib at first use
    "__main__": {"experiments"},
}

MAX_LINES = 800


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path):
    """Every pwaffine module imported by the file (absolute names)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "pwaffine")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "pwaffine":
                continue
            found.add(target)
            for alias in node.names:  # "from . import x" imports the module x
                candidate = f"{target}.{alias.name}"
                if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or \
                        (PACKAGE.parent / candidate.replace(".", "/")).is_dir():
                    found.add(candidate)
    return found


def _part(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


SOURCES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {_module_name(p): _imports(p) for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    module = _module_name(path)
    part = _part(module)
    bad = sorted(t for t in GRAPH[module]
                 if _part(t) != part and _part(t) not in ALLOWED[part] and t != "pwaffine")
    assert not bad, f"{module} ({part}) imports {bad}; allowed: {sorted(ALLOWED[part])}"


def test_lower_layers_never_import_experiments_or_the_reference():
    for module, targets in GRAPH.items():
        if _part(module) in ("experiments", "__main__", "_reference"):
            continue
        assert not any(_part(t) in ("experiments", "_reference") for t in targets), module


def test_no_import_cycles():
    modules = {m: {t for t in targets if t in GRAPH and t != m} for m, targets in GRAPH.items()}
    # Importing a submodule imports its packages first: they are edges too.
    for m in list(modules):
        parts = m.split(".")
        for i in range(2, len(parts)):
            parent = ".".join(parts[:i])
            if parent in modules and parent != m:
                modules[m].add(parent)
    state = {}

    def visit(node, stack):
        state[node] = "active"
        for nxt in sorted(modules[node]):
            if nxt in modules.get(node, ()) and nxt.startswith(node + "."):
                continue  # a package importing its own submodule is not a cycle back
            if state.get(nxt) == "active":
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_oversized(path):
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{path.name} has {n_lines} lines (limit {MAX_LINES})"


def test_kernels_import_nothing_else_of_pwaffine():
    for module, targets in GRAPH.items():
        if _part(module) == "_kernels":
            assert all(t.startswith("pwaffine._kernels") for t in targets), (module, targets)


def test_import_is_light():
    """``import pwaffine`` and the experiments' worker set-up load no numba (workers rely on it)."""
    code = ("import sys, pwaffine, pwaffine.experiments.executors, pwaffine.experiments.cli; "
            "print('numba' in sys.modules, pwaffine.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, version = out.stdout.split()
    assert loaded == "False" and version.count(".") == 2
