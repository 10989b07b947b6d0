# -*- coding: utf-8 -*-
"""gilscope benchmark workload: a busy thread on a deep mixed Python/C stack.

    GILSCOPE_NATIVE_EXT_DIR=DIR python native.py [LEVELS] [SECONDS]

DIR holds the test extension gsnative (tests/targets/native_ext.c) built
for this interpreter (tests/targets/native_ext_build.py). The main thread
goes down LEVELS times (default 12) through Python and C: each level is the
Python function down, which calls gsnative.outer, whose C function
gsnative_outer calls gsnative_inner, which calls back into Python for the
next level. At the bottom, spin busy-loops in Python. As `record --native`
shows it, root first:

    [C start-up: _start .. PyEval_EvalCode, 11 frames on 3.12];
    <module>; main; (down; gsnative_outer; gsnative_inner) x LEVELS;
    down; spin [; the C callees of spin's loop, when in one]

3 x LEVELS + 15 frames, 51 by default. The native stack under it is
longer: the interpreter's own calls between each C function and the next
Python frame (calling the callback, the evaluation function) are unwound
too, and left out of the merged stack (--native-all-frames keeps them).

Prints READY (flushed) once at the bottom, then runs until killed or for
SECONDS (default 300). Runs on Python 3.6+.
"""
from __future__ import print_function

import functools
import os
import sys
import time

sys.path.insert(0, os.environ["GILSCOPE_NATIVE_EXT_DIR"])
import gsnative  # noqa: E402


def spin(deadline):
    print("READY")
    sys.stdout.flush()
    x = 0
    while time.time() < deadline:
        for i in range(1000):
            x += i
    return x


def down(level, deadline):
    if level == 0:
        return spin(deadline)
    # The callback is a partial, run by the interpreter's C code: no Python
    # frame of its own between gsnative_inner and the next down.
    return gsnative.outer(functools.partial(down, level - 1, deadline))


def main():
    levels = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
    down(levels, time.time() + seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
