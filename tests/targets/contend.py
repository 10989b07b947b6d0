# -*- coding: utf-8 -*-
"""gilscope test target: three threads busy in pure Python, contending for the GIL.

    python contend.py [SECONDS]

Three threads loop `while True: pass` forever (on one line, so their
stacks never change); the main thread waits for them. With the GIL, one of
the three runs at a time and the others wait for it: about a quarter of all
thread samples are of a running thread, every pass has a GIL holder.

Prints READY, then runs until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time


def spin(deadline):
    while time.time() < deadline:  # LINE:spin_loop
        pass


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    ts = [threading.Thread(target=spin, args=(deadline,)) for _ in range(3)]
    for t in ts:
        t.daemon = True
        t.start()
    print("READY")
    sys.stdout.flush()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
