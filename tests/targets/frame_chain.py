# -*- coding: utf-8 -*-
"""gilscope test target: threads whose frame chains are damaged.

    python frame_chain.py [SECONDS]

Two threads sleep two calls deep (outer_nap -> nap); then, with ctypes, the
link from nap's frame to its caller is changed:
  loop      points back at nap's own frame (a cycle)
  garbage   points at an unmapped, aligned address
A third, deep_loop, sleeps DEEP calls deep (descend ... descend -> nap), and
the link from its outermost descend frame to its caller is pointed at the
descend frame LOOP_AT calls down: a cycle that closes only after more
frames than a profiler walks (2048 for gilscope), so it is caught while
counting what the cut left out, not before the cut.
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
DEEP = 3000
LOOP_AT = 50


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


def break_link(frame, how, to=None):
    """Point FRAME's link to its caller at itself ("loop"), at GARBAGE, or
    ("to") at the frame TO."""
    caller = frame.f_back
    if sys.version_info < (3, 11):
        slot = find_word(id(frame), id(caller), 8)
        me, other = id(frame), id(to) if to is not None else None
    else:
        ranges = readable_ranges()
        me = interp_frame(frame, ranges)
        up = interp_frame(caller, ranges)
        slot = find_word(me, up, 12) if me and up else None
        other = interp_frame(to, ranges) if to is not None else None
    if slot is None or (how == "to" and not other):
        raise SystemExit("frame link not found")
    ctypes.c_void_p.from_address(slot).value = {"loop": me, "garbage": GARBAGE, "to": other}[how]


def nap(deadline, ready):
    ready.set()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))


def outer_nap(deadline, ready):
    nap(deadline, ready)


def descend(n, deadline, ready):
    if n > 1:
        descend(n - 1, deadline, ready)
    else:
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
    sys.setrecursionlimit(DEEP + 100)
    for how in ("loop", "garbage", "deep_loop"):
        ready = threading.Event()
        if how == "deep_loop":
            t = threading.Thread(target=descend, args=(DEEP, deadline, ready), name=how)
        else:
            t = threading.Thread(target=outer_nap, args=(deadline, ready), name=how)
        t.daemon = True
        t.start()
        ready.wait()
        threads[how] = t
    time.sleep(0.3)
    frames = sys._current_frames()
    for how, t in threads.items():
        f = frames[t.ident]
        if how == "deep_loop":
            chain = []
            while f is not None and f.f_code.co_name in ("nap", "descend"):
                chain.append(f)
                f = f.f_back
            # chain[-1] is the outermost descend, chain[-1 - LOOP_AT] LOOP_AT calls down.
            break_link(chain[-1], "to", chain[-1 - LOOP_AT])
            del chain
            continue
        while f is not None and f.f_code.co_name != "nap":
            f = f.f_back
        break_link(f, how)
    del frames, f
    inner(deadline)  # LINE:main_call


if __name__ == "__main__":
    main()  # LINE:module_call
