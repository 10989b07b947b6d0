# -*- coding: utf-8 -*-
"""Shared by test targets driven through stdin (latency.py, dstate.py,
ticker.py): print READY, then answer each command line with one line.

    serve({"name": fn, ...})   fn(args) -> the answer; args: the words after
                               the name. Commands may be one or two words
                               ("phase b"): the longest name that matches wins.
Returns at end of input. Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import sys


def serve(commands):
    print("READY")
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        words = line.split()
        out = "unknown %s" % line.strip()
        for n in (2, 1):
            name = " ".join(words[:n])
            if len(words) >= n and name in commands:
                out = commands[name](words[n:])
                break
        print(out)
        sys.stdout.flush()
