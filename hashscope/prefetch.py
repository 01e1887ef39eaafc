"""Asking for bytes ahead of their use, from compiled loops (capture, decode and flows)."""

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: LLVM's prefetch intrinsic: typed pointers up to LLVM 14, opaque from LLVM 15.
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info >= (15,) else "llvm.prefetch.p0i8"


@intrinsic
def prefetch(typingctx, arr, index):
    """Ask the memory system for the cache line holding ``arr[index]`` (a read, to be
    kept in all cache levels). A hint: it never faults and returns nothing. Loops whose
    next addresses are known (records already walked, a hash table's next slots) run
    several times faster when they prefetch a few items ahead instead of waiting on
    memory item by item."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), _PREFETCH)
        # rw = 0 (read), locality = 3 (keep everywhere), cache type = 1 (data)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, index), codegen
