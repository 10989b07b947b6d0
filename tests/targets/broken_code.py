# -*- coding: utf-8 -*-
"""gilscope test target: a thread running code whose file name is not a string.

    python broken_code.py [SECONDS]

With ctypes, the code object of victim() gets an int where its co_filename
pointer was (the int is kept alive; nothing else in the program reads that
field while the thread sleeps). A profiler cannot name that frame: the
thread's stack cannot be read, and `dump` must show the thread with the
reason, not leave it out; the main thread's stack is unharmed:
    inner    (LINE:inner_sleep)
    main     (LINE:main_call)
    <module> (LINE:module_call)

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+ (CPython).
"""
from __future__ import print_function

import ctypes
import sys
import threading
import time

NOT_A_STRING = 1234567891011


def victim(deadline):
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))


def break_filename(code):
    """Point CODE's co_filename member at an int, found by its current value."""
    want = id(code.co_filename)
    words = sys.getsizeof(code) // ctypes.sizeof(ctypes.c_void_p)
    for i in range(2, words):
        slot = ctypes.c_void_p.from_address(id(code) + i * ctypes.sizeof(ctypes.c_void_p))
        if slot.value == want:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(NOT_A_STRING))
            slot.value = id(NOT_A_STRING)
            return
    raise SystemExit("co_filename not found in the code object")


def inner(deadline):
    print("READY")
    sys.stdout.flush()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))  # LINE:inner_sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    code = victim.__code__
    t = threading.Thread(target=victim, args=(deadline,), name="broken")
    t.daemon = True
    t.start()
    time.sleep(0.2)
    break_filename(code)
    inner(deadline)  # LINE:main_call


if __name__ == "__main__":
    main()  # LINE:module_call
