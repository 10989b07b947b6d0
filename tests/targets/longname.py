# -*- coding: utf-8 -*-
"""gilscope test target: a function whose name is 70,000 characters long,
compiled from a file whose path is over 1,500 bytes long.

    python longname.py [SECONDS]

Such names are legal (a generated or mangled identifier); a profiler must
show the frame with its name cut short, not drop it, and shorten the path to
the right file name (longpath.py). Stack while sleeping, leaf first:
    aaaa…a   (LONG_PATH, line 5) -- the 70,000-character name
    caller   (LINE:caller_call)
    <module> (LINE:module_call)

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys
import time

NAME = "a" * 70000
SRC = (
    "def %s(deadline):\n"
    "    print('READY')\n"
    "    sys.stdout.flush()\n"
    "    while time.time() < deadline:\n"
    "        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))\n"
) % NAME
LONG_PATH = "/nonexistent/" + "d" * 1500 + "/longpath.py"
code = compile(SRC, LONG_PATH, "exec")
ns = {"sys": sys, "time": time, "print": print}
exec(code, ns)
LONG = ns[NAME]


def caller(deadline):
    LONG(deadline)  # LINE:caller_call


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    caller(time.time() + seconds)  # LINE:module_call
