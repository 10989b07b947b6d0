# -*- coding: utf-8 -*-
"""gilscope test target: native code a profiler finds hard to unwind or name.

    python native_faults.py MODE [LIB] [SECONDS]

MODE:
  jit       two threads run machine code written at run time into an
            anonymous mapping (mmap, then mprotect to read+execute, as a
            JIT compiler does), called through ctypes without the GIL:
              'jit-fp'    an endless `pause; jmp` loop that leaves the
                          frame pointer (libffi's) alone
              'jit-nofp'  the same after `xor ebp, ebp`: no frame chain
                          to follow out of it
            while the main thread sleeps in main_sleep (LINE:main_sleep).
            x86-64 only.
  call      thread 'faultlib' calls LIB's faultlib_call(SECONDS) through
            ctypes (LINE:faultlib_call) and spins in it.
  dlcycle   thread 'dlcycle', starting 0.5 s after READY (so after a
            profiler attached), loads LIB (ctypes.CDLL), calls
            faultlib_call(0.002) (LINE:dlcycle_call) and unloads it
            (_ctypes.dlclose), again and again: LIB is mapped and unmapped
            hundreds of times a second.
LIB is native_fault_lib.c built as a shared library (the runner builds
it). Prints READY once the threads are started (0.1 s after each says it
is about to make its call), then runs until killed or for SECONDS (default
300, a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import ctypes
import sys
import threading
import time

import _ctypes

MODE = sys.argv[1]
LIB = sys.argv[2] if len(sys.argv) > 2 and MODE != "jit" else None
SECONDS = float(sys.argv[-1]) if len(sys.argv) > (3 if LIB else 2) else 300.0
DEADLINE = time.time() + SECONDS

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
# pause; jmp back to the pause
SPIN = b"\xf3\x90\xeb\xfc"
# xor ebp, ebp; then SPIN
SPIN_NOFP = b"\x31\xed" + SPIN


def anonymous_code(code):
    """CODE copied into a fresh anonymous page, made read+execute: a C
    function of no arguments at its start."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = libc.mmap(None, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if page in (None, ctypes.c_void_p(-1).value):
        sys.exit("native_faults.py: mmap failed: errno %d" % ctypes.get_errno())
    ctypes.memmove(page, code, len(code))
    if libc.mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0:
        sys.exit("native_faults.py: mprotect failed: errno %d" % ctypes.get_errno())
    return ctypes.CFUNCTYPE(None)(page)


def jit(entered, fn):
    entered.set()
    fn()  # LINE:jit_call


def faultlib(entered):
    lib = ctypes.CDLL(LIB)
    lib.faultlib_call.argtypes = [ctypes.c_double]
    entered.set()
    lib.faultlib_call(SECONDS)  # LINE:faultlib_call


def dlcycle(entered):
    entered.set()
    time.sleep(0.5)
    while time.time() < DEADLINE:
        lib = ctypes.CDLL(LIB)
        lib.faultlib_call.argtypes = [ctypes.c_double]
        lib.faultlib_call(0.002)  # LINE:dlcycle_call
        handle = lib._handle
        del lib
        _ctypes.dlclose(handle)


def start(name, fn, *args):
    entered = threading.Event()
    t = threading.Thread(target=fn, name=name, args=(entered,) + args)
    t.daemon = True
    t.start()
    entered.wait()
    time.sleep(0.1)  # from entered.set() into the call
    return t


def main():
    if MODE == "jit":
        start("jit-fp", jit, anonymous_code(SPIN))
        start("jit-nofp", jit, anonymous_code(SPIN_NOFP))
    elif MODE == "call":
        start("faultlib", faultlib)
    elif MODE == "dlcycle":
        start("dlcycle", dlcycle)
    else:
        sys.exit("native_faults.py: unknown mode %r" % MODE)
    print("READY")
    sys.stdout.flush()
    while time.time() < DEADLINE:
        time.sleep(max(0.0, min(DEADLINE - time.time(), 30.0)))  # LINE:main_sleep
    return 0


if __name__ == "__main__":
    sys.exit(main())
