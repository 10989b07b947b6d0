# -*- coding: utf-8 -*-
"""gilscope test target: an idle (sleeping) main thread with a known stack.

    python sleeper.py [SECONDS]

Stack while sleeping, leaf first:
    inner   (LINE:inner_sleep)
    outer   (LINE:outer_call)
    main    (LINE:main_call)
    <module>(LINE:module_call)

Prints READY (flushed) once the stack is set up, then sleeps until killed or
for SECONDS (default 300, a safety cap). Runs on Python 2.7 and 3.6+.
Line numbers are found by the test runner through the LINE: marker comments;
do not put two markers on one line.
"""
from __future__ import print_function

import sys
import time


def inner(deadline):
    print("READY")
    sys.stdout.flush()
    while True:
        left = deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 30.0))  # LINE:inner_sleep


def outer(deadline):
    inner(deadline)  # LINE:outer_call


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    outer(time.time() + seconds)  # LINE:main_call
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
