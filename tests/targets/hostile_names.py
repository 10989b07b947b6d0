# -*- coding: utf-8 -*-
"""gilscope test target: names made to attack a terminal and a folded file.

    python hostile_names.py [SECONDS]

A thread named with terminal escapes (clear screen, set window title), BEL
and a newline, and a function compiled from a file name and with a name
that carry the same, plus ';' and ' (' which the folded format uses. A
profiler must print none of the control characters raw (dump escapes them
as \\xNN) and keep the folded output one stack per line.

Prints READY, then sleeps until killed or for SECONDS (default 300).
Runs on Python 3.8+ (CodeType.replace).
"""
from __future__ import print_function

import sys
import threading
import time

EVIL = "evil\x1b[2J\x1b]0;pwned\x07\nfake line;x (y.py:1)\x9b"
SRC = (
    "def sleepy(deadline):\n"
    "    while time.time() < deadline:\n"
    "        time.sleep(min(max(deadline - time.time(), 0.0), 30.0))\n"
)
ns = {"time": time}
exec(compile(SRC, EVIL + ".py", "exec"), ns)
sleepy = ns["sleepy"]
sleepy.__code__ = sleepy.__code__.replace(co_name=EVIL)
if hasattr(sleepy.__code__, "co_qualname"):
    sleepy.__code__ = sleepy.__code__.replace(co_qualname=EVIL)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    deadline = time.time() + seconds
    t = threading.Thread(target=sleepy, args=(deadline,), name=EVIL)
    t.daemon = True
    t.start()
    print("READY")
    sys.stdout.flush()
    sleepy(deadline)


if __name__ == "__main__":
    main()
