# -*- coding: utf-8 -*-
"""gilscope test target: a thread list that loops back on itself.

    python thread_cycle.py [SECONDS]

Three threads sleep; then, with ctypes, the last thread state's `next`
pointer is made to point at the first (its offset found by value, so no
layout is assumed). CPython does not walk the list while the threads sleep.
A profiler must list each thread once, count one error, and not hold the
target long.

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+ (CPython, GIL builds).
"""
from __future__ import print_function

import ctypes
import sys
import threading
import time

api = ctypes.pythonapi
api.PyInterpreterState_Head.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
api.PyThreadState_Next.restype = ctypes.c_void_p
api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
WORD = ctypes.sizeof(ctypes.c_void_p)


def nap(deadline):
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))


def make_cycle():
    states = []
    ts = api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Head())
    while ts:
        states.append(ts)
        ts = api.PyThreadState_Next(ts)
    if len(states) < 2:
        raise SystemExit("need two thread states")
    # `next` is the first word of the head's state holding the second's address.
    for i in range(64):
        if ctypes.c_void_p.from_address(states[0] + i * WORD).value == states[1]:
            ctypes.c_void_p.from_address(states[-1] + i * WORD).value = states[0]
            return len(states)
    raise SystemExit("next not found")


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    for _ in range(3):
        t = threading.Thread(target=nap, args=(deadline,))
        t.daemon = True
        t.start()
    time.sleep(0.3)
    make_cycle()
    print("READY")
    sys.stdout.flush()
    nap(deadline)


if __name__ == "__main__":
    main()
