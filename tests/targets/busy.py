# -*- coding: utf-8 -*-
"""gilscope test target: a pure-Python busy loop holding the GIL.

    python busy.py [SECONDS]

Stack while spinning, leaf first:
    spin     (a line between LINE:spin_def and LINE:spin_end)
    main     (LINE:main_call)
    <module> (LINE:module_call)

Prints READY (flushed), then spins until killed or for SECONDS (default 300,
a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time


def spin(deadline):  # LINE:spin_def
    # READY is printed from here, so a sampler that reacts to it finds spin on the stack.
    print("READY")
    sys.stdout.flush()
    n = 0
    total = 0
    while True:
        n += 1
        total += n * n
        if n % 20000 == 0:
            total = 0
            if time.time() >= deadline:
                break
    return n  # LINE:spin_end


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    spin(time.time() + seconds)  # LINE:main_call
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
