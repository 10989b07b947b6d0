# -*- coding: utf-8 -*-
"""gilscope test target: eleven named, idle threads.

    python threads10.py [SECONDS]

Ten threads named worker-0 .. worker-9 each sleep in worker_loop
(LINE:worker_sleep); the main thread (MainThread) sleeps in the method
Coordinator.wait_all (LINE:main_sleep) and joins them at the end. Leaf frame
names: worker_loop for the workers; Coordinator.wait_all (co_qualname,
Python 3.11+) or wait_all (before 3.11) for the main thread.

Prints READY (flushed) once all ten workers are in their loop, then runs
until killed or for SECONDS (default 300, a safety cap). Meant for 3.6+; also
runs on 2.7.
"""
from __future__ import print_function

import sys
import threading
import time

NTHREADS = 10


def worker_loop(deadline, started):
    started()
    while True:
        left = deadline - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 30.0))  # LINE:worker_sleep


class Coordinator(object):
    def __init__(self, deadline):
        self.deadline = deadline
        self.lock = threading.Lock()
        self.count = 0
        self.all_started = threading.Event()
        self.threads = []

    def started(self):
        with self.lock:
            self.count += 1
            if self.count == NTHREADS:
                self.all_started.set()

    def start_all(self):
        for i in range(NTHREADS):
            t = threading.Thread(target=worker_loop, name="worker-%d" % i,
                                 args=(self.deadline, self.started))
            t.daemon = True
            t.start()
            self.threads.append(t)
        self.all_started.wait(30)
        time.sleep(0.1)  # let the last worker reach its sleep

    def wait_all(self):
        while True:
            left = self.deadline - time.time()
            if left <= 0:
                break
            time.sleep(min(left, 30.0))  # LINE:main_sleep
        for t in self.threads:
            t.join(5)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    c = Coordinator(time.time() + seconds)
    c.start_all()
    print("READY")
    sys.stdout.flush()
    c.wait_all()  # LINE:main_call
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
