# -*- coding: utf-8 -*-
"""gilscope test target: a program that replaces itself with execv.

    python exec_self.py [SECONDS [AFTER]]

Prints READY, computes in before_exec() for SECONDS (default 1), then
os.execv's the same interpreter on this script: the new image (the same
process id) prints AFTER, computes in after_exec() for AFTER seconds
(default 300) and exits 0. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import os
import sys
import time


def spin(until):
    n = 0
    while time.time() < until:
        n += 1
    return n


def before_exec(seconds):
    spin(time.time() + seconds)


def after_exec(seconds):
    spin(time.time() + seconds)


if len(sys.argv) > 1 and sys.argv[1] == "--after":
    print("AFTER")
    sys.stdout.flush()
    after_exec(float(sys.argv[2]))
else:
    print("READY")
    sys.stdout.flush()
    before_exec(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
    after = sys.argv[2] if len(sys.argv) > 2 else "300"
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "--after", after])
