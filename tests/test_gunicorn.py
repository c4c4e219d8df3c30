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


def test_defaults_one_worker_per_cpu_on_port_6543(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings(monkeypatch)
    assert conf["bind"] == "0.0.0.0:6543"
    assert conf["workers"] == len(os.sched_getaffinity(0))
    assert conf["preload_app"] is True
    assert conf["graceful_timeout"] > 0


def test_host_port_and_web_concurrency_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings(monkeypatch, HOST="127.0.0.1", PORT="8080", WEB_CONCURRENCY="5")
    assert conf["bind"] == "127.0.0.1:8080"
    assert conf["workers"] == 5


@pytest.mark.parametrize(("line", "expected"), [
    ("GET /jwt/verify?access_token=eyJ.abc.def HTTP/1.1", "GET /jwt/verify?access_token=[redacted] HTTP/1.1"),
    ("GET /x?a=1&ACCESS_TOKEN=s3cret&b=2 HTTP/1.1", "GET /x?a=1&ACCESS_TOKEN=[redacted]&b=2 HTTP/1.1"),
    ("refresh_token=r&token=t;id_token=i&code=c", "refresh_token=[redacted]&token=[redacted];id_token=[redacted]&code=[redacted]"),
    ("GET /x?mytoken=kept&tokens=kept HTTP/1.1", "GET /x?mytoken=kept&tokens=kept HTTP/1.1"),
    ("GET /jwt/generate HTTP/1.1", "GET /jwt/generate HTTP/1.1"),
])
def test_redact_takes_token_values_out(monkeypatch: pytest.MonkeyPatch, line: str, expected: str) -> None:
    assert settings(monkeypatch)["redact"](line) == expected


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

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        environ = {key: value for key, value in os.environ.items()
                   if key not in ("IGNITE_JWT_SECRET", "WEB_CONCURRENCY", "GUNICORN_CONTROL_SOCKET")}
        environ.update(HOST="127.0.0.1", PORT=str(self.port), **env)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(GUNICORN), "--paste", "example_app/production.ini", "-c", "example_app/gunicorn.conf.py"],
                cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, workers: int) -> None:
        """Until ``workers`` workers have booted and one of them answers."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            if self.output().count("Booting worker") >= workers and len(self.workers()) == workers:
                try:
                    if get(self.port, "/jwt/nothing-here")[0] == 404:
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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path, IGNITE_JWT_SECRET=SECRET, WEB_CONCURRENCY="2")
    try:
        server.wait_ready(workers=2)
        yield server
    finally:
        server.stop()


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


def test_the_access_log_never_holds_a_token(served: Gunicorn) -> None:
    secret_looking = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
    get(served.port, f"/jwt/verify?access_token={secret_looking}&keep=1")
    get(served.port, "/jwt/generate?last=1", Authorization=f"Bearer {secret_looking}")
    log = served.wait_for("/jwt/generate?last=1")
    assert "/jwt/verify?access_token=[redacted]&keep=1" in log
    assert '"GET /jwt/generate?last=1 HTTP/1.1" 200' in log
    assert secret_looking not in log and "c2VjcmV0" not in log


def test_the_error_log_never_holds_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gunicorn.config import Config

    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = settings(monkeypatch)["RedactingLogger"](config)
    try:
        raise ValueError("bad input near ?token=raised-secret")
    except ValueError:  # what a worker logs when the app raises
        logger.exception("Error handling request %s %s", "GET", "/x?refresh_token=uri-secret&a=1")
    logger.error("Invalid request from ip=%s: %s", "1.2.3.4", "GET /y;code=code-secret")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "/x?refresh_token=[redacted]&a=1" in text and "ValueError" in text
    assert "?token=[redacted]" in text and ";code=[redacted]" in text
    assert "secret" not in text.replace("[redacted]", "")


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


def test_without_the_secret_it_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    server = Gunicorn(tmp_path)
    try:
        code = server.process.wait(timeout=30)
    finally:
        server.stop()
    output = server.output()
    assert code != 0
    assert "jwt.igniteadmin.secret_env" in output and "IGNITE_JWT_SECRET" in output
