# -*- coding: utf-8 -*-
"""Build the test extension gsnative (native_ext.c, beside this file) for
one interpreter: shared by tests/integration/run (native_ext_dir) and
bench/run (the native section), so that both profile the same code.

    python3 native_ext_build.py PYTHON OUT_DIR

builds OUT_DIR/gsnative<EXT_SUFFIX> for the interpreter PYTHON (unless the
copy there is newer than native_ext.c and the interpreter's Python.h) and
prints OUT_DIR; a target imports it with GILSCOPE_NATIVE_EXT_DIR=OUT_DIR.
As a module: build(python, out_dir, env) -> out_dir, or NativeExtError
with the reason (no headers, no compiler, the build failed). Run by
Python 3.6+; PYTHON may be any of 2.7 and 3.6 .. 3.14, 3.14t.
"""
from __future__ import print_function

import json
import os
import re
import shutil
import subprocess
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native_ext.c")
# -O0 and frame pointers: every C function keeps a frame of its own, and
# the tests know each call's line.
CFLAGS = ["-shared", "-fPIC", "-O0", "-g", "-fno-omit-frame-pointer"]

# headers, extension suffix and free-threading of an interpreter, as JSON
# (2.7: distutils; 3.6's sysconfig has EXT_SUFFIX, SO kept as a fallback)
_PROBE = r"""
import json, sys
if sys.version_info[0] == 2:
    from distutils import sysconfig
    inc, plat = sysconfig.get_python_inc(), sysconfig.get_python_inc(plat_specific=True)
else:
    import sysconfig
    paths = sysconfig.get_paths()
    inc, plat = paths["include"], paths.get("platinclude") or paths["include"]
cv = sysconfig.get_config_var
print(json.dumps({"include": inc, "platinclude": plat,
                  "suffix": cv("EXT_SUFFIX") or cv("SO"),
                  "gil_disabled": bool(cv("Py_GIL_DISABLED"))}))
"""


class NativeExtError(Exception):
    """gsnative cannot be built for this interpreter; the text says why.
    no_headers: the reason is a missing Python.h (a -dev package away)."""

    def __init__(self, text, no_headers=False):
        Exception.__init__(self, text)
        self.no_headers = no_headers


def _quote(s):
    return s if re.match(r"^[\w@%+=:,./-]+$", s) else "'" + s.replace("'", "'\\''") + "'"


def build(python, out_dir, env=None):
    """OUT_DIR, holding gsnative built for the interpreter PYTHON (run with
    ENV, default ours); raises NativeExtError."""
    try:
        r = subprocess.run([python, "-c", _PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=30, env=env)
        cfg = json.loads(r.stdout.decode())
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise NativeExtError("cannot ask %s for its headers: %s" % (python, e))
    inc, suffix = cfg["include"], cfg["suffix"]
    python_h = os.path.join(inc, "Python.h")
    if not os.path.isfile(python_h):
        raise NativeExtError("no Python.h in %s" % inc, no_headers=True)
    if not suffix:
        raise NativeExtError("%s has neither EXT_SUFFIX nor SO" % python)
    so = os.path.join(out_dir, "gsnative" + suffix)
    try:
        if os.path.getmtime(so) >= max(os.path.getmtime(SRC), os.path.getmtime(python_h)):
            return out_dir
    except OSError:
        pass
    cc = os.environ.get("CC") or "cc"
    if not shutil.which(cc):
        raise NativeExtError("no C compiler (%s)" % cc)
    includes = ["-I" + inc] + (["-I" + cfg["platinclude"]] if cfg["platinclude"] != inc else [])
    defines = []
    if cfg["gil_disabled"]:
        # 3.13+ pyconfig.h defines it on Linux; add it where the headers do not
        pyconfig = ""
        for d in (cfg["platinclude"], inc):
            try:
                with open(os.path.join(d, "pyconfig.h"), encoding="utf-8", errors="replace") as f:
                    pyconfig = f.read()
                break
            except OSError:
                pass
        if not re.search(r"^#define Py_GIL_DISABLED\b", pyconfig, re.M):
            defines.append("-DPy_GIL_DISABLED=1")
    os.makedirs(out_dir, exist_ok=True)
    tmp = "%s.tmp%d" % (so, os.getpid())     # another run may build beside us
    argv = [cc] + CFLAGS + includes + defines + ["-o", tmp, SRC]
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise NativeExtError("%s: %s" % (" ".join(argv), e))
    if r.returncode != 0:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        out = r.stdout.decode("utf-8", "replace").rstrip().splitlines()
        raise NativeExtError("the build failed (exit %d): %s\n    %s" % (
            r.returncode, " ".join(_quote(a) for a in argv), "\n      ".join(out[:8])))
    os.replace(tmp, so)
    return out_dir


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: native_ext_build.py PYTHON OUT_DIR\n")
        return 2
    try:
        print(build(argv[1], argv[2]))
    except NativeExtError as e:
        sys.stderr.write("native_ext_build: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
