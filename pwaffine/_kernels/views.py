"""Array views without an owner, for loops that bind many arrays per step.

numba counts references to an array's owner (its ``meminfo``): binding an
array to a variable (``tables[3]``, a slice, an argument) costs an atomic
increment, and the variable's end an atomic decrement.  The density kernels'
per-term steps bind a dozen table and scratch arrays each, for every term of
every point; measured at noise 0.2 on the benchmark's 2-D workload, these
atomic operations took about a quarter of the kernel's time (``perf``:
``NRT_incref`` and ``NRT_decref`` 12% of all samples, against 12% for the
Owen's T rule).  A view whose ``meminfo`` is null costs numba a test of a
null pointer instead (it treats it as memory it does not own).
"""

from numba.core import types
from numba.extending import intrinsic

__all__ = ["borrowed", "keep_alive"]


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
            view = context.make_array(ty)(context, builder)
            for name in ("nitems", "itemsize", "data", "shape", "strides"):
                setattr(view, name, getattr(source, name))
            view.meminfo = context.get_constant_null(types.MemInfoPointer(ty.dtype))
            view.parent = context.get_constant_null(types.pyobject)
            views.append(view._getvalue())
        return context.make_tuple(builder, sig.return_type, views)

    return arrays(arrays), codegen


@intrinsic
def keep_alive(typingctx, value):
    """Nothing, but a use of ``value``: numba keeps a variable's reference until its last use.

    Placed after the last use of a :func:`borrowed` view of ``value``.
    """

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(value), codegen
