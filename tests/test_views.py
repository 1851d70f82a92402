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
