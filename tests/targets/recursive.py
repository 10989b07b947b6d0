# -*- coding: utf-8 -*-
"""gilscope test target: a deep, exactly known stack.

    python recursive.py [SECONDS]

main() calls recurse(0), which recurses down to recurse(DEPTH) and sleeps
there. Stack while sleeping, leaf first:
    recurse  (LINE:bottom_sleep)          -- recurse(20)
    recurse  (LINE:recurse_call) x DEPTH  -- recurse(19) .. recurse(0)
    main     (LINE:main_call)
    <module> (LINE:module_call)
i.e. DEPTH + 1 = 21 recurse frames, 23 frames in all.

Prints READY (flushed) at the bottom, then sleeps until killed or for SECONDS
(default 300, a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

DEPTH = 20


def recurse(n, deadline):
    if n < DEPTH:
        return recurse(n + 1, deadline)  # LINE:recurse_call
    print("READY")
    sys.stdout.flush()
    while True:
        left = deadline - time.time()
        if left <= 0:
            return n
        time.sleep(min(left, 30.0))  # LINE:bottom_sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    recurse(0, time.time() + seconds)  # LINE:main_call
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
