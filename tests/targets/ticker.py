# -*- coding: utf-8 -*-
"""gilscope test target: a thread that counts, in one function and then,
when asked, in another.

    python ticker.py [N]

N "worker" threads (default 1) compute in phase_a() (holding the GIL, with a short
sleep every 30000 steps) and count their rounds; after the
command 'phase b' they do the same in phase_b(). Prints READY (flushed), then
answers commands read from stdin, one line each:
    count     "count N": rounds so far, all workers together
    phase b   switch to phase_b: "phase b"
Ends at end of input. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time

import cmdserve

count = [0]
phase = ["a"]


def work():
    total = 0
    for i in range(30000):
        total += i * i
    count[0] += 1
    time.sleep(0.0005)
    return total


def phase_a():
    while phase[0] == "a":
        work()


def phase_b():
    while True:
        work()


def worker():
    phase_a()
    phase_b()


def main():
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        t = threading.Thread(target=worker, name="worker-%d" % i)
        t.daemon = True
        t.start()

    def switch(args):
        phase[0] = "b"
        return "phase b"

    cmdserve.serve({"count": lambda a: "count %d" % count[0], "phase b": switch})


main()
