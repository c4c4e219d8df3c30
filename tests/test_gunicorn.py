"""The documented production command, run for real:

    gunicorn --paste example_app/production.ini -c example_app/gunicorn.conf.py

It serves the recipe on ``HOST``:``PORT``, starts one worker per CPU unless
``WEB_CONCURRENCY`` says otherwise, keeps tokens out of its access log, restarts its
workers gracefully on ``HUP``, moves to a new master on ``USR2`` then ``TERM``, stops on
``TERM``, and refuses to start without a secret.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from pyramid_jwtnode.tools.gunicorn import RedactingLogger, bind_address, redact, worker_count

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "example_app" / "gunicorn.conf.py"
INI = ROOT / "example_app" / "production.ini"
GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET = "a-production-secret-of-at-least-thirty-two-bytes!"


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_CONTROL_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


# -- the file: what it sets ------------------------------------------------------------------


def test_the_file_wires_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings(monkeypatch)
    assert conf["bind"] == "0.0.0.0:6543"
    assert conf["workers"] == worker_count({})
    assert conf["worker_class"] == "sync" and conf["preload_app"] is True
    assert conf["graceful_timeout"] > 0
    assert conf["logger_class"] is RedactingLogger
    assert conf["control_socket_disable"] is True and "control_socket" not in conf
    assert "%(r)s" in conf["access_log_format"] and "%(q)s" not in conf["access_log_format"]
    assert "{" not in conf["access_log_format"]  # no header or environ atom


def test_host_port_web_concurrency_and_control_socket_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = settings(monkeypatch, HOST="127.0.0.1", PORT="8080", WEB_CONCURRENCY="5",
                    GUNICORN_CONTROL_SOCKET=str(tmp_path / "ctl.sock"))
    assert conf["bind"] == "127.0.0.1:8080"
    assert conf["workers"] == 5
    assert conf["control_socket"] == str(tmp_path / "ctl.sock") and "control_socket_disable" not in conf


# -- pyramid_jwtnode.tools.gunicorn -----------------------------------------------------------------


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "0.0.0.0:6543"),
    ({"PORT": "8080"}, "0.0.0.0:8080"),
    ({"HOST": "127.0.0.1", "PORT": "0"}, "127.0.0.1:0"),
    ({"HOST": "::"}, "[::]:6543"),
    ({"HOST": "::1", "PORT": "80"}, "[::1]:80"),
    ({"HOST": "[::1]", "PORT": "80"}, "[::1]:80"),
])
def test_bind_address(environ: dict[str, str], expected: str) -> None:
    assert bind_address(environ) == expected


@pytest.mark.parametrize("port", ["http", "-1", "65536", "80 "])
def test_a_bad_port_says_what_to_set(port: str) -> None:
    with pytest.raises(ValueError, match=r"PORT=.* is not a port number: set PORT to one from"):
        bind_address({"PORT": port})


def cgroup(tmp_path: Path, files: dict[str, str], own: str = "0::/\n") -> dict[str, Path]:
    """A fake cgroup mount under ``tmp_path`` and a fake /proc/self/cgroup naming ``own``."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(own)
    return {"cgroup": root, "proc_cgroup": tmp_path / "self-cgroup"}


def test_one_worker_per_cpu_without_a_quota(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    assert worker_count({}, **cgroup(tmp_path, {})) == cpus
    assert worker_count({}, **cgroup(tmp_path, {"cpu.max": "max 100000\n"})) == cpus
    assert worker_count({}, **cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "-1\n",
                                                "cpu/cpu.cfs_period_us": "100000\n"})) == cpus


@pytest.mark.parametrize(("files", "own", "quota"), [
    ({"cpu.max": "50000 100000\n"}, "0::/\n", 1),  # docker --cpus=0.5 (v2): at least one
    ({"cpu.max": "100000 100000\n"}, "0::/\n", 1),
    ({"cpu.max": "150000 100000\n"}, "0::/\n", 2),  # 1.5 CPUs: rounded up
    ({"kubepods/pod1/cpu.max": "100000 100000\n", "kubepods/cpu.max": "max 100000\n"},
     "0::/kubepods/pod1\n", 1),  # the process's own cgroup
    ({"kubepods/pod1/cpu.max": "max 100000\n", "kubepods/cpu.max": "100000 100000\n"},
     "0::/kubepods/pod1\n", 1),  # a limit on an ancestor counts too
    ({"cpu/docker/c1/cpu.cfs_quota_us": "100000\n", "cpu/docker/c1/cpu.cfs_period_us": "100000\n"},
     "4:cpu,cpuacct:/docker/c1\n0::/\n", 1),  # cgroup v1
])
def test_a_cgroup_cpu_quota_caps_the_workers(tmp_path: Path, files: dict[str, str], own: str,
                                             quota: int) -> None:
    assert worker_count({}, **cgroup(tmp_path, files, own)) == min(quota, len(os.sched_getaffinity(0)))


def test_web_concurrency_wins_and_a_bad_one_says_what_to_set(tmp_path: Path) -> None:
    assert worker_count({"WEB_CONCURRENCY": "7"}, **cgroup(tmp_path, {"cpu.max": "100000 100000"})) == 7
    for bad in ("two", "0", "-3", "2.5"):
        with pytest.raises(ValueError, match=r"WEB_CONCURRENCY=.* is not a number of workers: set it"):
            worker_count({"WEB_CONCURRENCY": bad})


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNlY3JldA"


@pytest.mark.parametrize(("line", "expected"), [
    ("GET /jwt/verify?access_token=abc.def HTTP/1.1", "GET /jwt/verify?access_token=[redacted] HTTP/1.1"),
    ("GET /x?a=1&ACCESS_TOKEN=s3cret&b=2 HTTP/1.1", "GET /x?a=1&ACCESS_TOKEN=[redacted]&b=2 HTTP/1.1"),
    ("refresh_token=r&token=t;id_token=i&code=c",
     "refresh_token=[redacted]&token=[redacted];id_token=[redacted]&code=[redacted]"),
    ("GET /x?mytoken=kept&tokens=kept&barcode=kept HTTP/1.1", "GET /x?mytoken=kept&tokens=kept&barcode=kept HTTP/1.1"),
    ('q="access_token=abc" token=xyz', 'q="access_token=[redacted]" token=[redacted]'),  # %(q)s, after a quote or space
    ("GET /jwt/generate HTTP/1.1", "GET /jwt/generate HTTP/1.1"),
    (f"GET /a/{JWT}/b HTTP/1.1", "GET /a/[redacted]/b HTTP/1.1"),  # a token in the path
    (f"Invalid HTTP Header: 'Authorization Bearer {JWT}'", "Invalid HTTP Header: 'Authorization [redacted]'"),
    ("Invalid HTTP Header: 'Cookie api_access=opaque-value; other=1'", "Invalid HTTP Header: 'Cookie [redacted]'"),
    ("set-cookie: api_refresh=opaque", "set-cookie: [redacted]"),
    ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: [redacted]"),
    ("sent bearer opaque-token-value here", "sent bearer [redacted] here"),
    (f'"GET /x?auth=Bearer%20{JWT} HTTP/1.1"', '"GET /x?auth=Bearer%20[redacted] HTTP/1.1"'),  # after an escape
    (f"GET /x?h=Authorization%3A%20{JWT} HTTP/1.1", "GET /x?h=Authorization%3A%20[redacted] HTTP/1.1"),
    ("GET /cookie-policy HTTP/1.1", "GET /cookie-policy HTTP/1.1"),  # paths are not headers
    ("GET /account/authorization/list?page=2 HTTP/1.1", "GET /account/authorization/list?page=2 HTTP/1.1"),
])
def test_redact_takes_token_values_out(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_sits_on_the_handlers_and_leaves_no_traceback_to_render(tmp_path: Path) -> None:
    """Records another logger sends to gunicorn's handlers are redacted too, and a formatter
    that renders exc_info itself (a JSON one, say) finds only the redacted text."""
    import logging

    from gunicorn.config import Config

    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(config)
    handler = logger.error_log.handlers[0]
    other = logging.getLogger("tests.gunicorn.other")
    other.addHandler(handler)
    try:
        other.warning("token %s", JWT)
        try:
            raise ValueError(f"failed near access_token={JWT}")
        except ValueError:
            record = other.makeRecord(other.name, logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
        handler.handle(record)
        assert record.exc_info is None and "[redacted]" in (record.exc_text or "")
        handler.flush()
    finally:
        other.removeHandler(handler)
        for log in (logger.error_log, logger.access_log):
            for h in list(log.handlers):
                log.removeHandler(h)
                h.close()
    text = (tmp_path / "error.log").read_text()
    assert "token [redacted]" in text and "access_token=[redacted]" in text and JWT not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Gunicorn:
    """The documented command in a subprocess, its output in a file."""

    def __init__(self, tmp_path: Path, app: tuple[str, ...] = ("--paste", "example_app/production.ini"),
                 **env: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        environ = {key: value for key, value in os.environ.items()
                   if key not in ("IGNITE_JWT_SECRET", "WEB_CONCURRENCY", "GUNICORN_CONTROL_SOCKET")}
        environ.update(HOST="127.0.0.1", PORT=str(self.port), **env)
        with self.log.open("wb") as out:  # a session of its own: the teardown ends all of it
            self.process = subprocess.Popen(
                [str(GUNICORN), *app, "-c", "example_app/gunicorn.conf.py"],
                cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, workers: int, probe: int = 404) -> None:
        """Until ``workers`` workers have booted and one of them answers (``probe``: the status
        of an unknown path)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            if self.output().count("Booting worker") >= workers and len(self.workers()) == workers:
                try:
                    if get(self.port, "/jwt/nothing-here")[0] == probe:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not get ready on {self.port}:\n{self.output()}")

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + 10
        while text not in (output := self.output()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return output

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def stop(self) -> int:
        """TERM to the master, as an operator stops it; then whatever is left of its process
        group (workers, a master started by USR2) is killed, so no test leaves a server."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=40)
            return self.process.returncode
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.process.poll() is None:
                self.process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path, IGNITE_JWT_SECRET=SECRET, WEB_CONCURRENCY="2")
    try:
        server.wait_ready(workers=2)
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_the_documented_command_serves_the_recipe_on_port(served: Gunicorn) -> None:
    status, body = get(served.port, "/jwt/generate")
    assert status == 200
    answer = json.loads(body)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 86400
    claims = jwt.decode(answer["access_token"], SECRET, algorithms=["HS256"])
    assert set(claims) == {"data", "iat", "exp"} and claims["exp"] - claims["iat"] == 86400
    status, body = get(served.port, "/jwt/verify", Authorization=f"Bearer {answer['access_token']}")
    assert status == 200, body
    assert len(served.workers()) == 2


@pytest.mark.slow
def test_the_access_log_never_holds_a_token(served: Gunicorn) -> None:
    secret_looking = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
    get(served.port, f"/jwt/verify?access_token={secret_looking}&keep=1")
    get(served.port, "/jwt/generate?last=1", Authorization=f"Bearer {secret_looking}")
    log = served.wait_for("/jwt/generate?last=1")
    assert "/jwt/verify?access_token=[redacted]&keep=1" in log
    assert '"GET /jwt/generate?last=1 HTTP/1.1" 200' in log
    assert secret_looking not in log and "c2VjcmV0" not in log


@pytest.mark.slow
def test_the_access_log_never_holds_a_percent_encoded_token_or_a_password(served: Gunicorn) -> None:
    """Redacted after percent-decoding (the name's "_" or the token's dots or first letter
    escaped), and credentials masked by name (a GET token route's query string)."""
    dots, first = JWT.replace(".", "%2E"), "%65" + JWT[1:]
    get(served.port, f"/jwt/verify?access%5Ftoken={dots}&keep=1")
    get(served.port, f"/jwt/verify?access%5Ftoken={first}&keep=2")
    get(served.port, "/jwt/generate?username=ada&password=hunter2&client_secret=s3cr3t-value&keep=3")
    get(served.port, "/jwt/generate?last=1")
    log = served.wait_for("/jwt/generate?last=1")
    assert "/jwt/verify?access_token=[redacted]&keep=1 HTTP/1.1" in log, log
    assert "/jwt/verify?access_token=[redacted]&keep=2 HTTP/1.1" in log, log
    assert "/jwt/generate?username=ada&password=[redacted]&client_secret=[redacted]&keep=3" in log, log
    for secret in ("eyJhbGci", "c2lnbmF0dXJl", "%65yJ", "hunter2", "s3cr3t-value"):
        assert secret not in log, log


def raw(port: int, request: bytes) -> bytes:
    """``request`` as it is, on a connection of its own; the server's answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.slow
def test_refused_requests_leave_no_token_in_the_error_log(served: Gunicorn) -> None:
    """gunicorn quotes a malformed request line or header line whole when it refuses it."""
    answers = [
        raw(served.port, f"GET /jwt/verify HTTP/1.1\r\nHost: x\r\nAuthorization Bearer {JWT}\r\n\r\n".encode()),
        raw(served.port, b"GET /jwt/verify HTTP/1.1\r\nHost: x\r\nCookie igniteadmin_access=opaque-cookie-value\r\n\r\n"),
        raw(served.port, f"GET /jwt/verify?access_token={JWT}&x=1 HTTP/1.1 extra\r\nHost: x\r\n\r\n".encode()),
        raw(served.port, f"GET /jwt/verify?refresh_token=opaque-refresh HTTP/9.9\r\nHost: x\r\n\r\n".encode()),
    ]
    assert all(answer.startswith(b"HTTP/1.1 400") for answer in answers), answers
    get(served.port, "/jwt/generate?last=1")
    log = served.wait_for("/jwt/generate?last=1")
    assert log.count("Invalid request from ip=127.0.0.1") == 4, log
    assert "[redacted]" in log
    for secret in (JWT, "c2lnbmF0dXJl", "opaque-cookie-value", "opaque-refresh"):
        assert secret not in log, log


RAISING_APP = """
def app(environ, start_response):
    raise RuntimeError("failed on " + environ.get("QUERY_STRING", ""))
"""


@pytest.mark.slow
def test_an_app_that_raises_leaves_no_token_in_the_error_log(tmp_path: Path) -> None:
    """gunicorn logs the request line and the traceback when the app raises."""
    (tmp_path / "raising.py").write_text(RAISING_APP)
    server = Gunicorn(tmp_path, ("--pythonpath", str(tmp_path), "raising:app"), WEB_CONCURRENCY="1")
    try:
        server.wait_ready(workers=1, probe=500)
        assert get(server.port, f"/x?access_token={JWT}&refresh_token=opaque-refresh")[0] == 500
        log = server.wait_for("RuntimeError: failed on access_token")
    finally:
        server.stop()
    assert "Error handling request GET /x?access_token=[redacted]&refresh_token=[redacted]" in log, log
    assert "RuntimeError: failed on access_token=[redacted]&refresh_token=[redacted]" in log, log
    assert JWT not in log and "c2lnbmF0dXJl" not in log and "opaque-refresh" not in log


@pytest.mark.slow
def test_hup_replaces_the_workers_without_dropping_requests(served: Gunicorn) -> None:
    before = served.workers()
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(get(served.port, "/jwt/generate")[0])
        after = served.workers()
        if len(after) == 2 and not after & before:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"workers were not replaced: {before} -> {served.workers()}")
    assert set(statuses) == {200}
    assert get(served.port, "/jwt/generate")[0] == 200
    assert served.stop() == 0


def children(pid: int) -> set[int]:
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_usr2_then_term_moves_to_a_new_master_without_dropping_requests(served: Gunicorn) -> None:
    """The documented way to deploy new code: USR2 starts a new master (loading the app anew)
    beside the old one, TERM stops the old one; the port answers throughout."""
    old_workers = served.workers()
    served.process.send_signal(signal.SIGUSR2)
    statuses, new_master = [], None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            statuses.append(get(served.port, "/jwt/generate")[0])
            new = served.workers() - old_workers
            if len(new) == 1 and len(children(next(iter(new)))) == 2:
                new_master = next(iter(new))
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"no new master with 2 workers:\n{served.output()}")
        served.process.send_signal(signal.SIGTERM)
        while served.process.poll() is None and time.monotonic() < deadline:
            statuses.append(get(served.port, "/jwt/generate")[0])
            time.sleep(0.02)
        assert served.process.wait(timeout=10) == 0
        for _ in range(20):
            statuses.append(get(served.port, "/jwt/generate")[0])
        assert set(statuses) == {200}
        assert len(children(new_master)) == 2
    finally:
        if new_master is not None:
            os.kill(new_master, signal.SIGTERM)
            deadline = time.monotonic() + 40
            while alive(new_master) and time.monotonic() < deadline:
                time.sleep(0.05)


@pytest.mark.slow
def test_without_the_secret_it_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    server = Gunicorn(tmp_path)
    try:
        code = server.process.wait(timeout=30)
    finally:
        server.stop()
    output = server.output()
    assert code != 0
    assert "jwt.igniteadmin.secret_env" in output and "IGNITE_JWT_SECRET" in output
