# -*- coding: utf-8 -*-
"""gilscope test target: threads running damaged or extreme code objects.

    python hostile_code.py [SECONDS]

Each thread sleeps inside one function whose code object was made odd:
  bigname     a 10 MB function name
  firstline   co_firstlineno 2**31 - 1
  shorttable  a line table cut to one byte
  intname     co_name (and co_qualname) pointing at an int (ctypes)
The main thread sleeps in main() and must be read exactly as always. A
profiler keeps sampling every thread, never hangs or crashes, and counts
what it cannot read.

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 3.8+ (CodeType.replace), CPython.
"""
from __future__ import print_function

import ctypes
import gc
import sys
import threading
import time

gc.disable()    # nothing may walk the damaged code objects
NOT_A_STRING = 98765432101234


def napper():
    def nap(deadline):
        while time.time() < deadline:
            time.sleep(min(max(deadline - time.time(), 0.0), 30.0))
    return nap


def point_at_int(code, value):
    """Make CODE's member that holds VALUE point at an int instead."""
    want = id(value)
    for i in range(2, sys.getsizeof(code) // ctypes.sizeof(ctypes.c_void_p)):
        slot = ctypes.c_void_p.from_address(id(code) + i * ctypes.sizeof(ctypes.c_void_p))
        if slot.value == want:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(NOT_A_STRING))
            slot.value = id(NOT_A_STRING)


def damaged():
    out = {}
    f = napper()
    f.__code__ = f.__code__.replace(co_name="b" * (10 << 20))
    out["bigname"] = f
    f = napper()
    f.__code__ = f.__code__.replace(co_firstlineno=2 ** 31 - 1)
    out["firstline"] = f
    f = napper()
    if sys.version_info >= (3, 10):
        f.__code__ = f.__code__.replace(co_linetable=f.__code__.co_linetable[:1])
    else:
        f.__code__ = f.__code__.replace(co_lnotab=f.__code__.co_lnotab[:1])
    out["shorttable"] = f
    out["intname"] = napper()
    return out


def inner(deadline):
    print("READY")
    sys.stdout.flush()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))  # LINE:inner_sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    funcs = damaged()
    for name, f in sorted(funcs.items()):
        t = threading.Thread(target=f, args=(deadline,), name=name)
        t.daemon = True
        t.start()
    time.sleep(0.3)
    code = funcs["intname"].__code__
    point_at_int(code, code.co_name)
    if hasattr(code, "co_qualname"):
        point_at_int(code, code.co_qualname)
    inner(deadline)  # LINE:main_call


if __name__ == "__main__":
    main()  # LINE:module_call
