# -*- coding: utf-8 -*-
"""gilscope test target: a program that ignores SIGINT and SIGTERM.

    python ignore_sigint.py [SECONDS]

Prints READY, then sleeps until killed (SIGKILL) or for SECONDS (default 300).
Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import signal
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
deadline = time.time() + seconds
print("READY")
sys.stdout.flush()
while time.time() < deadline:
    time.sleep(min(max(deadline - time.time(), 0.0), 30.0))
