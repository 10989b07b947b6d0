# -*- coding: utf-8 -*-
"""gilscope test target: CPU time split 70% / 30% between func_a and func_b.

    python split.py [SECONDS]

Work comes in blocks of 10 equal units: in each block func_a runs 7 units
and func_b runs 3. Both call the same helper, unit(), once per call, so a unit
(and its call overhead) costs the same from either side, and the share of
samples whose stack holds func_a, out of those holding func_a or func_b,
should be 70% (main's own loop is in neither). Within a block the order of
the ten calls is a fixed pseudo-random shuffle (seeded, the same every run),
so the workload has no short period that a periodic sampler could alias with.

Prints READY (flushed), runs for SECONDS (default 300, a safety cap), then
prints DONE and exits 0. Output is exactly "READY\\nDONE\\n" (the runner checks
that it passes through a profiler unchanged). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

UNIT_ITERATIONS = 2000
UNITS_A = 7
UNITS_B = 3


def unit():
    i = 0
    x = 0
    while i < UNIT_ITERATIONS:
        x += i
        i += 1
    return x


def func_a():
    return unit()


def func_b():
    return unit()


def schedule(blocks=1000, seed=20240611):
    """Return a list of `blocks` lists of 10 calls, each holding
    UNITS_A func_a and UNITS_B func_b in a seeded pseudo-random order.
    Uses its own small LCG so the order is the same on every Python."""
    state = seed
    out = []
    for _ in range(blocks):
        block = [func_a] * UNITS_A + [func_b] * UNITS_B
        # Fisher-Yates with a 31-bit LCG
        for i in range(len(block) - 1, 0, -1):
            state = (state * 1103515245 + 12345) & 0x7fffffff
            j = (state >> 8) % (i + 1)
            block[i], block[j] = block[j], block[i]
        out.append(block)
    return out


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    print("READY")
    sys.stdout.flush()
    blocks = schedule()
    deadline = time.time() + seconds
    running = True
    while running:
        for block in blocks:
            if time.time() >= deadline:
                running = False
                break
            for f in block:
                f()
    print("DONE")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
