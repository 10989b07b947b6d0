# -*- coding: utf-8 -*-
"""gilscope test target: threads that keep falling asleep and waking up.

    python wakers.py [SECONDS]

Six worker threads loop: sleep 0.2 to 1.5 ms, then go down a chain
f0 -> f1 -> ... -> fk (k changes at every turn, up to 30), doing a little
work at every level, and come back up. So a sampler in blocking mode keeps
meeting threads asleep in the kernel that wake up while it reads. A
worker's Python stack is always, root first:

    <threading frames>; worker                  (asleep, or between chains)
    <threading frames>; worker; f0; f1; ...; fj for some j <= 30, maybe
                                                followed by work

Anything else (a gap, a repeat, a frame out of order) is a torn stack. The
main thread waits for the workers.

Prints READY (flushed), then runs until killed or for SECONDS (default 60,
a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time

MAX_K = 30


def work():
    x = 0
    for i in range(40):
        x += i * i
    return x


# f0 .. f30, each a function of its own (own name, own code object).
exec("".join("def f%d(k):\n    work()\n    if %d < k:\n        f%d(k)\n    work()\n" % (j, j, j + 1)
             for j in range(MAX_K + 1)), globals())
FS = [globals()["f%d" % j] for j in range(MAX_K + 1)]


def worker(seed, deadline):
    k = seed
    while time.time() < deadline:
        time.sleep(0.0002 + (k % 14) * 0.0001)
        k = (k * 7 + 3) % (MAX_K + 1)
        FS[0](k)


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    deadline = time.time() + secs
    threads = [threading.Thread(target=worker, args=(i * 5, deadline)) for i in range(6)]
    for t in threads:
        t.daemon = True
        t.start()
    print("READY")
    sys.stdout.flush()
    for t in threads:
        t.join()


main()
