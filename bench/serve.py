"""Serve one of the benchmark apps with waitress on 127.0.0.1.

    python bench/serve.py addon HS256 PORT [--processes N] [--threads T]
    python bench/serve.py guarded - PORT
    python bench/serve.py guarded-metrics - PORT  (addon-metrics too: Prometheus metrics on)
    python bench/serve.py example - PORT        (example_app/testing.ini, as pserve would)

With ``--processes N`` the listening socket is bound once and N forked waitress
processes accept on it; ``--pin`` pins process i to CPU i. This is a benchmark
harness for ``compare.py``, not a way to deploy: production runs gunicorn
(``example_app/gunicorn.conf.py``, measured by ``deploy.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import waitress

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps  # noqa: E402


def build(name: str, algorithm: str) -> Any:
    if name in ("guarded", "guarded-metrics"):
        return apps.guarded(metrics=name.endswith("-metrics"))
    if name == "example":
        from pyramid.paster import get_app

        return get_app(str(Path(__file__).resolve().parent.parent / "example_app" / "testing.ini"))
    return apps.APPS[name](algorithm)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("algorithm")
    parser.add_argument("port", type=int)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pin", action="store_true",
                        help="pin process i to CPU i (mod the CPU count): no thread hops between CPUs")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    app = build(args.name, args.algorithm)
    if args.processes == 0:  # diagnostic: plain listen= path
        waitress.serve(app, listen=f"127.0.0.1:{args.port}", threads=args.threads, _quiet=True)
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    if args.processes == 1:
        if args.pin:
            os.sched_setaffinity(0, {cpus[0]})
        waitress.serve(app, sockets=[sock], threads=args.threads, _quiet=True)
        return
    children = []
    for index in range(args.processes):
        pid = os.fork()
        if pid == 0:
            if args.pin:
                os.sched_setaffinity(0, {cpus[index % len(cpus)]})
            waitress.serve(app, sockets=[sock], threads=args.threads, _quiet=True)
            os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)
        for child in children:
            os.waitpid(child, 0)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
