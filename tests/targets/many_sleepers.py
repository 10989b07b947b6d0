# -*- coding: utf-8 -*-
"""gilscope test target: 300 threads asleep in time.sleep.

    python many_sleepers.py [SECONDS]

Prints READY once all have started, then sleeps until killed or for SECONDS
(default 300). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time

N = 300


def nap(deadline):
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    if hasattr(threading, "stack_size"):
        threading.stack_size(256 * 1024)
    for _ in range(N):
        t = threading.Thread(target=nap, args=(deadline,))
        t.daemon = True
        t.start()
    print("READY")
    sys.stdout.flush()
    nap(deadline)


if __name__ == "__main__":
    main()
