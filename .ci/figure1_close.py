"""Compare a freshly made ``figures/figure1.json`` with the committed one, to the precision it carries.

Usage: ``python .ci/figure1_close.py COMMITTED NEW``; exits 1 and lists every
difference beyond the tolerances.

An exact comparison fails between processors: the same code gave NLL values
2e-16 apart and a refined minimiser 1.2e-8 apart on an AMD EPYC machine and on
the machine the file was made on (the compiled kernels follow each host's
instruction set, so roundings differ).  Each number is therefore compared to
the precision it has:

* NLL values (``nll_*``, the second entry of each ``local_minima`` pair):
  relative 1e-12 (the population NLL is reproducible to rounding; its own
  accuracy is 1e-10);
* minimiser locations (``argmin``, the first entry of each ``local_minima``
  pair): absolute 1e-6 (at a smooth minimum the NLL changes quadratically, so
  its location is set only to about sqrt(eps) times the parameter's scale);
* everything else (runs, parameters, truths, grid steps, text): exactly.
"""

import json
import math
import sys

NLL_RTOL = 1e-12
LOCATION_ATOL = 1e-6


def close(a, b, kind):
    if kind == "nll":
        return abs(a - b) <= NLL_RTOL * max(1.0, abs(a))
    if kind == "location":
        return abs(a - b) <= LOCATION_ATOL
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def compare(old, new, path, kind, out):
    if isinstance(old, dict) and isinstance(new, dict):
        if old.keys() != new.keys():
            out.append(f"{path}: keys {sorted(old)} != {sorted(new)}")
            return
        for key in old:
            sub = "nll" if key.startswith("nll") else "location" if key == "argmin" else None
            if key == "local_minima":
                sub = "pairs"
            compare(old[key], new[key], f"{path}.{key}", sub, out)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{path}: {len(old)} entries != {len(new)}")
            return
        for i, (a, b) in enumerate(zip(old, new)):
            sub = kind
            if kind == "pairs":
                sub = "pair"
            elif kind == "pair":
                sub = "location" if i == 0 else "nll"
            compare(a, b, f"{path}[{i}]", sub, out)
    elif isinstance(old, (int, float)) and isinstance(new, (int, float)) and kind in ("nll", "location"):
        if not close(float(old), float(new), kind):
            out.append(f"{path}: {old!r} != {new!r} (beyond the {kind} tolerance)")
    elif old != new:
        out.append(f"{path}: {old!r} != {new!r}")


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__.splitlines()[2])
    with open(argv[1]) as f:
        old = json.load(f)
    with open(argv[2]) as f:
        new = json.load(f)
    out = []
    compare(old, new, "figure1", None, out)
    for line in out:
        print(line, file=sys.stderr)
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
