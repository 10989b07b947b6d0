# -*- coding: utf-8 -*-
"""gilscope test target: threads created and ended as fast as they come.

    python thread_storm.py [SPAWNERS]

SPAWNERS threads (default 1) each start a short-lived thread in churn(),
wait for it to end, and start the next, counting them (3,000 to 18,000 a
second on a 2-CPU virtual machine). One spawner leaves a CPU to the
profiler, so that its rate while profiled measures the profiler's delays,
not its share of a full machine. Prints READY,
then answers commands read from stdin, one line each:
    rate SECS   "rate N": threads started per second over the next SECS
Ends at end of input. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import threading
import time

import cmdserve

count = [0]


def short():
    return sum(range(10))


def churn():
    while True:
        t = threading.Thread(target=short)
        t.start()
        t.join()
        count[0] += 1


def rate(args):
    secs = float(args[0]) if args else 1.0
    n0, t0 = count[0], time.time()
    time.sleep(secs)
    return "rate %.0f" % ((count[0] - n0) / (time.time() - t0))


def main():
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        t = threading.Thread(target=churn, name="spawner-%d" % i)
        t.daemon = True
        t.start()
    cmdserve.serve({"rate": rate})


main()
