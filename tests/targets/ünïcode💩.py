# -*- coding: utf-8 -*-
"""gilscope test target (Python 3 only): non-ASCII function and file names.

    python3 ünïcode💩.py [SECONDS]

The file name itself is non-ASCII (with a character outside the BMP). Stack
while sleeping, leaf first:
    関数      (LINE:kansu_sleep)
    функция  (LINE:funktsiya_call)
    main     (LINE:main_call)
    <module> (LINE:module_call)

Prints READY (flushed), then sleeps until killed or for SECONDS (default 300,
a safety cap). Run it with a UTF-8 locale on 3.6 (LC_ALL=C.UTF-8).
"""
from __future__ import print_function

import sys
import time


def 関数(deadline):
    print("READY")
    sys.stdout.flush()
    while True:
        left = deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 30.0))  # LINE:kansu_sleep


def функция(deadline):
    関数(deadline)  # LINE:funktsiya_call


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    функция(time.time() + seconds)  # LINE:main_call
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
