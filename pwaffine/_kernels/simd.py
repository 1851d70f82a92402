"""Quadrature sums written as vector instructions, four float64 lanes at a time, and the exp they use.

A quadrature rule's nodes are independent, so a processor can evaluate four
at once (AVX2).  LLVM does that by itself only sometimes: libm's ``exp`` and
``sqrt`` are opaque calls to it, and here it left loops of divisions over 12
Laguerre nodes, and Gauss-Legendre rules of 4, 8 and 12 nodes, scalar.  The
rules that the density's hot loop calls are therefore written here directly
as LLVM vector instructions (``<4 x double>``), through numba intrinsics:

* :func:`gauss_cauchy_sum` builds ``sum_i w_i exp(-q y_i) / y_i`` with ``y_i = 1 +
  (mid + half x_i)^2``, the Gauss-Legendre rules of Owen's T function
  (:mod:`.owens_t`), for any number of nodes that is a multiple of 4;
* :func:`inverse_sqrt_sum` builds ``sum_i w_i / ((a + s_i) sqrt(b + s_i))``, its
  Gauss-Laguerre tails.

Each lane is rounded as the scalar expression it stands for (correctly
rounded ``fmul``, ``fadd``, ``fdiv`` and ``llvm.sqrt``, no reassociation; the
exp's own multiply-adds fused by ``llvm.fma``); only the order of the final
sum over the nodes differs from a loop's.

The exp (:func:`exp_lanes` is the same code on one lane, for tests and
scalar callers), the textbook method: ``x = k ln2 + r`` with ``k`` the
integer nearest ``x / ln2`` (by the ``1.5 * 2^52`` rounding trick, which also
leaves ``k`` in the low bits of the sum), ``|r| <= ln2 / 2``, ``ln2`` split in
two parts so that ``k ln2`` is exact to 2^-60; ``exp(r)`` by its Taylor
polynomial of degree 13 (truncation below 4e-18 relative), its terms of
degree 2 and up by Estrin's scheme (pairs, then powers of ``r^2``: six
dependent multiply-adds instead of Horner's thirteen, which matters to a
rule that waits for its exps) and the last two steps by Horner's, which set
the rounding; ``2^k`` assembled from its exponent bits in two halves, so
that results in the subnormal range round once more instead of failing.
Measured against numpy's ``exp`` on 2e5 points of ``[-750, 0]``: at most
1.01 ulp for normal results (``tests/test_simd.py``).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["exp_lanes", "gauss_cauchy_sum", "inverse_sqrt_sum"]

_LOG2E = 1.0 / math.log(2.0)
# ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with 32 significant bits: k _LN2_HI is exact for |k| < 2^20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: x + _ROUND rounds x to an integer
_ROUND_BITS = 0x4338000000000000  # the bits of _ROUND
_TAYLOR = np.array([1.0 / math.factorial(i) for i in range(14)])
_EXP_MIN = -746.0  # exp(-746) rounds to 0
_EXP_MAX = 709.0

_LANES = 4
_F64 = ir.DoubleType()
_I32 = ir.IntType(32)


def _vec(lanes):
    return ir.VectorType(_F64, lanes)


def _const(values, lanes=_LANES):
    """A vector constant: one value in every lane, or one value per lane."""
    if np.ndim(values) == 0:
        values = [values] * lanes
    return ir.Constant(_vec(len(values)), [float(v) for v in values])


def _int_const(value, lanes):
    return ir.Constant(ir.VectorType(ir.IntType(64), lanes), [int(value)] * lanes)


def _splat(builder, x, lanes):
    """The scalar ``x`` in every lane."""
    v = builder.insert_element(ir.Constant(_vec(lanes), ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, lanes), [0] * lanes))


def _vector_function(builder, name, n_args, lanes):
    vec = _vec(lanes)
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec] * n_args),
                                          f"llvm.{name}.v{lanes}f64")


def _fma(builder, a, b, c):
    """``a b + c`` rounded once, in every lane."""
    return builder.call(_vector_function(builder, "fma", 3, a.type.count), [a, b, c])


def _lane_sum(builder, parts):
    """The sum of every lane of every vector in ``parts`` (pairwise)."""
    while len(parts) > 1:
        parts = [builder.fadd(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    lanes = [builder.extract_element(parts[0], ir.Constant(_I32, t)) for t in range(parts[0].type.count)]
    while len(lanes) > 1:
        lanes = [builder.fadd(lanes[i], lanes[i + 1]) for i in range(0, len(lanes), 2)]
    return lanes[0]


def _exp_vector(builder, x):
    """``exp`` of every lane of ``x`` (see the module docstring); ``x`` clamped to ``[-746, 709]``."""
    n = x.type.count
    x = builder.call(_vector_function(builder, "maxnum", 2, n), [x, _const(_EXP_MIN, n)])
    x = builder.call(_vector_function(builder, "minnum", 2, n), [x, _const(_EXP_MAX, n)])
    t = _fma(builder, x, _const(_LOG2E, n), _const(_ROUND, n))
    k_neg = builder.fsub(_const(_ROUND, n), t)  # -k, exactly
    r = _fma(builder, k_neg, _const(_LN2_HI, n), x)
    r = _fma(builder, k_neg, _const(_LN2_LO, n), r)
    r2 = builder.fmul(r, r)
    r4 = builder.fmul(r2, r2)
    r8 = builder.fmul(r4, r4)
    pairs = [_fma(builder, _const(_TAYLOR[i + 1], n), r, _const(_TAYLOR[i], n)) for i in range(2, 14, 2)]
    quads = [_fma(builder, pairs[i + 1], r2, pairs[i]) for i in range(0, 6, 2)]
    high = _fma(builder, quads[2], r8, _fma(builder, quads[1], r4, quads[0]))
    p = _fma(builder, _fma(builder, high, r, _const(_TAYLOR[1], n)), r, _const(_TAYLOR[0], n))
    k = builder.sub(builder.bitcast(t, ir.VectorType(ir.IntType(64), n)), _int_const(_ROUND_BITS, n))
    k1 = builder.ashr(k, _int_const(1, n))
    k2 = builder.sub(k, k1)
    s1 = builder.bitcast(builder.shl(builder.add(k1, _int_const(1023, n)), _int_const(52, n)), _vec(n))
    s2 = builder.bitcast(builder.shl(builder.add(k2, _int_const(1023, n)), _int_const(52, n)), _vec(n))
    return builder.fmul(builder.fmul(p, s1), s2)


@intrinsic
def exp_lanes(typingctx, x):
    """``exp(x)`` for a float64 ``x <= 709`` (not NaN), within about 1 ulp; 0 below -746.

    The exp of the vector rules on one lane (see the module docstring).
    """
    def codegen(context, builder, signature, args):
        v = _exp_vector(builder, _splat(builder, args[0], _LANES))
        return builder.extract_element(v, ir.Constant(_I32, 0))
    return types.float64(types.float64), codegen


def _checked_rule(nodes, weights, lanes):
    nodes = [float(v) for v in nodes]
    weights = [float(v) for v in weights]
    if len(nodes) != len(weights) or not nodes or len(nodes) % lanes:
        raise ValueError(f"nodes and weights need one length, a positive multiple of {lanes}")
    return nodes, weights


def gauss_cauchy_sum(nodes, weights):
    """An intrinsic ``f(q, mid, half) = sum_i weights[i] exp(-q y_i) / y_i``, ``y_i = 1 + (mid + half nodes[i])^2``.

    Four nodes per instruction, each rounded as the scalar expression
    ``w_i * exp(-q * y_i) / y_i`` with ``x_i = mid + half * nodes[i]`` and
    ``y_i = 1 + x_i * x_i`` (no fused multiply-adds there, so that numpy can
    check it exactly: with ``q y`` up to 700, one rounding less in ``y``
    changes the exp by 1e-13), :func:`exp_lanes` for the exp.  The number of
    nodes must be a positive multiple of 4.
    """
    nodes, weights = _checked_rule(nodes, weights, _LANES)
    lanes = _LANES

    @intrinsic
    def rule_sum(typingctx, q, mid, half):
        def codegen(context, builder, signature, args):
            neg_q = _splat(builder, builder.fneg(args[0]), lanes)
            mid_v, half_v = _splat(builder, args[1], lanes), _splat(builder, args[2], lanes)
            parts = []
            for lo in range(0, len(nodes), lanes):
                x = builder.fadd(mid_v, builder.fmul(half_v, _const(nodes[lo:lo + lanes])))
                y = builder.fadd(_const(1.0, lanes), builder.fmul(x, x))
                e = _exp_vector(builder, builder.fmul(neg_q, y))
                parts.append(builder.fdiv(builder.fmul(_const(weights[lo:lo + lanes]), e), y))
            return _lane_sum(builder, parts)
        return types.float64(types.float64, types.float64, types.float64), codegen

    return rule_sum


def inverse_sqrt_sum(shifts, weights):
    """An intrinsic ``f(a, b) = sum_i weights[i] / ((a + shifts[i]) sqrt(b + shifts[i]))``, four terms per instruction.

    For a rule whose nodes enter as constant shifts (a Gauss-Laguerre tail,
    :func:`~.owens_t._tail_shadow`).  Callers pass ``b + shifts[i] >= 0`` and
    ``(a + shifts[i]) sqrt(b + shifts[i]) > 0``.  The number of terms must be
    a positive multiple of 4.
    """
    shifts, weights = _checked_rule(shifts, weights, _LANES)

    @intrinsic
    def lane_sum(typingctx, a, b):
        def codegen(context, builder, signature, args):
            sqrt = _vector_function(builder, "sqrt", 1, _LANES)
            a_v, b_v = _splat(builder, args[0], _LANES), _splat(builder, args[1], _LANES)
            parts = []
            for lo in range(0, len(shifts), _LANES):
                shift = _const(shifts[lo:lo + _LANES])
                den = builder.fmul(builder.fadd(a_v, shift),
                                   builder.call(sqrt, [builder.fadd(b_v, shift)]))
                parts.append(builder.fdiv(_const(weights[lo:lo + _LANES]), den))
            return _lane_sum(builder, parts)
        return types.float64(types.float64, types.float64), codegen

    return lane_sum
