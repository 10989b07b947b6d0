"""gilscope test target: a process with Python children (--subprocesses).

    python family.py MODE [SECONDS]

  pool    multiprocessing.Pool(4): each worker spins in pool_work
          (LINE:pool_spin) for SECONDS; the main thread waits in pool.map
          (LINE:pool_map)
  exec    a child forks and execs this interpreter on this script in mode
          child (it spins in exec_child, LINE:exec_spin), another forks and
          execs /bin/sleep (no Python: left out quietly); the main thread
          spins in main_spin (LINE:main_spin)
  churn   children that live 0.1 s each, one after another, for SECONDS
          (churn_child, LINE:churn_sleep); the main thread starts them
  many    N (argv[3], default 70) forked children sleeping in many_child
          (LINE:many_sleep); the main thread sleeps

Prints READY (flushed) once the children are in place, then runs for
SECONDS (default 300, a safety cap) and ends its children.
"""
from __future__ import print_function

import multiprocessing
import os
import signal
import sys
import time

SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
DEADLINE = time.time() + SECONDS


def ready():
    print("READY")
    sys.stdout.flush()


def pool_work(seconds):
    end = time.time() + seconds
    while time.time() < end: pass  # LINE:pool_spin
    return os.getpid()


def exec_child():
    while time.time() < DEADLINE: pass  # LINE:exec_spin


def main_spin():
    while time.time() < DEADLINE: pass  # LINE:main_spin


def churn_child():
    time.sleep(0.1)  # LINE:churn_sleep


def many_child():
    while True:
        time.sleep(1000)  # LINE:many_sleep


def spawn(argv):
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid


def main():
    mode = sys.argv[1]
    if mode == "pool":
        pool = multiprocessing.Pool(4)
        result = pool.map_async(pool_work, [SECONDS] * 4, chunksize=1)
        time.sleep(0.5)
        ready()
        result.get(SECONDS + 60)  # LINE:pool_map
        pool.terminate()
    elif mode == "exec":
        kids = [spawn([sys.executable, os.path.abspath(__file__), "child", str(SECONDS)]),
                spawn(["/bin/sleep", str(int(SECONDS) + 1)])]
        time.sleep(0.5)
        ready()
        try:
            main_spin()
        finally:
            for k in kids:
                os.kill(k, signal.SIGKILL)
    elif mode == "child":
        exec_child()
    elif mode == "churn":
        ready()
        while time.time() < DEADLINE:
            p = multiprocessing.Process(target=churn_child)
            p.start()
            p.join()
    elif mode == "many":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 70
        kids = []
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                many_child()
            kids.append(pid)
        time.sleep(0.5)
        ready()
        try:
            time.sleep(SECONDS)
        finally:
            for k in kids:
                os.kill(k, signal.SIGKILL)
    else:
        sys.exit("family.py: unknown mode %r" % mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
