# -*- coding: utf-8 -*-
"""gilscope benchmark workload: CPU time split 70% / 30% between two functions.

    python split.py [SECONDS]

Work comes in blocks of 10 equal units: func_a runs 7 and func_b 3, in a
fixed pseudo-random order within each block (seeded LCG, the same on every
Python), so the workload has no short period a periodic sampler could alias
with. Both call the same helper unit() once per unit, so a unit costs the
same from either side: of the samples whose stack holds func_a or func_b,
70% should hold func_a.

Prints READY (flushed), runs until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

UNIT_ITERATIONS = 2000


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
    state = seed
    out = []
    for _ in range(blocks):
        block = [func_a] * 7 + [func_b] * 3
        for i in range(len(block) - 1, 0, -1):
            state = (state * 1103515245 + 12345) & 0x7fffffff
            j = (state >> 8) % (i + 1)
            block[i], block[j] = block[j], block[i]
        out.append(block)
    return out


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    blocks = schedule()
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        for block in blocks:
            for f in block:
                f()
    return 0


if __name__ == "__main__":
    sys.exit(main())
