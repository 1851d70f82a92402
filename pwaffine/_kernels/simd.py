"""Elementary functions written so that LLVM can vectorize the loops that call them.

libm's ``exp`` is an opaque call: a loop over the nodes of a quadrature rule
that calls it runs one node at a time.  :func:`exp_lanes` is the same
function in plain arithmetic (no branches, no calls), so LLVM's vectorizers
evaluate several nodes per instruction (four on AVX2).

Method (the textbook one): ``x = k ln2 + r`` with ``k`` the integer nearest
``x / ln2`` (by the ``1.5 * 2^52`` rounding trick, which also leaves ``k``
in the low bits of the sum), ``|r| <= ln2 / 2``, ``ln2`` split in two parts
so that ``k ln2`` is exact to 2^-60; ``exp(r)`` by its Taylor polynomial of
degree 13 (truncation below 4e-18 relative), its terms of degree 2 and up by
Estrin's scheme and the last two steps by Horner's (see :func:`exp_lanes`);
``2^k`` assembled from its
exponent bits in two halves, so that results in the subnormal range round
once more instead of failing.  Measured against numpy's ``exp`` on 2e5
points of ``[-750, 0]``: at most 1.01 ulp for normal results
(``tests/test_simd.py``).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, register_jitable

__all__ = ["exp_lanes", "inverse_sqrt_sum"]

_LOG2E = 1.0 / math.log(2.0)
# ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with 32 significant bits: k _LN2_HI is exact for |k| < 2^20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: x + _ROUND rounds x to an integer
_ROUND_BITS = 0x4338000000000000  # the bits of _ROUND
_TAYLOR = np.array([1.0 / math.factorial(i) for i in range(14)])
_EXP_MIN = -746.0  # exp(-746) rounds to 0
_EXP_MAX = 709.0


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, x):
    """The float64 whose bits are the int64 ``x``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@register_jitable(fastmath={"contract"})
def exp_lanes(x):
    """``exp(x)`` for ``x <= 709`` (not NaN), within about 1 ulp; 0 below -746.

    Compiled into each caller (``register_jitable``, not a cached kernel of
    its own), where LLVM inlines it and so can vectorize the caller's loop:
    a cached function is linked as machine code, which LLVM cannot inline,
    and a call stops the vectorization.  Its instructions keep their own
    flags: ``contract`` (multiply-adds fused, which only removes roundings)
    and nothing else, so that a caller's ``reassoc`` cannot regroup the
    range reduction.
    """
    x = min(max(x, _EXP_MIN), _EXP_MAX)
    t = x * _LOG2E + _ROUND
    k_float = t - _ROUND
    r = (x - k_float * _LN2_HI) - k_float * _LN2_LO
    # The terms of degree 2 to 13 by Estrin's scheme (pairs, then powers of
    # r^2): six dependent multiply-adds instead of Horner's thirteen.  A
    # quadrature rule that cannot overlap its exps with other work waits for
    # them (a 16-point Owen's T rule: 43 -> 37 ns when each depends on the
    # last).  The last two steps are Horner's and set the rounding; the
    # rest's rounding is scaled by r^2 <= 0.12 (the same 1 ulp against
    # numpy's exp, 0.84 ulp against 40 digits, as Horner's 0.82).
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    high = (((_TAYLOR[2] + _TAYLOR[3] * r) + (_TAYLOR[4] + _TAYLOR[5] * r) * r2)
            + ((_TAYLOR[6] + _TAYLOR[7] * r) + (_TAYLOR[8] + _TAYLOR[9] * r) * r2) * r4
            + ((_TAYLOR[10] + _TAYLOR[11] * r) + (_TAYLOR[12] + _TAYLOR[13] * r) * r2) * r8)
    p = (high * r + _TAYLOR[1]) * r + _TAYLOR[0]
    k = _bits(t) - _ROUND_BITS
    k1 = k >> 1
    k2 = k - k1
    return p * _from_bits((k1 + 1023) << 52) * _from_bits((k2 + 1023) << 52)


_LANES = 4


def inverse_sqrt_sum(shifts, weights):
    """An intrinsic ``f(a, b) = sum_i weights[i] / ((a + shifts[i]) sqrt(b + shifts[i]))``, four terms per instruction.

    For a rule whose nodes enter as constant shifts (a Gauss-Laguerre tail,
    :func:`~.owens_t._tail_shadow`).  LLVM does not vectorize such a loop by
    itself: numba's ``math.sqrt`` is a call of libm's ``sqrt`` (which may set
    ``errno``), and its cost model keeps short loops of divisions scalar.
    Here the loop is written as vector instructions (``<4 x double>``,
    ``llvm.sqrt``, ``fdiv``, each correctly rounded; no reassociation within a
    term), the lanes summed at the end: only the order of the sum differs
    from a plain loop.  Callers pass ``b + shifts[i] >= 0`` and
    ``(a + shifts[i]) sqrt(b + shifts[i]) > 0``.  The number of terms must be
    a multiple of 4.
    """
    shifts = [float(v) for v in shifts]
    weights = [float(v) for v in weights]
    if len(shifts) != len(weights) or len(shifts) % _LANES:
        raise ValueError(f"shifts and weights need one length, a multiple of {_LANES}")
    vec = ir.VectorType(ir.DoubleType(), _LANES)
    i32 = ir.IntType(32)

    def splat(builder, x):
        v = builder.insert_element(ir.Constant(vec, ir.Undefined), x, ir.Constant(i32, 0))
        return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, _LANES), [0] * _LANES))

    @intrinsic
    def lane_sum(typingctx, a, b):
        def codegen(context, builder, signature, args):
            sqrt = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec]),
                                                  "llvm.sqrt.v4f64")
            av, bv = splat(builder, args[0]), splat(builder, args[1])
            acc = ir.Constant(vec, [0.0] * _LANES)
            for lo in range(0, len(shifts), _LANES):
                shift = ir.Constant(vec, shifts[lo:lo + _LANES])
                weight = ir.Constant(vec, weights[lo:lo + _LANES])
                den = builder.fmul(builder.fadd(av, shift),
                                   builder.call(sqrt, [builder.fadd(bv, shift)]))
                acc = builder.fadd(acc, builder.fdiv(weight, den))
            lanes = [builder.extract_element(acc, ir.Constant(i32, t)) for t in range(_LANES)]
            return builder.fadd(builder.fadd(lanes[0], lanes[1]), builder.fadd(lanes[2], lanes[3]))
        return types.float64(types.float64, types.float64), codegen

    return lane_sum
