# -*- coding: utf-8 -*-
"""gilscope test target: how long starting and joining a thread takes, and
how soon a signal is delivered, measured inside the program.

    python latency.py

Prints READY (flushed), then answers commands read from stdin, one line
each:
    threads N   start and join N threads one after another:
                "threads P50_MS P90_MS"
    signals N   a thread sends the process SIGUSR1 N times, each once
                the last arrived (or 1 s passed), 10 ms apart; the main
                thread's handler notes each delay:
                "signals SENT RECEIVED P50_MS MAX_MS" (RECEIVED < SENT:
                signals were lost or merged)
Ends at end of input. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import os
import signal
import threading
import time

import cmdserve

received = []
sent_at = [0.0]


def on_usr1(signum, frame):
    received.append(time.time() - sent_at[0])


def noop():
    pass


def pct(values, p):
    v = sorted(values)
    if not v:
        return -1.0
    return v[min(len(v) - 1, int(len(v) * p))] * 1000.0


def threads(n):
    lat = []
    for _ in range(n):
        t0 = time.time()
        th = threading.Thread(target=noop)
        th.start()
        th.join()
        lat.append(time.time() - t0)
    return "threads %.3f %.3f" % (pct(lat, 0.5), pct(lat, 0.9))


def signals(n):
    del received[:]
    pid = os.getpid()

    def sender():
        for i in range(n):
            sent_at[0] = time.time()
            os.kill(pid, signal.SIGUSR1)
            # the next one only once this one arrived (or after 1 s): a
            # signal that waits is measured late, not merged with the next
            deadline = time.time() + 1.0
            while len(received) <= i and time.time() < deadline:
                time.sleep(0.0005)
            time.sleep(0.01)

    th = threading.Thread(target=sender)
    th.start()
    while th.is_alive():
        time.sleep(0.002)
    th.join()
    deadline = time.time() + 1.0
    while len(received) < n and time.time() < deadline:
        time.sleep(0.01)
    return "signals %d %d %.3f %.3f" % (n, len(received), pct(received, 0.5), pct(received, 1.0))


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    cmdserve.serve({"threads": lambda a: threads(int(a[0])),
                    "signals": lambda a: signals(int(a[0]))})


main()
