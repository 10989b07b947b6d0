# -*- coding: utf-8 -*-
"""gilscope benchmark workload: a fixed amount of CPU-bound work, timed.

    python cpu.py ROUNDS

Prints READY (flushed) and waits for a line on stdin (so a profiler can be
attached first), then does ROUNDS rounds of a fixed pure-Python computation
at a moderate stack depth and prints two numbers, in seconds, measured
around the work only (interpreter start-up is not included): the wall time
it took, and of that the time the process spent runnable but waiting for a
CPU (from /proc/self/schedstat; 0 where it cannot be read), i.e. the time
other work on a shared machine took from it. Time the process was held
stopped (a profiler's pause) is in the first and not in the second.
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

try:
    clock = time.perf_counter
except AttributeError:
    clock = time.time


def leaf(n):
    x = 0
    i = 0
    while i < n:
        x = (x * 31 + i) & 0xffff
        i += 1
    return x


def mid(depth, n):
    if depth:
        return mid(depth - 1, n)
    return leaf(n)


def runq_wait():
    """Nanoseconds this process has waited on a run queue, or 0."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1])
    except (IOError, OSError, ValueError, IndexError):
        return 0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print("READY")
    sys.stdout.flush()
    sys.stdin.readline()
    w0 = runq_wait()
    t0 = clock()
    total = 0
    for r in range(rounds):
        for d in range(0, 30, 3):
            total += mid(d, 2000)
    t1 = clock()
    w1 = runq_wait()
    print("%.6f %.6f" % (t1 - t0, (w1 - w0) / 1e9))
    sys.stdout.flush()
    return 0 if total >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
