# -*- coding: utf-8 -*-
"""gilscope test target: one thread in uninterruptible sleep (state D) for
as long as the test wants, and two threads that tick meanwhile.

    python dstate.py FIFO

The "spawner" thread calls the C library's posix_spawn() of /bin/true with
its stdin opened on FIFO first. glibc runs the child on the parent's memory
(CLONE_VM | CLONE_VFORK), so the parent thread waits in D until the child
execs, which it can only do once someone opens FIFO for writing. Two
"ticker" threads wake every 10 ms and keep the longest gap between ticks.

Prints READY (flushed) once the spawner is in D, then answers commands
read from stdin, one line each:
    gap       "gap SECONDS STATE": the longest gap between ticks since the
              last 'gap', and the spawner's state letter now
    release   opens FIFO for writing: the child execs, the spawner returns:
              "released"
Ends at end of input. Runs on Python 2.7 and 3.6+ (ctypes).
"""
from __future__ import print_function

import ctypes
import os
import sys
import threading
import time

import cmdserve

FIFO = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
maxgap = [0.0]
lock = threading.Lock()


def ticker():
    last = time.time()
    while True:
        time.sleep(0.01)
        now = time.time()
        with lock:
            if now - last > maxgap[0]:
                maxgap[0] = now - last
        last = now


def spawner():
    fa = ctypes.create_string_buffer(512)   # posix_spawn_file_actions_t, opaque
    libc.posix_spawn_file_actions_init(fa)
    libc.posix_spawn_file_actions_addopen(fa, 0, FIFO.encode(), os.O_RDONLY, 0)
    pid = ctypes.c_int(0)
    argv = (ctypes.c_char_p * 2)(b"/bin/true", None)
    envp = (ctypes.c_char_p * 1)(None)
    rc = libc.posix_spawn(ctypes.byref(pid), b"/bin/true", fa, None, argv, envp)
    if rc == 0:
        os.waitpid(pid.value, 0)


def states():
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/stat" % tid) as f:
                s = f.read()
            out[int(tid)] = s[s.rindex(")") + 2:].split()[0]
        except (OSError, IOError, ValueError):
            pass
    return out


def d_state():
    return "D" if "D" in states().values() else "-"


def main():
    for _ in range(2):
        t = threading.Thread(target=ticker)
        t.daemon = True
        t.start()
    sp = threading.Thread(target=spawner)
    sp.daemon = True
    sp.start()
    deadline = time.time() + 10
    while d_state() != "D":
        if time.time() > deadline:
            sys.stderr.write("dstate.py: no thread in state D: %r\n" % states())
            sys.exit(3)
        time.sleep(0.01)
    with lock:
        maxgap[0] = 0.0

    def gap(args):
        with lock:
            g = maxgap[0]
            maxgap[0] = 0.0
        return "gap %.3f %s" % (g, d_state())

    def release(args):
        fd = os.open(FIFO, os.O_WRONLY)
        os.close(fd)
        sp.join(10)
        return "released"

    cmdserve.serve({"gap": gap, "release": release})


main()
