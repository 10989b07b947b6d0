# -*- coding: utf-8 -*-
"""gilscope test target: a stack deeper than gilscope reads (2,048 frames).

    python deep.py [SECONDS]

recurse() calls itself DEPTH times below main(): the stack is
DEPTH + 1 recurse frames, main and <module>: 2,103 frames. A profiler shows
the 2,048 nearest the leaf and says how many it left out at the root end.

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

DEPTH = 2100
sys.setrecursionlimit(DEPTH + 1000)


def recurse(n, deadline):
    if n < DEPTH:
        return recurse(n + 1, deadline)
    print("READY")
    sys.stdout.flush()
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    recurse(0, time.time() + seconds)


if __name__ == "__main__":
    main()
