"""No request can cause a 5xx: any method, headers, content type, charset, framing, parameter
shape, query or body size gets a 4xx with the endpoint's JSON error, no traceback in the log,
and the app serves the next valid request.

Three ways in: a property test (hypothesis builds raw WSGI requests) against an app with every
endpoint and feature on; a fixed set of malformed requests sent as raw bytes to that app and to
the example app served by waitress; and one test per documented answer.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyramid.paster import get_app
from webtest import TestApp

from . import full_app
from .conftest import NOW, Clock

EXAMPLE_INI = str(Path(__file__).resolve().parent.parent / "example_app" / "testing.ini")


class Traceback(logging.Handler):
    """Collects every log record that carries or mentions a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "Traceback" in text or record.levelno >= logging.CRITICAL:
            self.bad.append(f"{record.name}: {text}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return full_app.make_app(tmp_path_factory.mktemp("full"), **{"jwt.clock": Clock(NOW)})


@pytest.fixture(scope="module")
def log_watch() -> Iterator[Traceback]:
    handler = Traceback()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Call the WSGI app with a raw environ, as a server would."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return int(captured["status"].split()[0]), dict(captured["headers"]), body


def environ_for(method: str, path: str, *, query: str = "", body: bytes = b"",
                headers: dict[str, str] | None = None, content_length: str | None = "auto") -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "6543", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if content_length == "auto":
        env["CONTENT_LENGTH"] = str(len(body))
    elif content_length is not None:
        env["CONTENT_LENGTH"] = content_length
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    return env


def assert_answered(status: int, headers: dict[str, str], body: bytes, method: str) -> None:
    assert status < 500, (status, body[:300])
    if status >= 400 and status != 404 and method != "HEAD":
        document = json.loads(body)
        assert isinstance(document, dict) and isinstance(document.get("error"), str), body
        assert headers.get("Cache-Control") == "no-store"
    if status == 405:
        assert headers.get("Allow")


def valid_request_works(app: Any) -> None:
    status, _, body = call(app, environ_for("GET", "/jwt/generate"))
    assert status == 200 and json.loads(body)["access_token"]
    form = urllib.parse.urlencode({"username": "alice", "password": full_app.USERS["alice"]}).encode()
    status, _, body = call(app, environ_for("POST", "/token", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded"}))
    assert status == 200, body


# -- the property ------------------------------------------------------------------------

latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
boundaries = st.sampled_from(["zz", "", '"q"', "a b", "x" * 80])
content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data", "application/json",
                     "text/plain", "application/jwt", "*/*", "", "application/x-www-form-urlencoded;"]),
    latin1,
).flatmap(lambda kind: st.just(kind) if kind is None else st.one_of(
    st.just(kind),
    st.sampled_from(["utf-8", "UTF-16", "latin-1", "nope", '"utf-8"', ""]).map(lambda c: f"{kind}; charset={c}"),
    boundaries.map(lambda b: f"{kind}; boundary={b}"),
))
form_bodies = st.dictionaries(st.sampled_from(["username", "password", "grant_type", "refresh_token", "token",
                                               "access_token", "", "a[]"]) | latin1,
                              latin1, max_size=4).map(
    lambda d: urllib.parse.urlencode(d, encoding="latin-1", errors="replace").encode())
multipart_bodies = st.lists(st.tuples(st.sampled_from(["username", "password", "token", "refresh_token",
                                                       "grant_type", "", "ü"]),
                                      st.binary(max_size=30), st.booleans()), max_size=3).map(
    lambda parts: b"".join(
        b'--zz\r\nContent-Disposition: form-data; name="' + name.encode("latin-1") + b'"'
        + (b'; filename="f.txt"' if is_file else b"") + b"\r\n\r\n" + value + b"\r\n"
        for name, value, is_file in parts) + b"--zz--\r\n")
odd_bodies = st.one_of(st.binary(max_size=200), st.sampled_from(
    [b'{"username": "alice"}', b"[]", b"\xff\xfe", b"a=%ff%fe", b"x" * 70000]))
#: a content type and a body: well-formed shapes with odd contents, and anything at all
shaped = st.one_of(
    st.tuples(st.sampled_from(["application/x-www-form-urlencoded",
                               "application/x-www-form-urlencoded; charset=UTF-8",
                               "application/x-www-form-urlencoded; charset=latin-1"]), form_bodies),
    st.tuples(st.sampled_from(["multipart/form-data; boundary=zz", 'multipart/form-data; boundary="zz"',
                               "multipart/form-data; boundary=zz; charset=utf-16"]), multipart_bodies),
    st.tuples(st.sampled_from(["application/json", "text/plain"]), form_bodies | odd_bodies),
    st.tuples(content_types, form_bodies | multipart_bodies | odd_bodies),
)
lengths = st.sampled_from(["auto", "auto", "auto", None, "", "abc", "-1", "99999999", "0", "1e3", " 12"])


ROUTES = [("POST", "/token"), ("POST", "/refresh"), ("POST", "/revoke"), ("GET", "/jwt/generate"),
          ("POST", "/partners/token"), ("GET", "/verify"), ("GET", "/protected"), ("POST", "/things"),
          ("POST", "/logout"), ("GET", "/.well-known/jwks.json")]
#: mostly the method each route answers (so the body reaches the view), sometimes any other
targets = st.one_of(st.sampled_from(ROUTES), st.sampled_from(ROUTES), st.tuples(
    st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "get", "P0ST"]),
    st.sampled_from(full_app.ENDPOINTS)))


@settings(max_examples=max(800, settings().max_examples))
@given(target=targets, query=latin1 | st.sampled_from(
           ["access_token=", "access_token=a.b.c", "access_token=%ff", "access_token=1&access_token=2",
            "a=%E9", "=&&=", "%", "access_token"]),
       shape=shaped, length=lengths,
       authorization=st.one_of(st.none(), latin1, latin1.map(lambda t: f"Bearer {t}")),
       cookie=st.one_of(st.none(), latin1), chunked=st.booleans())
def test_no_raw_request_causes_a_5xx(app: Any, log_watch: Traceback, target: tuple[str, str], query: str,
                                     shape: tuple[str | None, bytes], length: str | None,
                                     authorization: str | None, cookie: str | None, chunked: bool) -> None:
    (method, path), (content_type, body) = target, shape
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    if cookie is not None:
        headers["Cookie"] = cookie
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    env = environ_for(method, path, query=query, body=body, headers=headers, content_length=length)
    assert_answered(*call(app, env), method=method)
    assert log_watch.bad == []
    valid_request_works(app)


# -- the same, as raw bytes over a socket, to waitress ---------------------------------------

def post(path: str, content_type: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


HELD_OUT = [
    b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
    b"Content-Length: 40\r\n\r\n--b\r\nContent-Disposition: form-data\r\n\r\nx",
    b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-16\r\n"
    b"Content-Length: 3\r\n\r\na=b",
    b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded; charset=bogus\r\n"
    b"Content-Length: 3\r\n\r\na=b",
    b"POST /refresh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /revoke HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\ntoken\r\n0\r\n\r\n",
    b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 200000\r\n\r\n" + b"a" * 200000,
    b"GET /jwt/generate?a=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /protected?access_token=%ff HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /protected?access_token=a&access_token=b HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /protected HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe.\xc3\xa9.x\r\n\r\n",
    b"GET /protected HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
    b"DELETE /jwt/generate HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /token HTTP/1.1\r\nHost: x\r\n\r\n",
    post("/token", "multipart/form-data; boundary=q",
         b'--q\r\nContent-Disposition: form-data; name="username"; filename="a"\r\n\r\nalice\r\n--q--\r\n'),
    post("/token", "application/x-www-form-urlencoded", b"username=alice&password=%C3%A9%C3%A9%ff"),
    post("/token", "multipart/form-data; boundary=q", b"--q\r\nContent-Disposition: form-data\r\n\r\n\xff\r\n--q--"),
    post("/refresh", "application/x-www-form-urlencoded; charset=", b"grant_type=refresh_token&refresh_token=a.b.c"),
    post("/revoke", "text/plain", b"token=x"),
    post("/token", "application/x-www-form-urlencoded", b"username=%C3%A5dmin&password=p%C3%A4ssw%C3%B6rd+%E2%9C%93"),
    b"GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 9000 + b"\r\n\r\n",
    post("/things", "multipart/form-data; boundary=", b"abc"),
    b"GET /jwt/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n",
    # found by the deep profile: WebOb refuses an empty multipart body, even with no boundary
    post("/token", "multipart/form-data", b""),
    post("/refresh", "multipart/form-data; boundary=zz", b""),
    post("/revoke", "multipart/form-data", b""),
    b"GET /jwt/offices?access_token=x HTTP/1.1\r\nHost: x\r\nCookie: =;;\xff=\r\n\r\n",
]


class Served:
    """A WSGI app on waitress, on a free loopback port, in a thread of this process."""

    def __init__(self, wsgi_app: Any) -> None:
        from waitress.server import create_server

        self.server = create_server(wsgi_app, host="127.0.0.1", port=0, threads=2,
                                    clear_untrusted_proxy_headers=True)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def send(self, raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(raw if b"Connection:" in raw else raw.replace(b"\r\n", b"\r\nConnection: close\r\n", 1))
            chunks = []
            while True:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        self.server.close()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["full", "example"])
def test_held_out_malformed_requests_over_waitress(which: str, tmp_path: Path, log_watch: Traceback) -> None:
    wsgi_app = full_app.make_app(tmp_path) if which == "full" else get_app(EXAMPLE_INI)
    served = Served(wsgi_app)
    try:
        for raw in HELD_OUT:
            answer = served.send(raw)
            status_line = answer.split(b"\r\n", 1)[0]
            assert status_line.startswith(b"HTTP/1.1 "), (raw[:80], answer[:200])
            status = int(status_line.split()[1])
            assert status < 500, (raw[:120], answer[:400])
        assert b"200 OK" in served.send(b"GET /jwt/generate HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        served.close()
    assert log_watch.bad == []


# -- the documented answers, one by one --------------------------------------------------------


@pytest.fixture
def web(app: Any) -> TestApp:
    return TestApp(app)


def test_body_over_the_limit_is_413_before_parsing(web: TestApp) -> None:
    res = web.post("/token", "a" * 20000, content_type="application/x-www-form-urlencoded", status=413)
    assert res.json["error"] == "invalid_request" and res.headers["Cache-Control"] == "no-store"


def test_json_body_says_which_content_type_to_use(web: TestApp) -> None:
    for path in ("/token", "/refresh", "/revoke"):
        res = web.post_json(path, {"username": "alice"}, status=400)
        assert res.json["error"] == "invalid_request"
        assert "application/x-www-form-urlencoded" in res.json["error_description"]


@pytest.mark.parametrize("path", ["/token", "/refresh", "/revoke"])
def test_files_in_a_form_are_refused(web: TestApp, path: str) -> None:
    res = web.post(path, upload_files=[("token", "t.txt", b"abc")], status=400)
    assert "no files" in res.json["error_description"]


@pytest.mark.parametrize(("path", "allow"), [("/token", "POST"), ("/jwt/generate", "GET, HEAD"),
                                              ("/refresh", "POST"), ("/.well-known/jwks.json", "GET, HEAD"),
                                              ("/verify", "GET, HEAD")])
def test_method_not_allowed_is_json_with_allow(web: TestApp, path: str, allow: str) -> None:
    res = web.request(path, method="PUT", status=405)
    assert res.headers["Allow"] == allow
    assert res.json["error"] == "invalid_request" and allow in res.json["error_description"]


def test_the_readme_login_with_a_non_ascii_password_is_401(web: TestApp) -> None:
    web.post("/token", {"username": "alice", "password": "pässwörd ✓"}, status=401)
    res = web.post("/token", {"username": "ådmin", "password": "pässwörd ✓"})
    assert res.json["access_token"]


@pytest.mark.parametrize("query", ["access_token=%ff%fe", "access_token", "x=1&access_token=",
                                   "access_token=a&access_token=b", "my_access_token=x"])
def test_odd_query_strings_are_4xx_or_ignored(web: TestApp, query: str) -> None:
    res = web.get(f"/protected?{query}", expect_errors=True)
    assert res.status_int in (400, 401)
    assert res.json["error"] in ("invalid_request", "unauthorized", "invalid_token")


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", b"username=al%E9&password=x"),  # an escape of a bad byte
    ("application/x-www-form-urlencoded", b"username=al\xe9&password=x"),  # a bad byte as it is
    ("application/x-www-form-urlencoded; charset=utf-8", b"username=%C3&password=x"),  # cut short
    ("multipart/form-data; boundary=zz",
     b'--zz\r\nContent-Disposition: form-data; name="username"\r\n\r\nal\xe9\r\n--zz--\r\n'),
])
@pytest.mark.parametrize("path", ["/token", "/refresh", "/revoke"])
def test_a_form_that_is_not_utf8_is_400_before_the_view(app: Any, path: str, content_type: str,
                                                          body: bytes) -> None:
    """WebOb would give the view U+FFFD for each bad byte; the form is refused instead."""
    status, headers, answer = call(app, environ_for("POST", path, body=body,
                                                    headers={"Content-Type": content_type}))
    assert status == 400
    assert json.loads(answer) == {"error": "invalid_request", "error_description": "Send the form in UTF-8."}
    assert headers["Cache-Control"] == "no-store"


def test_a_utf8_form_with_a_replacement_character_is_read(web: TestApp) -> None:
    """U+FFFD sent on purpose is text like any other."""
    res = web.post("/token", {"username": "alice\ufffd", "password": "pässwörd ✓"}, status=401)
    assert res.json["error"] != "invalid_request"
