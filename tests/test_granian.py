"""The production entry point, ``example_app/serve``: production.ini on granian, run as the
README says, on a free loopback port.

What a production user needs of the server, each against the real thing: it serves the
recipe; HOST, PORT and WEB_CONCURRENCY are read and checked; the access log never holds a
token; TERM stops it gracefully and HUP respawns the workers without a failed request,
serving the ini file loaded again; 50 clients dribbling their requests a byte at a time do
not slow the others, and a client that never finishes its headers is cut off; oversized
headers get 431; a body sent slowly holds one thread, not the others; without the secret it
refuses to start, before any worker, and says why.
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
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest

from pyramid_jwtnode.tools import granian
from pyramid_jwtnode.tools.deploy import AccessLog
from pyramid_jwtnode.tools.granian import access_log, app_from_environ, logging_config, server_options

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "example_app" / "serve"
SECRET = "granian-test-secret-of-48-characters-0123456789ab"
# serve(ini, **options) as a host app would call it; options as JSON (header_read_timeout: ms)
CUSTOM = """
import json, sys
from granian.http import HTTP1Settings
from pyramid_jwtnode.tools.granian import serve
options = json.loads(sys.argv[2])
if "header_read_timeout" in options:
    options["http1_settings"] = HTTP1Settings(header_read_timeout=options.pop("header_read_timeout"))
serve(sys.argv[1], **options)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``example_app/serve`` in a process of its own; its output collected in a file."""

    def __init__(self, tmp: Path, workers: int = 1, ini: Path | None = None, options: dict[str, object] | None = None,
                 **env: str) -> None:
        self.port = free_port()
        self.log = tmp / "serve.log"
        environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port),
                   "WEB_CONCURRENCY": str(workers), "IGNITE_JWT_SECRET": SECRET, **env}
        command = [sys.executable, str(SERVE)]
        if ini is not None:  # serve(ini, **options), as a host app calls it
            (tmp / "custom_serve.py").write_text(CUSTOM)
            command = [sys.executable, str(tmp / "custom_serve.py"), str(ini), json.dumps(options or {})]
        self._out = self.log.open("w")
        self.process = subprocess.Popen(command, env=environ, cwd=tmp, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.get("/jwt/generate")[0] in (200, 405):  # 405: a POST token route
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


def lifetime_of(token: str) -> int:
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    return int(claims["exp"]) - int(claims["iat"])


def production_ini(tmp: Path, **changes: str) -> Path:
    """A copy of the example's production.ini with ``jwt.igniteadmin.<key> = <value>`` lines changed."""
    text = (ROOT / "example_app" / "production.ini").read_text()
    for key, value in changes.items():
        line = next(x for x in text.splitlines() if x.startswith(f"jwt.igniteadmin.{key} ="))
        text = text.replace(line, f"jwt.igniteadmin.{key} = {value}")
    ini = tmp / "production.ini"
    ini.write_text(text)
    return ini


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


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
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_term_and_int_stop_gracefully_finishing_the_request_under_way(tmp_path: Path, signum: int) -> None:
    server = Served(tmp_path, ini=production_ini(tmp_path, token_route_method="POST"))
    try:
        body = b"grant_type=client_credentials"
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(b"POST /jwt/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:5]))
            time.sleep(0.5)  # the app is reading the body
            server.process.send_signal(signum)
            time.sleep(0.5)
            sock.sendall(body[5:])
            answer = sock.recv(200)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert server.process.wait(20) == 0
        assert "Shutting down granian" in server.output()
    finally:
        server.stop()


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
def test_fifty_slow_clients_do_not_slow_the_others(tmp_path: Path) -> None:
    """50 connections send a request a byte at a time (every 20 ms, never finishing it) while
    300 other requests are made one after another: their p99 stays within 3x the p99 of the
    same server without the slow clients, measured just before (the worst of three samples of
    100; at least 15 ms, the scheduling jitter of a shared 2-CPU machine). Two workers, as on
    the machine it was written for: a worker held by a slow client would show."""
    served = Served(tmp_path, workers=2)
    try:
        _p99(served, 50)  # warm
        baseline = max(_p99(served, 100) for _ in range(3))
        request = (f"GET /jwt/generate HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
                   f"X-Slow: {'s' * 2000}\r\n\r\n").encode()
        stop = threading.Event()
        sent = [0] * 50
        sockets = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(50)]

        def dribble(n: int) -> None:
            for i in range(len(request) - 1):  # never the last byte: the request stays open
                if stop.wait(0.02):
                    return
                try:
                    sockets[n].sendall(request[i:i + 1])
                except OSError:
                    return
                sent[n] += 1

        threads = [threading.Thread(target=dribble, args=(n,), daemon=True) for n in range(50)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            under_load = _p99(served, 300)
            dribbling = min(sent)
        finally:
            stop.set()
            for thread in threads:
                thread.join(5)
            for sock in sockets:
                sock.close()
        assert dribbling >= 20, sent  # every slow client was still sending, a byte at a time
        assert under_load <= max(3 * baseline, 0.015), (baseline, under_load)
    finally:
        served.stop()


@pytest.mark.slow
def test_without_the_secret_it_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "IGNITE_JWT_SECRET"}
    environ.update(HOST="127.0.0.1", PORT=str(free_port()), WEB_CONCURRENCY="1")
    done = subprocess.run([sys.executable, str(SERVE)], env=environ, cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    output = done.stdout + done.stderr
    assert "IGNITE_JWT_SECRET" in output and "jwt.igniteadmin.secret_env" in output, output
    assert done.returncode == 1
    assert "Starting granian" not in output  # the main process stopped before any worker


@pytest.mark.slow
def test_a_bad_port_is_refused_with_what_to_set(tmp_path: Path) -> None:
    environ = {**os.environ, "PORT": "http", "IGNITE_JWT_SECRET": SECRET}
    done = subprocess.run([sys.executable, str(SERVE)], env=environ, cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode != 0 and "PORT" in done.stderr


# -- the app is loaded once, in the main process ---------------------------------------------------


def test_the_workers_serve_the_app_the_main_process_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    for name in ("freeze", "unfreeze"):  # not in the test process
        monkeypatch.setattr(granian.gc, name, lambda: None)
    monkeypatch.setattr(granian, "_loaded", None)
    monkeypatch.setenv("IGNITE_JWT_SECRET", SECRET)
    ini = production_ini(tmp_path)
    monkeypatch.setenv(granian.INI_ENV, str(ini))
    assert isinstance(app_from_environ(), AccessLog)  # a worker that was not forked loads the ini
    assert granian._try_preload(ini, "could not be loaded")
    loaded = granian._loaded
    assert app_from_environ() is loaded and isinstance(loaded, AccessLog)
    monkeypatch.setenv("ACCESS_LOG", "0")
    assert not isinstance(granian.load_app(ini), AccessLog)

    broken = production_ini(tmp_path, algorithm="none")
    assert not granian._try_preload(broken, "could not be loaded again")
    assert app_from_environ() is loaded  # the app loaded before stays
    assert "could not be loaded again" in caplog.text and "algorithm" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.slow
def test_hup_loads_the_ini_file_again_and_keeps_the_app_when_it_no_longer_loads(tmp_path: Path) -> None:
    ini = production_ini(tmp_path)
    server = Served(tmp_path, ini=ini)
    try:
        assert lifetime_of(token_of(server)) == 86400
        production_ini(tmp_path, expires_in="600")
        server.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: server.output().count("Stopped old worker-1") == 1)
        assert lifetime_of(token_of(server)) == 600
        assert "loaded again: the workers respawned now serve it" in server.output()

        production_ini(tmp_path, algorithm="none")
        server.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: server.output().count("Stopped old worker-1") == 2)
        assert "could not be loaded again: the workers keep serving the app loaded before" in server.output()
        assert lifetime_of(token_of(server)) == 600
    finally:
        assert server.stop() == 0
    assert SECRET not in server.output()


# -- request size and slow clients -----------------------------------------------------------------


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server may answer and close before it has read it all
            pass
        return sock.recv(200)


@pytest.mark.slow
def test_headers_far_over_the_buffer_get_431(served: Served) -> None:
    request = "GET /jwt/generate HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n"
    assert _raw(served.port, request.format("b" * 64_000).encode()).startswith(b"HTTP/1.1 200 ")
    assert _raw(served.port, request.format("b" * 1_000_000).encode()).startswith(b"HTTP/1.1 431 ")


@pytest.mark.slow
def test_a_client_that_never_finishes_its_headers_is_cut_off(tmp_path: Path) -> None:
    server = Served(tmp_path, ini=production_ini(tmp_path), options={"header_read_timeout": 1000})
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(b"GET /jwt/generate HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            answer = sock.recv(200)
            waited = time.monotonic() - started
        assert 0.5 < waited < 10, waited
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_a_body_sent_slowly_holds_the_thread_that_reads_it(tmp_path: Path, threads: int) -> None:
    """granian streams a request's body to the app: one worker with one thread waits for a
    slow body; with two threads, the other request is served meanwhile."""
    ini = production_ini(tmp_path, token_route_method="POST")
    server = Served(tmp_path, ini=ini, options={"blocking_threads": threads})
    try:
        body = b"grant_type=client_credentials&scope=" + b"a" * 14
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        sock.sendall(b"POST /jwt/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))

        def dribble() -> None:
            for i in range(len(body)):
                time.sleep(0.1)
                sock.sendall(body[i:i + 1])

        sender = threading.Thread(target=dribble)
        sender.start()
        time.sleep(0.3)
        started = time.monotonic()
        assert server.get("/jwt/verify")[0] == 401
        waited = time.monotonic() - started
        sender.join(20)
        answer = sock.recv(200)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        if threads == 1:
            assert waited > 2, waited  # until the body was in
        else:
            assert waited < 2, waited
    finally:
        server.stop()
