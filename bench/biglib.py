# -*- coding: utf-8 -*-
"""gilscope benchmark workload: a thread inside a big C++ library.

    python biglib.py LIBRARY [SECONDS]

Loads LIBRARY, a libLLVM (its C API; bench/run picks the largest
/usr/lib/*/libLLVM-*.so.1 found), with ctypes and runs LLVM's legacy
function pass manager over a one-line function with one pass. The pass
manager calls the context's yield callback after each pass: here a Python
function that busy-loops, so the main thread's stack stays, root first,

    <module>; main; [ctypes, libffi]; LLVMRunFunctionPassManager;
    llvm::legacy::FunctionPassManager::run; ...;
    llvm::FPPassManager::runOnFunction; llvm::LLVMContext::yield;
    [libffi, ctypes]; spin [; sum and the C it calls]

and a profiler following it with --native has libpython, libc and the
library's symbols (LLVM's shared library exports its C++ functions, so
.dynsym names them even when stripped) loaded. The library also maps its
own dependencies.

Prints READY (flushed) once inside the callback, then runs until killed or
for SECONDS (default 300). Runs on Python 3.6+.
"""
from __future__ import print_function

import ctypes
import sys
import time

IR = b"define void @f() {\nentry:\n  ret void\n}\n"
YIELD = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def main():
    lib = ctypes.CDLL(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
    deadline = time.time() + seconds
    vp = ctypes.c_void_p
    for name, res, args in (("LLVMContextCreate", vp, []),
                            ("LLVMCreateMemoryBufferWithMemoryRangeCopy", vp, [ctypes.c_char_p, ctypes.c_size_t,
                                                                              ctypes.c_char_p]),
                            ("LLVMParseIRInContext", ctypes.c_int, [vp, vp, ctypes.POINTER(vp),
                                                                    ctypes.POINTER(ctypes.c_char_p)]),
                            ("LLVMGetNamedFunction", vp, [vp, ctypes.c_char_p]),
                            ("LLVMCreateFunctionPassManagerForModule", vp, [vp]),
                            ("LLVMAddCFGSimplificationPass", None, [vp]),
                            ("LLVMInitializeFunctionPassManager", ctypes.c_int, [vp]),
                            ("LLVMContextSetYieldCallback", None, [vp, YIELD, vp]),
                            ("LLVMRunFunctionPassManager", ctypes.c_int, [vp, vp])):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    ctx = lib.LLVMContextCreate()
    buf = lib.LLVMCreateMemoryBufferWithMemoryRangeCopy(IR, len(IR), b"bench")
    mod, msg = vp(), ctypes.c_char_p()
    if lib.LLVMParseIRInContext(ctx, buf, ctypes.byref(mod), ctypes.byref(msg)):
        sys.exit("biglib.py: LLVM rejected the IR: %s" % msg.value)
    fpm = lib.LLVMCreateFunctionPassManagerForModule(mod)
    lib.LLVMAddCFGSimplificationPass(fpm)
    lib.LLVMInitializeFunctionPassManager(fpm)

    def spin(context, opaque):
        # Partly in C (sum): libpython's symbols and lines are read too.
        print("READY")
        sys.stdout.flush()
        while time.time() < deadline:
            sum(range(1000))

    cb = YIELD(spin)    # kept alive for as long as LLVM may call it
    lib.LLVMContextSetYieldCallback(ctx, cb, None)
    lib.LLVMRunFunctionPassManager(fpm, lib.LLVMGetNamedFunction(mod, b"f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
