"""Where the 2-D log-density kernel spends its time, function by function (Linux ``perf``).

``perf`` sees numba's compiled code as anonymous addresses.  This script
compiles the kernels in its own process (into an empty numba cache: code
loaded from a cache carries no LLVM module to read addresses from), writes
``/tmp/perf-<pid>.map``, the symbol map that ``perf report`` reads for
just-in-time code, with the address and size of every compiled function,
then samples itself with ``perf record`` while it evaluates the benchmark's
log-density (``bench_2d.model_2d``, one thread) and prints the functions
that took the most samples.

Run ``make profile`` (``NOISE=1 make profile`` for another noise level).  It
needs ``perf`` and permission to sample one's own processes
(``/proc/sys/kernel/perf_event_paranoid`` at most 2).  Reading the addresses
uses numba internals (each overload's code library and its final LLVM
module), checked with numba 0.68.

Functions that numba or LLVM inlined are counted in their caller: the term
step (``_log_term_mass``) appears inside ``term_sum``.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The kernels must be compiled here, not loaded from a cache (see above).
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="pwaffine-profile-")

import numba  # noqa: E402
from numba.core.dispatcher import Dispatcher  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table  # noqa: E402
from bench_2d import model_2d  # noqa: E402


def compiled_functions():
    """``{address: (symbol, size)}`` of every function compiled in this process."""
    import gc

    found = {}
    for obj in gc.get_objects():
        if not isinstance(obj, Dispatcher):
            continue
        for cres in obj.overloads.values():
            library = cres.library
            module = getattr(library, "_final_module", None)
            if module is None:
                continue
            for fn in module.functions:
                if fn.is_declaration:
                    continue
                address = library.get_pointer_to_function(fn.name)
                if address:
                    found[address] = fn.name
    # perf's map wants a size: up to the next function (the last gets 4 KiB).
    addresses = sorted(found)
    sizes = [b - a for a, b in zip(addresses, addresses[1:])] + [4096]
    return {a: (found[a], min(s, 1 << 20)) for a, s in zip(addresses, sizes)}


def readable(symbol):
    """``pwaffine._kernels.owens_t._gl_segment`` from numba's mangled name; others unchanged."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, rest = [], symbol[3:]
    while rest and rest[0].isdigit():
        length = re.match(r"\d+", rest).group()
        start = len(length)
        parts.append(rest[start:start + int(length)])
        rest = rest[start + int(length):]
    return ".".join(parts) if parts else symbol


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=8.0, help="how long to sample")
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=20, help="rows to print")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.points <= 0 or args.top <= 0:
        parser.error("--seconds, --points and --top must be positive")
    perf = shutil.which("perf")
    if perf is None:
        raise SystemExit("profile_2d: `perf` (linux-tools) is not installed")

    numba.set_num_threads(1)
    model = model_2d(args.noise)
    X = model.sample(args.points, rng=1)
    model.logpdf(X)  # compiles every kernel of the density (the parallel one too)
    symbols = compiled_functions()
    map_path = Path(f"/tmp/perf-{os.getpid()}.map")
    map_path.write_text("".join(f"{a:x} {size:x} {readable(name)}\n" for a, (name, size) in symbols.items()))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        recorder = subprocess.Popen(
            [perf, "record", "-q", "-F", "999", "-p", str(os.getpid()), "-o", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # perf attaches
        end = time.perf_counter() + args.seconds
        evaluations = 0
        while time.perf_counter() < end:
            model.logpdf(X)
            evaluations += 1
        recorder.send_signal(2)  # SIGINT: perf writes its file and exits
        _, err = recorder.communicate(timeout=60)
        if recorder.returncode not in (0, -2, 130) or not data.exists():
            map_path.unlink(missing_ok=True)
            raise SystemExit(f"profile_2d: perf record failed ({recorder.returncode}): {err.strip()}")
        report = subprocess.run(
            [perf, "report", "-i", str(data), "--no-children", "--sort", "symbol", "--stdio"],
            capture_output=True, text=True, check=True).stdout
    map_path.unlink(missing_ok=True)

    rows = []
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+\[\.\]\s+(.+?)\s*$", line)
        if match:
            name = re.sub(r"(\s+-)+$", "", match.group(2))  # perf's empty columns
            rows.append((float(match.group(1)), name[:80]))
    jitted = sum(share for share, name in rows if name.startswith("pwaffine."))
    print(f"# Profile of the 2-D log-density (bench_2d model, noise {args.noise:g}, "
          f"{args.points} points, one thread, {evaluations} evaluations in {args.seconds:g} s)\n")
    table = [(name, f"{share:.1f}%", f"{100 * share / jitted:.1f}%" if name.startswith("pwaffine.") else "-")
             for share, name in rows[:args.top]]
    print(markdown_table(("function", "share of all samples", "share of pwaffine's compiled code"), table))
    print(f"\npwaffine's compiled code: {jitted:.1f}% of all samples.")


if __name__ == "__main__":
    main()
