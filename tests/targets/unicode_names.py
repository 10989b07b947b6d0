# -*- coding: utf-8 -*-
"""gilscope test target (Python 3 only): wrapper around ünïcode💩.py.

    python3 unicode_names.py [SECONDS]

The code lives in the file named ünïcode💩.py beside this one (a name that is
not an importable module name); this wrapper loads it from its path and runs
its main(). Stack while sleeping, leaf first:
    関数      (ünïcode💩.py)
    функция  (ünïcode💩.py)
    main     (ünïcode💩.py)
    main     (unicode_names.py, LINE:wrapper_call)
    <module> (unicode_names.py, LINE:module_call)
The integration runner runs ünïcode💩.py directly; this file is for people
who want a plain-ASCII command line.
"""
from __future__ import print_function

import importlib.util
import os
import sys

TARGET = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "\u00fcn\u00efcode\U0001f4a9.py")


def main():
    spec = importlib.util.spec_from_file_location("unicode_target", TARGET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main()  # LINE:wrapper_call


if __name__ == "__main__":
    sys.exit(main())  # LINE:module_call
