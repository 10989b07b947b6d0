# -*- coding: utf-8 -*-
"""gilscope test target: Python calling into C, and threads in C without the GIL.

    GILSCOPE_NATIVE_EXT_DIR=DIR python nativework.py MODE [SECONDS]

DIR holds the extension gsnative built from native_ext.c for this
interpreter (tests/integration/run: native_ext_dir). MODE:

  callback  the main thread, in C, calls back into Python, which spins:
              cb       (LINE:py_cb_loop)         leaf
              [C: gsnative_inner (c_inner_call), outer (c_outer_call)]
              py_top   (LINE:py_top_call)
              main     (LINE:main_callback)
              <module> (LINE:module_call)
  nogil     thread 'spinner' busy-loops in C without the GIL:
              [C: gsnative_spin (c_spin)]
              spinner  (LINE:spinner_call)
            while the main thread sleeps: main (LINE:main_sleep), <module>
  mixed     the main thread as in callback, 'spinner' as in nogil,
            faulthandler's watchdog thread (py3: C only, no Python) and
            'sleeper' idle in C without the GIL:
              [C: gsnative_sleep (c_sleep)]
              sleeper  (LINE:sleeper_call)

C line markers are in native_ext.c. Prints READY (flushed) once every
thread is in place (a thread that enters C says so just before its call,
and READY follows 0.1 s later), then runs until killed or for SECONDS
(default 300, a safety cap). Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import os
import sys
import threading
import time

try:
    import faulthandler
except ImportError:     # 2.7
    faulthandler = None

sys.path.insert(0, os.environ["GILSCOPE_NATIVE_EXT_DIR"])
import gsnative  # noqa: E402

SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
DEADLINE = time.time() + SECONDS


def ready():
    print("READY")
    sys.stdout.flush()


def cb():
    ready()
    while time.time() < DEADLINE: pass  # LINE:py_cb_loop
    return 0


def py_top(callback):
    return gsnative.outer(callback)  # LINE:py_top_call


def spinner(entered):
    entered.set()
    gsnative.spin_nogil(SECONDS)  # LINE:spinner_call


def sleeper(entered):
    entered.set()
    gsnative.sleep_nogil(SECONDS)  # LINE:sleeper_call


def start(name, fn):
    entered = threading.Event()
    t = threading.Thread(target=fn, name=name, args=(entered,))
    t.daemon = True
    t.start()
    entered.wait()
    time.sleep(0.1)  # from entered.set() into the C call
    return t


def main():
    mode = sys.argv[1]
    if mode not in ("callback", "nogil", "mixed"):
        sys.exit("nativework.py: unknown mode %r" % mode)
    if mode in ("nogil", "mixed"):
        start("spinner", spinner)
    if mode == "mixed":
        start("sleeper", sleeper)
        if faulthandler is not None:
            # A thread that never runs Python: faulthandler's watchdog, in C.
            faulthandler.dump_traceback_later(SECONDS + 3600, exit=False)
    if mode == "nogil":
        ready()
        while time.time() < DEADLINE:
            time.sleep(max(0.0, min(DEADLINE - time.time(), 30.0)))  # LINE:main_sleep
        return 0
    py_top(cb)  # LINE:main_callback
    return 0


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
