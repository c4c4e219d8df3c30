"""The production entry point, ``example_app/serve``: production.ini on granian, run as the
README says, on a free loopback port.

What a production user needs of the server, each against the real thing: it serves the
recipe; HOST, PORT and WEB_CONCURRENCY are read and checked; the access log never holds a
token; TERM stops it gracefully and HUP respawns the workers without a failed request; 50
clients dribbling their requests a byte at a time do not slow the others; without the
secret it refuses to start and says why.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyramid_jwtnode.tools.deploy import AccessLog
from pyramid_jwtnode.tools.granian import access_log, logging_config, server_options

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "example_app" / "serve"
SECRET = "granian-test-secret-of-48-characters-0123456789ab"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``example_app/serve`` in a process of its own; its output collected in a file."""

    def __init__(self, tmp: Path, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.log = tmp / "serve.log"
        environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port),
                   "WEB_CONCURRENCY": str(workers), "IGNITE_JWT_SECRET": SECRET, **env}
        self._out = self.log.open("w")
        self.process = subprocess.Popen([sys.executable, str(SERVE)], env=environ, cwd=tmp,
                                        stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.get("/jwt/generate")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the server did not answer:\n{self.output()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path), headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(20)
        self._out.close()
        return code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path)
    yield server
    server.stop()


def token_of(server: Served) -> str:
    status, body = server.get("/jwt/generate")
    assert status == 200
    return str(json.loads(body)["access_token"])


# -- the helpers, alone ----------------------------------------------------------------------------


def test_options_from_the_environment() -> None:
    assert server_options({"HOST": "::", "PORT": "8080", "WEB_CONCURRENCY": "3"}) == {
        "address": "::", "port": 8080, "workers": 3}
    assert access_log({}) is True and access_log({"ACCESS_LOG": "off"}) is False
    with pytest.raises(ValueError, match="ACCESS_LOG"):
        server_options({"WEB_CONCURRENCY": "1", "ACCESS_LOG": "sometimes"})
    assert server_options({"WEB_CONCURRENCY": "2"})["address"] == "0.0.0.0"
    assert server_options({"WEB_CONCURRENCY": "2"})["port"] == 6543
    with pytest.raises(ValueError, match="PORT"):
        server_options({"PORT": "http"})
    with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
        server_options({"WEB_CONCURRENCY": "many"})


def test_every_log_line_passes_the_redacting_formatter() -> None:
    config = logging_config()
    assert {f["()"] for f in config["formatters"].values()} == {"pyramid_jwtnode.tools.deploy.RedactingFormatter"}
    assert set(config["loggers"]) == {"_granian", "granian.access"}
    assert "root" in config


def test_the_access_log_line(tmp_path: Path) -> None:
    out = tmp_path / "access.log"
    with out.open("wb") as stream:
        def app(environ: dict[str, object], start_response: object) -> list[bytes]:
            start_response("404 Not Found", [])  # type: ignore[operator]
            return [b""]

        logged = AccessLog(app, stream.fileno())
        token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"
        for path in (f"/x/{token}", '/a\nFORGED "line"', "/caf\u00e9"):
            logged({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": f"access_token={token}",
                    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}, lambda *a: None)
    lines = out.read_text().splitlines()
    assert lines[0] == '127.0.0.1 - "GET /x/[redacted] HTTP/1.1" 404 ' + lines[0].rsplit(" ", 1)[1]
    assert len(lines) == 3 and 'FORGED \\"line\\"' in lines[1] and "\\n" in lines[1]
    assert token not in out.read_text() and "access_token" not in out.read_text()


def test_the_access_log_never_fails_a_request_and_logs_a_raising_app_as_500(tmp_path: Path) -> None:
    def raising(environ: dict[str, object], start_response: object) -> list[bytes]:
        raise RuntimeError("boom")

    read, write = os.pipe()
    with pytest.raises(RuntimeError):
        AccessLog(raising, write)({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None)
    os.close(write)
    line = os.read(read, 200).decode()
    os.close(read)
    assert line.startswith('- - "GET / -" 500 ') and line.endswith("ms\n")
    closed = AccessLog(lambda e, s: [s("200 OK", []) or b"ok"], 9999)  # not an open descriptor
    assert closed({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None) == [b"ok"]


# -- the real server ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_documented_command_serves_the_recipe(served: Served) -> None:
    token = token_of(served)
    assert served.get("/jwt/verify", {"Authorization": f"Bearer {token}"})[0] == 200
    assert "Listening at: http://127.0.0.1" in served.output()


@pytest.mark.slow
def test_the_access_log_never_holds_a_token(served: Served) -> None:
    token = token_of(served)
    encoded = urllib.parse.quote(token.replace(".", "%2E"))
    for path in (f"/jwt/verify?access_token={token}", f"/jwt/verify?access%5Ftoken={encoded}",
                 f"/x/{token}", f"/jwt/generate?password=hunter2&client_secret=s3cr3t"):
        served.get(path)
    served.stop()
    log = served.output()
    assert "[redacted]" in log
    for secret in (token, token.split(".")[1], token.split(".")[2], "hunter2", "s3cr3t", SECRET):
        assert secret not in log


@pytest.mark.slow
def test_term_stops_gracefully(served: Served) -> None:
    token_of(served)
    assert served.stop() == 0
    assert "Shutting down granian" in served.output()


@pytest.mark.slow
def test_hup_respawns_the_workers_without_a_failed_request(tmp_path: Path) -> None:
    server = Served(tmp_path, workers=2)
    try:
        statuses: list[int] = []
        done = threading.Event()

        def load() -> None:
            while not done.is_set() and len(statuses) < 2000:
                statuses.append(server.get("/jwt/generate")[0])

        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(0.3)
        server.process.send_signal(signal.SIGHUP)
        time.sleep(2.0)
        done.set()
        worker.join(20)
        assert statuses and set(statuses) == {200}
        assert "HUP signal received" in server.output()
    finally:
        server.stop()


def _p99(server: Served, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        assert server.get("/jwt/generate")[0] == 200
        times.append(time.perf_counter() - started)
    return statistics.quantiles(times, n=100)[98]


@pytest.mark.slow
def test_fifty_slow_clients_do_not_slow_the_others(served: Served) -> None:
    """50 connections send a request a byte at a time; the other requests keep their p99 (x3;
    at least 15 ms, the scheduling jitter of a shared 2-CPU machine)."""
    _p99(served, 50)  # warm
    baseline = _p99(served, 300)
    request = f"GET /jwt/generate HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
    stop = threading.Event()
    sockets = []

    def dribble(sock: socket.socket) -> None:
        for i in range(len(request) - 1):  # never the last byte: the request stays open
            if stop.wait(0.05):
                return
            try:
                sock.sendall(request[i:i + 1])
            except OSError:
                return

    threads = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
        sockets.append(sock)
        thread = threading.Thread(target=dribble, args=(sock,), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        time.sleep(0.3)
        under_load = _p99(served, 300)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for sock in sockets:
            sock.close()
    assert under_load <= max(3 * baseline, 0.015), (baseline, under_load)


@pytest.mark.slow
def test_without_the_secret_it_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "IGNITE_JWT_SECRET"}
    environ.update(HOST="127.0.0.1", PORT=str(free_port()), WEB_CONCURRENCY="1")
    done = subprocess.run([sys.executable, str(SERVE)], env=environ, cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    output = done.stdout + done.stderr
    assert "IGNITE_JWT_SECRET" in output, output


@pytest.mark.slow
def test_a_bad_port_is_refused_with_what_to_set(tmp_path: Path) -> None:
    environ = {**os.environ, "PORT": "http", "IGNITE_JWT_SECRET": SECRET}
    done = subprocess.run([sys.executable, str(SERVE)], env=environ, cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode != 0 and "PORT" in done.stderr
