"""Borrowed array views (``pwaffine._kernels.views``): same data, no owner."""

import numba
import numpy as np
import pytest
from numba.core import types
from numba.extending import intrinsic

from pwaffine._kernels.views import borrowed, keep_alive


@intrinsic
def _meminfo_address(typingctx, array):
    """The address held in an array's ``meminfo`` field, as an integer."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, value=args[0])
        return builder.ptrtoint(ary.meminfo, context.get_value_type(types.intp))

    return types.intp(array), codegen


@numba.njit
def _owners_and_views(a, b, c):
    owned = (a, b[1:, ::2], c)
    views = borrowed(owned)
    # Writes through a view reach the owner; shapes and strides are kept.
    views[0][1] = 7.5
    views[2][0, 1] = 3
    same = (views[1].shape == owned[1].shape and views[1].strides == owned[1].strides
            and views[1][0, 1] == owned[1][0, 1] and views[2].dtype == owned[2].dtype)
    addresses = (_meminfo_address(views[0]), _meminfo_address(views[1]), _meminfo_address(views[2]),
                 _meminfo_address(owned[0]))
    keep_alive(owned)
    return same, addresses


def test_borrowed_views_share_data_and_have_no_owner():
    a = np.arange(4.0)
    b = np.arange(12.0).reshape(3, 4)
    c = np.zeros((2, 2), dtype=np.int8)
    same, addresses = _owners_and_views(a, b, c)
    assert same
    assert a[1] == 7.5 and c[0, 1] == 3
    assert addresses[:3] == (0, 0, 0)
    assert addresses[3] != 0  # the owner has one: the test can tell them apart


def test_borrowed_refuses_what_is_not_a_tuple_of_arrays():
    @numba.njit
    def bad(x):
        return borrowed((x, 1.0))

    with pytest.raises(numba.core.errors.TypingError, match="borrowed"):
        bad(np.zeros(2))


def test_a_borrowed_view_cannot_be_returned_to_python():
    @numba.njit
    def leak(x):
        return borrowed((x,))[0]

    with pytest.raises(TypeError, match="no owner"):
        leak(np.zeros(2))



def test_the_density_term_loop_takes_no_reference_counts():
    """The 2-D term loop, run on borrowed views, has no ``NRT_incref``/``NRT_decref`` call left.

    Views with a null owner alone leave the calls (each tests a pointer and
    returns; 32 and 68 call sites in this loop): with the :class:`BorrowedArray`
    type numba emits none, which took noise 0.2 from 161 to 143 ns per term.
    The loop is compiled afresh here (a kernel loaded from the cache has no
    LLVM IR to read).
    """
    from pwaffine import GaussianMixture, PushforwardModel, ReLUNetwork
    from pwaffine._kernels import polygons

    prior = GaussianMixture([0.4, 0.6], [[-1.0, 0.5], [0.5, 0.0]], [0.3 * np.eye(2), [[0.5, 0.1], [0.1, 0.4]]])
    model = PushforwardModel(prior, ReLUNetwork.random([2, 4, 3], rng=1), 0.3)
    X = model.sample(3, rng=2)
    model.logpdf(X)
    tables = model._tables.kernel_tables()
    Xw = np.ascontiguousarray(X * model._tables.inv_noise)
    fresh = numba.njit(error_model="numpy")(polygons.term_sum.py_func)

    @numba.njit
    def run(X, tables, work, log_skip):
        top, total = fresh(X, 0, borrowed(tables), borrowed(work), log_skip)
        keep_alive(work)
        return top, total

    work = polygons._new_work(tables)
    top, total = run(Xw, tables, work, model._tables.log_skip)
    assert top == polygons.term_sum(Xw, 0, tables, polygons._new_work(tables), model._tables.log_skip)[0]
    fresh(Xw, 0, tables, polygons._new_work(tables), model._tables.log_skip)  # owned arrays, for contrast
    calls = {}
    for signature in fresh.signatures:
        body = fresh.inspect_llvm(signature).split("define ", 2)[1]  # the loop, not its Python wrapper
        key = "borrowed" if all("borrowed" in str(t) for t in signature[2]) else "owned"
        calls[key] = [line.strip() for line in body.splitlines() if "call" in line and "@NRT_" in line]
    # Only the point array X, an owned argument, is counted: once on entry, once on exit.
    assert len(calls["borrowed"]) <= 2 and all("%arg.X" in line for line in calls["borrowed"]), calls["borrowed"]
    assert len(calls["owned"]) > 20  # the same loop on owned arrays: the test can tell them apart
