"""Real Redis servers on loopback ports, started by the project itself.

The test fixtures start what they need; ``.ci/run`` starts a single Redis and a three-primary
Redis Cluster once for the whole run and stops them at the end:

    eval "$(python -m tests.services start DIR)"   # prints the export lines of their URLs
    python -m tests.services stop DIR

Data lives in DIR (nothing is persisted); only 127.0.0.1 is bound.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REDIS_URL_ENV = "JWTNODE_REDIS_URL"
CLUSTER_URL_ENV = "JWTNODE_REDIS_CLUSTER_URL"


def free_port(below: int = 50000) -> int:
    """A free loopback port (below 50000, so that a cluster's bus port, +10000, is one too)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < below and _free(port + 10000):
            return port


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(port: int, what: str, ok: bytes = b"+PONG", command: bytes = b"PING\r\n") -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(command)
                if ok in sock.recv(4096):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} on port {port} did not become ready")


def start_redis(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """One redis-server, no persistence, bound to 127.0.0.1."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed: apt-get install redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (directory / f"redis-{port}.pid").write_text(str(process.pid))
    _wait(port, "redis-server")
    return process


def start_cluster(directory: Path, primaries: int = 3) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """A Redis Cluster of ``primaries`` primaries (no replicas), joined with redis-cli."""
    cli = shutil.which("redis-cli")
    if cli is None:
        raise FileNotFoundError("redis-cli is not installed: apt-get install redis-tools")
    ports = []
    while len(ports) < primaries:
        port = free_port()
        if port not in ports:
            ports.append(port)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            processes.append(start_redis(directory / f"node-{port}", port, "--cluster-enabled", "yes",
                                         "--cluster-config-file", f"nodes-{port}.conf",
                                         "--cluster-node-timeout", "2000"))
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports:
            _wait(port, "redis cluster", ok=b"cluster_state:ok", command=b"CLUSTER INFO\r\n")
    except BaseException:
        for process in processes:
            process.kill()
            process.wait()
        raise
    return processes, ports


def stop(directory: Path) -> None:
    """Stop every server started into ``directory``, and wait until they have gone."""
    pids = []
    for pidfile in directory.rglob("redis-*.pid"):
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
            pids.append(pid)
        except (ProcessLookupError, ValueError):
            pass
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of this process that exited stays a zombie until it is reaped
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.services start|stop DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    if argv[0] == "stop":
        stop(directory)
        return 0
    single = free_port()
    start_redis(directory / "single", single)
    _, ports = start_cluster(directory / "cluster")
    print(f"export {REDIS_URL_ENV}=redis://127.0.0.1:{single}/0")
    print(f"export {CLUSTER_URL_ENV}=redis+cluster://127.0.0.1:{ports[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
