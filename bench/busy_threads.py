# -*- coding: utf-8 -*-
"""gilscope benchmark workload: N busy Python threads.

    python busy_threads.py N [--split] [SECONDS]

Starts N worker threads, each looping a short CPU burst of pure Python
(about a tenth of a millisecond alone) and a sleep of 0-4 ms, uniformly at
random: the shape of a thread-pool server's workers, which are the threads
a sampler meets running or about to run. With more than a few dozen
threads they want more than one CPU together, so they also take turns at
the GIL, as such servers' do.

With --split the first 70% of the workers (by start order) run their bursts
in heavy() and the rest in light(), the same loop: every thread behaves
alike, so 70% of the samples that are in either function are in heavy,
whatever the thread count and however the threads share the GIL. A
sampler that read some threads less often than others when it falls
behind (those late in its list, say) would show it as a different share.
Without --split, the burst is burst() -> leaf() (cpu.py's loop).

The main thread is the N+1th Python thread: it prints READY (flushed) once
every worker has started, then answers each line read on stdin with one
line "BURSTS SECONDS": bursts completed by all workers so far and
time.monotonic() (time.time() on 2.7), so that a driver can measure the
work rate over any stretch. Runs until killed, stdin closes, or SECONDS
(default 600). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import random
import sys
import threading
import time

from cpu import leaf as spin    # cpu.py's fixed pure-Python loop

clock = getattr(time, "monotonic", time.time)

UNIT = 40           # loop iterations in one unit of work
# --split: longer bursts and a short switch interval, so that threads are
# often made to wait for the GIL in the middle of heavy or light; waiting
# there, they show in those functions in samples too, and a profile has
# thousands of samples to divide between the two instead of one thread's.
SPLIT_UNIT = 200
SPLIT_SWITCH_S = 0.0002


def heavy(n):
    return spin(n)


def light(n):
    return spin(n)


def burst(kind):
    if kind == "heavy":
        return heavy(10 * SPLIT_UNIT)
    if kind == "light":
        return light(10 * SPLIT_UNIT)
    return spin(10 * UNIT)


def nap(seconds):
    time.sleep(seconds)


def work(i, kind, deadline, counts, started, go):
    rnd = random.Random(i)
    started.release()
    while not go:
        time.sleep(0.02)
    while clock() < deadline:
        burst(kind)
        counts[i] += 1
        nap(rnd.uniform(0.0, 0.004))


def main():
    args = sys.argv[1:]
    split = "--split" in args
    args = [a for a in args if a != "--split"]
    n = int(args[0]) if args else 100
    seconds = float(args[1]) if len(args) > 1 else 600.0
    deadline = clock() + seconds
    counts = [0] * n        # one slot per worker: no lock, no shared counter
    started = threading.Semaphore(0)
    # Workers wait for the last to start: busy ones (and, with --split, a
    # short switch interval) would make starting 1000 threads take minutes.
    # They poll a list rather than wait on an Event: 1000 threads woken at
    # once queue for the Event's lock behind the busy ones for seconds.
    go = []
    if hasattr(threading, "stack_size"):
        threading.stack_size(256 * 1024)
    for i in range(n):
        kind = ("heavy" if i * 10 < n * 7 else "light") if split else "spin"
        t = threading.Thread(target=work, args=(i, kind, deadline, counts, started, go), name="b%d" % i)
        t.daemon = True
        t.start()
    for _ in range(n):
        started.acquire()
    if split and hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(SPLIT_SWITCH_S)
    go.append(True)
    print("READY")
    sys.stdout.flush()
    while clock() < deadline:
        line = sys.stdin.readline()
        if not line:
            break
        print("%d %.6f" % (sum(counts), clock()))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
