# -*- coding: utf-8 -*-
"""A small multi-threaded program to profile with gilscope.

    python examples/threads_http.py [SECONDS] [--count]      (default 5)

It starts an HTTP server on 127.0.0.1 (a free port chosen by the kernel) in a
thread, and two named worker threads fetch from it in a loop:

    fetch-fast   GET /fast   (the server sleeps about 5 ms before answering)
    fetch-slow   GET /slow   (the server sleeps about 50 ms before answering)

With --count, a thread named "counter" also counts in a pure-Python loop, as
the main thread of the article gilscope grew from did: it competes with the
HTTP threads for the GIL, and every request slows down while it runs (see
`gilscope gil`).

The main thread prints a progress line every second. After SECONDS it stops
the workers, shuts the server down and exits 0 (1 if any request failed).
Everything stays on the loopback interface; no proxy is used.

Try it:

    python examples/threads_http.py 30 &
    sudo ./gilscope dump -p $!
    sudo ./gilscope record -p $! -d 5 --threads --idle -f raw -o http.folded
    ./gilscope record --threads --idle -f raw -o http.folded -- python examples/threads_http.py 5

Runs on Python 2.7 and 3.6+, standard library only.
"""
from __future__ import print_function

import os
import sys
import threading
import time

try:  # Python 3
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from socketserver import ThreadingMixIn
    from http.client import HTTPConnection
except ImportError:  # Python 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
    from SocketServer import ThreadingMixIn
    from httplib import HTTPConnection

HOST = "127.0.0.1"
DELAYS = {"/fast": 0.005, "/slow": 0.050}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        delay = DELAYS.get(self.path)
        if delay is None:
            self.send_error(404)
            return
        time.sleep(delay)  # simulated work, server side
        body = ("%s ok\n" % self.path).encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Fetcher(object):
    """Fetches one path in a loop until stop is set; counts results."""

    def __init__(self, port, path, stop):
        self.port = port
        self.path = path
        self.stop = stop
        self.ok = 0
        self.errors = 0
        self.last_error = None
        self.lock = threading.Lock()

    def fetch_once(self):
        conn = HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or not body.endswith(b" ok\n"):
                raise ValueError("bad answer %r %r" % (resp.status, body))
        finally:
            conn.close()

    def run(self):
        while not self.stop.is_set():
            try:
                self.fetch_once()
            except Exception as e:  # count, keep going, report at the end
                with self.lock:
                    self.errors += 1
                    self.last_error = repr(e)
                self.stop.wait(0.1)
            else:
                with self.lock:
                    self.ok += 1

    def counts(self):
        with self.lock:
            return self.ok, self.errors


def report_progress(fetchers, seconds):
    """Main thread: print counts once a second until SECONDS have passed."""
    start = time.time()
    deadline = start + seconds
    tick = 1
    while True:
        now = time.time()
        if now >= deadline:
            break
        next_tick = start + tick
        time.sleep(max(0.0, min(next_tick, deadline) - now))
        if time.time() >= next_tick:
            fast_ok, fast_err = fetchers["fetch-fast"].counts()
            slow_ok, slow_err = fetchers["fetch-slow"].counts()
            print("threads_http: %3ds  fast=%d slow=%d errors=%d"
                  % (tick, fast_ok, slow_ok, fast_err + slow_err))
            sys.stdout.flush()
            tick += 1


def count(stop):
    """Count in pure Python until STOP is set: it holds the GIL whenever it may."""
    n = 0
    while not stop.is_set():
        for _ in range(10000):
            n += 1


def main(argv):
    args = [a for a in argv[1:] if a != "--count"]
    seconds = float(args[0]) if args else 5.0

    server = Server((HOST, 0), Handler)
    port = server.server_address[1]
    server_thread = threading.Thread(target=server.serve_forever,
                                     name="http-server",
                                     kwargs={"poll_interval": 0.1})
    server_thread.daemon = True
    server_thread.start()

    stop = threading.Event()
    fetchers = {}
    threads = []
    for name, path in (("fetch-fast", "/fast"), ("fetch-slow", "/slow")):
        f = Fetcher(port, path, stop)
        fetchers[name] = f
        t = threading.Thread(target=f.run, name=name)
        t.daemon = True
        t.start()
        threads.append(t)
    if "--count" in argv:
        t = threading.Thread(target=count, args=(stop,), name="counter")
        t.daemon = True
        t.start()
        threads.append(t)

    print("threads_http: serving on http://%s:%d/ for %g s (pid %d)"
          % (HOST, port, seconds, os.getpid()))
    sys.stdout.flush()

    try:
        report_progress(fetchers, seconds)
    except KeyboardInterrupt:  # Ctrl-C: stop early, still shut down cleanly
        print("threads_http: interrupted")

    stop.set()
    for t in threads:
        t.join(15)
    server.shutdown()
    server.server_close()
    server_thread.join(5)

    errors = 0
    for name in ("fetch-fast", "fetch-slow"):
        f = fetchers[name]
        ok, err = f.counts()
        errors += err
        line = "threads_http: %s: %d requests, %d errors" % (name, ok, err)
        if f.last_error:
            line += " (last: %s)" % f.last_error
        print(line)
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        print("threads_http: threads still running: %s" % ", ".join(alive))
        errors += 1
    print("threads_http: done")
    sys.stdout.flush()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
