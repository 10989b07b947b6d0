# -*- coding: utf-8 -*-
"""gilscope benchmark workload: two call paths that take turns in the same
stack slots.

    python alternate.py [SECONDS]

main() calls a() then b(), over and over; a() calls x() and b() calls y().
a and b (and x and y) have the same shape, so on 3.11+ their frames occupy
the same data-stack slots, one after the other: a reader that copies the
stack while it changes can see a's frame under y's, or b's under x's, with
every pointer in place. The only true stacks, root first, are:

    <module>; main              <module>; main; a     <module>; main; b
    <module>; main; a; x        <module>; main; b; y

Prints READY (flushed), then runs until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time


def x():
    i = 0
    while i < 20:
        i += 1
    return i


def y():
    i = 0
    while i < 20:
        i += 1
    return i


def a():
    j = 0
    while j < 5:
        j += 1
    return x() + j


def b():
    j = 0
    while j < 5:
        j += 1
    return y() + j


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        for _ in range(1000):
            a()
            b()
    return 0


if __name__ == "__main__":
    sys.exit(main())
