"""Array views without an owner, for loops that bind many arrays per step.

numba counts references to an array's owner (its ``meminfo``): binding an
array to a variable (``tables[3]``, a slice, an argument) calls
``NRT_incref``, and the variable's end ``NRT_decref``; its pruning pass
removes only the pairs it can match in simple control flow.  The density
kernels' per-term steps bind a dozen table and scratch arrays each, for every
term of every point.  Measured at noise 0.2 on the benchmark's 2-D workload:

* with owned arrays the counts are atomic operations, and took about a
  quarter of the kernel's time (``NRT_incref`` and ``NRT_decref`` 12% of all
  ``perf`` samples, against 12% for the Owen's T rule);
* with views whose ``meminfo`` is null each call only tests the pointer, but
  the calls stay (32 and 68 call sites in the term loop), and cost 11% of the
  time (161 against 143 ns per term);
* :func:`borrowed` views have the type :class:`BorrowedArray`, whose data
  model holds no ``meminfo`` for numba to count: no call is emitted.
"""

from numba.core import types
from numba.core.datamodel import models, register_default
from numba.extending import box, intrinsic

__all__ = ["BorrowedArray", "borrowed", "keep_alive"]


class BorrowedArray(types.Array):
    """numba's array type for a view without an owner: numba emits no reference counting for it.

    An array's owner is counted by ``NRT_incref``/``NRT_decref`` calls that
    numba places wherever an array is bound; for a null ``meminfo`` they test
    the pointer and return, but the calls remain (and make the caller save
    its vector registers around each).  This type's data model has no
    ``meminfo`` to count, so no calls are made.  Slices and other views of a
    borrowed array are borrowed too (:meth:`copy`); arrays it computes
    (``a + b``) are ordinary.
    """

    def __init__(self, dtype, ndim, layout, readonly=False, aligned=True):
        super().__init__(dtype, ndim, layout, readonly=readonly, aligned=aligned,
                         name=f"borrowed({dtype}, {ndim}d, {layout})" + (", readonly" if readonly else ""))

    def copy(self, dtype=None, ndim=None, layout=None, readonly=None):
        return BorrowedArray(self.dtype if dtype is None else dtype, self.ndim if ndim is None else ndim,
                             self.layout if layout is None else layout,
                             readonly=not self.mutable if readonly is None else readonly, aligned=self.aligned)


@register_default(BorrowedArray)
class _BorrowedArrayModel(models.ArrayModel):
    """An array's fields, without a ``meminfo`` for numba to count (see :class:`BorrowedArray`)."""

    def traverse(self, builder):
        return []

    def has_nrt_meminfo(self):
        return False

    def contains_nrt_meminfo(self):
        return False


@box(BorrowedArray)
def _refuse_to_box(typ, val, c):
    """A view has no owner that Python could hold: returning one from jitted code is refused."""
    raise TypeError(f"a borrowed array view ({typ}) cannot be returned to Python: it has no owner")


@intrinsic
def borrowed(typingctx, arrays):
    """The arrays of a tuple as views without an owner: same data, shape and strides, null ``meminfo``.

    For jitted code only.  The caller must keep the owners alive for as long
    as the views are used (numba frees an owner after its variable's last
    use, so use it again after the last use of its view), and no view may
    be returned or stored.
    """
    if not isinstance(arrays, types.BaseTuple) or not all(isinstance(a, types.Array)
                                                           for a in arrays):
        return None

    def codegen(context, builder, sig, args):
        (values,) = args
        views = []
        for i, ty in enumerate(sig.args[0]):
            source = context.make_array(ty)(context, builder, value=builder.extract_value(values, i))
            view = context.make_array(sig.return_type[i])(context, builder)
            for name in ("nitems", "itemsize", "data", "shape", "strides"):
                setattr(view, name, getattr(source, name))
            view.meminfo = context.get_constant_null(types.MemInfoPointer(ty.dtype))
            view.parent = context.get_constant_null(types.pyobject)
            views.append(view._getvalue())
        return context.make_tuple(builder, sig.return_type, views)

    views = types.Tuple([BorrowedArray(a.dtype, a.ndim, a.layout, readonly=not a.mutable, aligned=a.aligned)
                         for a in arrays])
    return views(arrays), codegen


@intrinsic
def keep_alive(typingctx, value):
    """Nothing, but a use of ``value``: numba keeps a variable's reference until its last use.

    Placed after the last use of a :func:`borrowed` view of ``value``.
    """

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(value), codegen
