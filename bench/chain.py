# -*- coding: utf-8 -*-
"""gilscope benchmark workload: a stack that is always a chain, changing depth.

    python chain.py [SECONDS]

main() calls f0(k), f0 calls f1(k), ... down to fk, for a depth k that
changes on every call from main (a fixed pseudo-random sequence in
0 .. MAX_K). Every function does a little pure-bytecode work before and after
its call, so time is spent at every depth, going down and coming back up.
At any instant the Python stack is therefore, root first:

    <module>; main                          (between two calls), or
    <module>; main; f0; f1; ...; fj         for some j <= MAX_K

i.e. 2 to MAX_K + 3 = 120 frames. Anything else a profiler reports (a gap,
a repeat, a frame out of order) is a torn stack. Only the f-functions and
main are ever on the stack; nothing calls into other Python code.

Prints READY (flushed), then runs until killed or for SECONDS (default 300,
a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

MAX_K = 117         # deepest function index: 118 f-frames + main + <module>
WORK = 12           # loop iterations before and after each call


def make_chain():
    # Distinct functions f0 .. fMAX_K, so a torn stack shows as a broken sequence.
    lines = []
    for i in range(MAX_K + 1):
        lines.append("def f%d(k):" % i)
        lines.append("    x = 0")
        lines.append("    j = 0")
        lines.append("    while j < %d:" % WORK)
        lines.append("        x += j")
        lines.append("        j += 1")
        if i < MAX_K:
            lines.append("    if k > %d:" % i)
            lines.append("        x += f%d(k)" % (i + 1))
        lines.append("    while j > 0:")
        lines.append("        x -= j")
        lines.append("        j -= 1")
        lines.append("    return x")
    ns = {}
    exec(compile("\n".join(lines) + "\n", __file__, "exec"), ns)
    return ns["f0"]


def depths(n, seed=12345):
    """n depths in 0..MAX_K from a 31-bit LCG: the same on every Python."""
    out = []
    state = seed
    for _ in range(n):
        state = (state * 1103515245 + 12345) & 0x7fffffff
        out.append((state >> 8) % (MAX_K + 1))
    return out


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    f0 = make_chain()
    seq = depths(4096)
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        for k in seq:
            f0(k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
