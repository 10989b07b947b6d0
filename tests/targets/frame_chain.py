# -*- coding: utf-8 -*-
"""gilscope test target: threads whose frame chains are damaged.

    python frame_chain.py [SECONDS]

Two threads sleep two calls deep (outer_nap -> nap); then, with ctypes, the
link from nap's frame to its caller is changed:
  loop      points back at nap's own frame (a cycle)
  garbage   points at an unmapped, aligned address
On 2.7-3.10 the link is the frame object's f_back; from 3.11 it is the
interpreter frame's `previous` (found from the frame object: the word that
points at a readable block which points back at the frame object). Every
offset is found by value, so no layout is assumed. The main thread sleeps in
main() and must be read exactly. A profiler lists every thread, reports the
damaged ones as unreadable with why, and never hangs.

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+ (CPython, GIL builds).
"""
from __future__ import print_function

import ctypes
import gc
import sys
import threading
import time

gc.disable()
WORD = ctypes.sizeof(ctypes.c_void_p)
GARBAGE = 0x10  # aligned, and never mapped


def readable_ranges():
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if parts[1].startswith("r"):
                out.append((lo, hi))
    return out


def word(addr):
    return ctypes.c_void_p.from_address(addr).value or 0


def find_word(base, value, nwords):
    for i in range(nwords):
        if word(base + i * WORD) == value:
            return base + i * WORD
    return None


def interp_frame(frame, ranges):
    """3.11+: the _PyInterpreterFrame behind FRAME (it points back at it)."""
    for i in range(2, 12):
        p = word(id(frame) + i * WORD)
        if p and p % WORD == 0 and any(lo <= p and p + 16 * WORD <= hi for lo, hi in ranges):
            if find_word(p, id(frame), 16) is not None:
                return p
    return None


def break_link(frame, how):
    target_of = {"loop": None, "garbage": GARBAGE}
    caller = frame.f_back
    if sys.version_info < (3, 11):
        slot = find_word(id(frame), id(caller), 8)
        me = id(frame)
    else:
        ranges = readable_ranges()
        me = interp_frame(frame, ranges)
        up = interp_frame(caller, ranges)
        slot = find_word(me, up, 12) if me and up else None
    if slot is None:
        raise SystemExit("frame link not found")
    ctypes.c_void_p.from_address(slot).value = me if how == "loop" else target_of[how]


def nap(deadline, ready):
    ready.set()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))


def outer_nap(deadline, ready):
    nap(deadline, ready)


def inner(deadline):
    print("READY")
    sys.stdout.flush()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))  # LINE:inner_sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    threads = {}
    for how in ("loop", "garbage"):
        ready = threading.Event()
        t = threading.Thread(target=outer_nap, args=(deadline, ready), name=how)
        t.daemon = True
        t.start()
        ready.wait()
        threads[how] = t
    time.sleep(0.3)
    frames = sys._current_frames()
    for how, t in threads.items():
        f = frames[t.ident]
        while f is not None and f.f_code.co_name != "nap":
            f = f.f_back
        break_link(f, how)
    del frames, f
    inner(deadline)  # LINE:main_call


if __name__ == "__main__":
    main()  # LINE:module_call
