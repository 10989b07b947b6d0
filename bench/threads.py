# -*- coding: utf-8 -*-
"""gilscope benchmark workload: N mostly idle Python threads.

    python threads.py N [--busy] [SECONDS]

Starts N threads (N - 1 workers plus the main thread make N Python threads
in all). Each worker sleeps in a short call chain (run -> wait -> nap) and
wakes about once a second to do a few microseconds of work, so the threads
are idle nearly all the time but their stacks are real. The main thread
does the same, or with --busy runs chain.py's workload (a busy stack of
changing depth), so that a long profile keeps meeting new stacks.

Prints READY (flushed) once every worker has started, then runs until
killed or for SECONDS (default 300). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time


def nap(seconds):
    time.sleep(seconds)


def wait(i, deadline):
    x = 0
    while time.time() < deadline:
        # Spread the wake-ups over the second instead of waking together.
        nap(1.0 + (i % 97) / 1000.0)
        x += i
    return x


def run(i, deadline, started):
    started.release()
    return wait(i, deadline)


def main():
    args = sys.argv[1:]
    busy = "--busy" in args
    args = [a for a in args if a != "--busy"]
    n = int(args[0]) if args else 10
    seconds = float(args[1]) if len(args) > 1 else 300.0
    deadline = time.time() + seconds
    started = threading.Semaphore(0)
    if hasattr(threading, "stack_size"):
        threading.stack_size(256 * 1024)
    workers = []
    for i in range(n - 1):
        t = threading.Thread(target=run, args=(i, deadline, started), name="w%d" % i)
        t.daemon = True
        t.start()
        workers.append(t)
    for _ in workers:
        started.acquire()
    print("READY")
    sys.stdout.flush()
    if busy:
        import chain
        f0 = chain.make_chain()
        seq = chain.depths(4096)
        while time.time() < deadline:
            for k in seq:
                f0(k)
    else:
        wait(n, deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
