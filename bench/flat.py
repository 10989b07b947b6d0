# -*- coding: utf-8 -*-
"""gilscope benchmark workload: a busy thread with a shallow stack.

    python flat.py [SECONDS]

Stack, root first: <module>; main; outer; inner -- at most 4 frames, and
main alternates between calling outer (which calls inner) and doing a little
work itself, so the leaf changes all the time.

Prints READY (flushed), then runs until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time


def inner(n):
    x = 0
    i = 0
    while i < n:
        x += i
        i += 1
    return x


def outer(n):
    return inner(n) + inner(n // 2)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        for _ in range(100):
            outer(200)
            j = 0
            while j < 50:
                j += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
