# -*- coding: utf-8 -*-
"""gilscope test target: threads whose relation to the GIL is known.

    python gilwork.py spin N          N threads spin-0.. loop in pure Python
    python gilwork.py spin N spread   the same, spin-K bound to CPU K mod
                                      the CPUs it may use (where it can)
    python gilwork.py native          spin-0, spin-1 and 'native', which loops
                                      a C call that releases the GIL once
                                      for 100+ ms (see native_work)
    python gilwork.py blocked         spin-0, spin-1 and threads blocked for
                                      good: 'lock' (a held Lock), 'cond'
                                      (Condition.wait), 'queue' (Queue.get),
                                      'recv' (socket recv), 'sleep'
                                      (time.sleep), 'event' (Event.wait)
    python gilwork.py switch SECONDS  spin-0, spin-1 with
                                      sys.setswitchinterval(SECONDS) (3.x)

Then prints READY and runs until killed (at most 300 s). Given a line
"counts" on standard input, it answers "counts C0 C1 ..": how many loops
each spinner has made (each loop runs a fixed amount of Python, only while
holding the GIL: the spinners' shares of the GIL, measured from inside).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import hashlib
import os
import socket
import sys
import threading
import time
import zlib

try:
    import queue
except ImportError:
    import Queue as queue


COUNTS = []


def bind_to(cpu):
    """Bind the calling thread to CPU, through libc (2.7 has no
    os.sched_setaffinity); quietly nothing where that fails."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        mask = (ctypes.c_ulong * 16)()
        mask[cpu // 64] = 1 << (cpu % 64)
        libc.sched_setaffinity(0, ctypes.sizeof(mask), ctypes.byref(mask))
    except Exception:
        pass


def usable_cpus():
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    cpus = []
                    for part in line.split(":")[1].strip().split(","):
                        lo, _, hi = part.partition("-")
                        cpus.extend(range(int(lo), int(hi or lo) + 1))
                    return cpus
    return []


def spin(k, cpu=None):
    if cpu is not None:
        bind_to(cpu)
    while True:  # LINE:spin_loop
        for _ in range(1000):
            pass
        COUNTS[k] += 1


def native_work():
    # One long stretch without the GIL per call, on every build: OpenSSL's
    # pbkdf2 runs its whole loop without it; 2.7's zlib.compress is one
    # deflate call; 3.x's zlib.crc32 of a big buffer is one (3.x's
    # compress takes the GIL back for every output block, 3.6 here has no
    # OpenSSL, and its sha256 keeps the GIL).
    try:
        import _hashlib  # noqa: F401
        while True:
            hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 3000000)  # LINE:native (about 0.8 s)
    except ImportError:
        pass
    if sys.version_info[0] == 2:
        buf = os.urandom(8 << 20)
        while True:
            zlib.compress(buf, 6)
    buf = b"x" * (256 << 20)
    while True:
        zlib.crc32(buf)


def start(name, fn, *args):
    t = threading.Thread(target=fn, name=name, args=args)
    t.daemon = True
    t.start()
    return t


def main():
    mode = sys.argv[1]
    if mode == "switch":
        sys.setswitchinterval(float(sys.argv[2]))
    nspin = int(sys.argv[2]) if mode == "spin" else 2
    cpus = usable_cpus() if sys.argv[3:4] == ["spread"] else []
    for i in range(nspin):
        COUNTS.append(0)
        start("spin-%d" % i, spin, i, cpus[i % len(cpus)] if cpus else None)
    if mode == "native":
        start("native", native_work)
    elif mode == "blocked":
        lock = threading.Lock()
        lock.acquire()
        cond = threading.Condition()
        event = threading.Event()
        q = queue.Queue()
        a, b = socket.socketpair()

        def wait_cond():
            with cond:
                cond.wait()
        start("lock", lock.acquire)
        start("cond", wait_cond)
        start("queue", q.get)
        start("recv", a.recv, 10)
        start("sleep", time.sleep, 1000)
        start("event", event.wait)
    print("READY")
    sys.stdout.flush()
    deadline = time.time() + 300
    while time.time() < deadline:
        line = sys.stdin.readline()
        if not line:
            time.sleep(300)  # no standard input: just run
            break
        if line.strip() == "counts":
            print("counts " + " ".join(str(c) for c in COUNTS))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
