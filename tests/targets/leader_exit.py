# -*- coding: utf-8 -*-
"""gilscope test target: a process whose main thread has exited.

    python leader_exit.py [SECONDS]

A worker thread sleeps in work(); the main thread prints READY and ends
itself with pthread_exit (through ctypes), so the process lives on with its
leader a zombie: /proc/PID/exe and /proc/PID/maps no longer answer, and the
process must be read through a live thread. Runs until killed or for SECONDS
(default 300). Python 2.7 and 3.6+ (CPython).
"""
import ctypes
import sys
import threading
import time


def work(deadline):
    while time.time() < deadline:
        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))  # LINE:work_sleep


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
t = threading.Thread(target=work, args=(time.time() + seconds,), name="survivor")
t.start()
print("READY")
sys.stdout.flush()
time.sleep(0.3)
ctypes.CDLL(None).pthread_exit(None)
