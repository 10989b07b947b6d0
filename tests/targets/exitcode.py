# -*- coding: utf-8 -*-
"""gilscope test target: exits with a chosen code after a short while.

    python exitcode.py [CODE [SECONDS]]

Prints "READY" and then "EXIT CODE" to stdout, "exitcode: to stderr" to
stderr, busy-loops for SECONDS (default 0.5) and exits with CODE (default 3).
Used to check that `gilscope record -- CMD` passes the exit code and the
program's stdio through unchanged. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time


def work(deadline):
    n = 0
    while time.time() < deadline:
        n += 1
    return n


def main():
    code = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    print("READY")
    sys.stdout.flush()
    work(time.time() + seconds)
    print("exitcode: to stderr", file=sys.stderr)
    sys.stderr.flush()
    print("EXIT %d" % code)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
